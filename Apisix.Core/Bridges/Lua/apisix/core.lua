-- apisix.core as Lua in tests and helpers sees it. Each piece forwards to the runtime's own
-- implementation (ngx.log, the cjson bridge); the pieces grow with the port.
local cjson = require("cjson.safe")
-- APISIX's own settings for core.json
cjson.encode_escape_forward_slash(false)
cjson.decode_array_with_array_mt(true)
local ngx = ngx
local find, select, type, pairs = string.find, select, type, pairs

local core = { version = "3.14.0" }

-- core.log: one function per nginx level; tail calls keep the caller's file:line in the prefix.
local log = {}
local levels = { stderr = ngx.STDERR, emerg = ngx.EMERG, alert = ngx.ALERT, crit = ngx.CRIT, error = ngx.ERR,
                 warn = ngx.WARN, notice = ngx.NOTICE, info = ngx.INFO, debug = ngx.DEBUG }
for name, level in pairs(levels) do
    log[name] = function(...) return ngx.log(level, ...) end
end
core.log = log

-- core.json: cjson.safe with APISIX's settings (no "\/" escaping, arrays stay arrays).
local json = {}
json.encode = function(v, force)
    return cjson.encode(v)
end
json.decode = cjson.decode
json.null = cjson.null
json.array_mt = cjson.array_mt
json.empty_array = cjson.empty_array
json.delay_encode = function(data, force)
    return setmetatable({}, { __tostring = function() return (cjson.encode(data)) end })
end
core.json = json

-- core.string: plain (non-pattern) helpers.
core.string = {
    find = function(s, pattern, init) return find(s, pattern, init or 1, true) end,
    has_prefix = function(s, prefix) return s:sub(1, #prefix) == prefix end,
    has_suffix = function(s, suffix) return suffix == "" or s:sub(-#suffix) == suffix end,
}

-- core.table
core.table = {
    new = function() return {} end,
    nkeys = require("table.nkeys"),
    clear = require("table.clear"),
    insert = table.insert,
    concat = table.concat,
    insert_tail = function(t, ...)
        local n = #t
        for i = 1, select("#", ...) do t[n + i] = (select(i, ...)) end
        return n + select("#", ...)
    end,
    try_read_attr = function(t, ...)
        for i = 1, select("#", ...) do
            if type(t) ~= "table" then return nil end
            t = t[(select(i, ...))]
        end
        return t
    end,
}

-- modules of their own, loaded on first use (they require pieces of core themselves)
setmetatable(core, { __index = function(t, k)
    if k == "resolver" or k == "utils" or k == "etcd" then
        local m = require("apisix.core." .. k)
        rawset(t, k, m)
        return m
    end
    if k == "config" then
        -- core.config is the module of the configured provider (config_etcd or config_yaml)
        local conf = require("apisix.core.config_local").local_conf()
        local provider = conf and conf.deployment and conf.deployment.config_provider or "etcd"
        local m = require("apisix.core.config_" .. provider)
        rawset(t, k, m)
        return m
    end
end })

return core
