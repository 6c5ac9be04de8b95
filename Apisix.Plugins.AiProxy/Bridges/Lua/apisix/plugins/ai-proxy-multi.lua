-- apisix.plugins.ai-proxy-multi for Lua callers (the plugin itself is C#).
return require("apisix.bridge.plugin")("apisix.plugins.ai-proxy-multi")
