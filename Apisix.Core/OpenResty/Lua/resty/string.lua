-- lua-resty-string's resty.string: hex and integer helpers.
local byte, format, gsub, tonumber = string.byte, string.format, string.gsub, tonumber

local _M = { _VERSION = "0.16" }

function _M.to_hex(s)
    if s == nil then return nil end
    return (gsub(s, ".", function(c) return format("%02x", byte(c)) end))
end

function _M.atoi(s)
    return tonumber(s)
end

return _M
