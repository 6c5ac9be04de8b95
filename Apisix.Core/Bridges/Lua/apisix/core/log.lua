-- apisix.core.log stays Lua: each level is a tail call into ngx.log, which takes the file:line
-- of its caller from the Lua stack (a C# function in between would hide it).
local ngx = ngx
local ngx_log = ngx.log
local select, setmetatable, tostring, unpack = select, setmetatable, tostring, table.unpack

local _M = { version = 0.4 }

local levels = { stderr = ngx.STDERR, emerg = ngx.EMERG, alert = ngx.ALERT, crit = ngx.CRIT, error = ngx.ERR,
                 warn = ngx.WARN, notice = ngx.NOTICE, info = ngx.INFO, debug = ngx.DEBUG }

local function level_fn(level, prefix)
    if prefix then
        return function(...) return ngx_log(level, prefix, ...) end
    end
    return function(...) return ngx_log(level, ...) end
end

for name, level in pairs(levels) do
    _M[name] = level_fn(level)
end

-- new(prefix): a logger whose lines start with prefix
function _M.new(prefix)
    local m = { version = _M.version }
    for name, level in pairs(levels) do
        m[name] = level_fn(level, prefix)
    end
    return m
end

-- delay_exec(func, ...): an object whose tostring runs func(...) once, only if the line is written
function _M.delay_exec(func, ...)
    local args = { n = select("#", ...), ... }
    local res
    return setmetatable({}, { __tostring = function()
        if res == nil then
            local r, err = func(unpack(args, 1, args.n))
            if err then
                ngx_log(ngx.WARN, "failed to exec: ", err)
            end
            res = tostring(r)
        end
        return res
    end })
end

return _M
