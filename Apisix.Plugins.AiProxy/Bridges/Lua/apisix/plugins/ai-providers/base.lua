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
    local params, err, code = impl:BuildRequest(self, ctx, conf, request_body, opts)
    return params, err, code
end


return _M
