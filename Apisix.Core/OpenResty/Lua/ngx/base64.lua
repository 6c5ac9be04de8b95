-- resty.core's ngx.base64: URL-safe base64 without padding.
local encode, decode = ngx.encode_base64, ngx.decode_base64
local gsub, find, type = string.gsub, string.find, type

local _M = { version = "0.1.28" }

function _M.encode_base64url(s)
    if type(s) ~= "string" then
        error("must provide a string", 2)
    end
    local b = encode(s, true)
    b = gsub(b, "[+/]", { ["+"] = "-", ["/"] = "_" })
    return b
end

function _M.decode_base64url(s)
    if type(s) ~= "string" then
        error("string argument only", 2)
    end
    if find(s, "[^%w%-_]") or #s % 4 == 1 then return nil, "invalid input" end
    local t = gsub(s, "[-_]", { ["-"] = "+", ["_"] = "/" })
    local r = decode(t)
    if r == nil then return nil, "invalid input" end
    return r
end

return _M
