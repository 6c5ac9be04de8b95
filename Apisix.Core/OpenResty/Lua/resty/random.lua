-- lua-resty-string's resty.random: random bytes (always from a strong source here).
local random = __bridge("crypto").random

local _M = { _VERSION = "0.16" }

function _M.bytes(len, strong)
    return (random(len))
end

return _M
