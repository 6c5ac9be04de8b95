-- apisix.core.string: the C# twin (Apisix.Core/Core/String.cs), Lua's string library behind it,
-- and the two ngx forwards.
local ngx = ngx
local _M = require("apisix.core.native")("apisix.core.string", { version = 0.1 })

function _M.compress_script(s)
    s = ngx.re.gsub(s, [[^\s+]], "", "mjo")
    s = ngx.re.gsub(s, [[,\s+]], ",", "mjo")
    return s
end

function _M.decode_args(args)
    return ngx.decode_args(args, 0)
end

function _M.encode_args(args)
    return ngx.encode_args(args)
end

return setmetatable(_M, { __index = string })
