-- apisix.plugins.ai-proxy for Lua callers (the plugin itself is C#).
return require("apisix.bridge.plugin")("apisix.plugins.ai-proxy")
