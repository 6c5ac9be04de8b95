-- apisix.plugins.ai-protocols, implemented in C# (Apisix.Plugins.AiProxy.AiProtocols.Init).
-- Protocol modules and the converters registry are required when first asked for.
local impl = __bridge("apisix.plugins.ai-protocols")
local require = require
local error = error

local _M = {}


function _M.detect(body, ctx)
    local uri = ctx.var and ctx.var.uri
    local name, err = impl:Detect(body, uri)
    if name == nil then
        if err ~= "unsupported request format: no protocol matched" then error(err, 2) end
        return nil, err
    end
    return name
end


function _M.get(name)
    if not impl:IsRegistered(name) then return nil end
    return require("apisix.plugins.ai-protocols." .. name)
end


function _M.names()
    return impl:Names()
end


function _M.find_converter(client_protocol, capabilities)
    return require("apisix.plugins.ai-protocols.converters").find(client_protocol, capabilities)
end


local function get_proto(body, ctx)
    local name = _M.detect(body, ctx)
    return name and _M.get(name)
end


function _M.get_messages(body, ctx)
    local proto = get_proto(body, ctx)
    return proto and proto.get_messages(body) or {}
end


function _M.prepend_messages(body, ctx, msgs)
    local proto = get_proto(body, ctx) or _M.get("openai-chat")
    if proto then
        proto.prepend_messages(body, msgs)
    end
end


function _M.append_messages(body, ctx, msgs)
    local proto = get_proto(body, ctx) or _M.get("openai-chat")
    if proto then
        proto.append_messages(body, msgs)
    end
end


function _M.get_request_content(body, ctx)
    local proto = get_proto(body, ctx)
    return proto and proto.get_request_content(body)
end


return _M
