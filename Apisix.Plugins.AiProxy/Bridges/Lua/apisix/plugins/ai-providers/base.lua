-- apisix.plugins.ai-providers.base for Lua callers; build_request runs in C#
-- (Apisix.Plugins.AiProxy.AiProviders.ProviderBase).
local impl = __bridge("apisix.plugins.ai-providers.base")
local setmetatable = setmetatable

local _M = {}
local mt = { __index = _M }


function _M.new(opt)
    return setmetatable(opt, mt)
end


function _M.build_request(self, ctx, conf, request_body, opts)
    local params, err, code, body_is_request_body =
        impl:BuildRequest(self, ctx, conf, request_body, opts)
    if params and body_is_request_body then
        params.body = request_body
    end
    return params, err, code
end


return _M
