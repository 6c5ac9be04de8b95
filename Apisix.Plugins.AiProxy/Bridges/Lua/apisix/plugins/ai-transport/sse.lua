-- apisix.plugins.ai-transport.sse, implemented in C# (Apisix.Plugins.AiProxy.AiTransport.Sse).
-- Errors the Lua module would raise come back as (nil, message) and are raised here.
local impl = __bridge("apisix.plugins.ai-transport.sse")
local error = error

local _M = {
    max_remainder = impl.MaxRemainder,
}


function _M.decode(chunk)
    local events, err = impl:Decode(chunk)
    if events == nil then error(err, 2) end
    return events
end


function _M.encode(event)
    local text, err = impl:Encode(event)
    if text == nil then error(err, 2) end
    return text
end


function _M.decode_buf(buf)
    local events, remainder, err = impl:DecodeBuf(buf)
    if events == nil then error(err, 2) end
    return events, remainder
end


function _M.split_buf(buf)
    local complete, remainder, err = impl:SplitBuf(buf)
    if complete == nil then error(err, 2) end
    return complete, remainder
end


return _M
