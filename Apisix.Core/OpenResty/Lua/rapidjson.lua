-- rapidjson (lua-rapidjson) for Lua callers: encode() is C# (Apisix.Core/Utils/RapidJson.cs).
-- array() and object() mark a table as cjson does; decode() reads as cjson.safe does.
local impl = __bridge("rapidjson")
local cjson = require("cjson.safe")

local _M = {
    null = cjson.null,
}

function _M.encode(value, opts)
    local text, err = impl:Encode(value, opts and opts.sort_keys or false)
    if text == nil then
        error(err, 2)
    end
    return text
end

function _M.decode(text)
    return cjson.decode(text)
end

function _M.array(t)
    return setmetatable(t or {}, cjson.array_mt)
end

function _M.object(t)
    return t or {}
end

return _M
