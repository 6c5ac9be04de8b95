-- apisix.plugins.ai-proxy-multi for Lua callers (the plugin itself is C#).
local _M = require("apisix.bridge.plugin")("apisix.plugins.ai-proxy-multi")
local impl = __bridge("apisix.plugins.ai-proxy-multi.functions")


function _M.construct_upstream(instance)
    return impl:ConstructUpstream(instance)
end


return _M
