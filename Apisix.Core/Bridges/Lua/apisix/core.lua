-- apisix.core as Lua in tests and helpers sees it. Each piece forwards to the runtime's own
-- implementation (ngx.log, the cjson bridge); the pieces grow with the port.
local cjson = require("cjson.safe")
-- APISIX's own settings for core.json
cjson.encode_escape_forward_slash(false)
cjson.decode_array_with_array_mt(true)
local ngx = ngx
local find, select, type, pairs = string.find, select, type, pairs

local core = {
    version = require("apisix.core.version"),
    log = require("apisix.core.log"),
    string = require("apisix.core.string"),
    config_util = require("apisix.core.config_util"),
    env = require("apisix.core.env"),
    os = require("apisix.core.os"),
    id = require("apisix.core.id"),
    tablepool = require("tablepool"),
    request = require("apisix.core.request"),
    response = require("apisix.core.response"),
    ctx = require("apisix.core.ctx"),
}

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

core.table = require("apisix.core.table")

-- modules of their own, loaded on first use (they require pieces of core themselves)
setmetatable(core, { __index = function(t, k)
    if k == "resolver" or k == "utils" then
        local m = require("apisix.core." .. k)
        rawset(t, k, m)
        return m
    end
end })

return core
