-- apisix.plugins.ai-providers.vertex-ai for Lua callers: a provider table (ai-providers.base)
-- whose capabilities' host and path functions run in C# (Apisix.Plugins.AiProxy.AiProviders.VertexAi).
local impl = __bridge("apisix.plugins.ai-providers.vertex-ai")


local function capability(name, with_rewrite)
    local cap = {
        host = function(conf)
            return impl:Host(name, conf)
        end,
        path = function(conf, ctx)
            return impl:Path(name, conf, ctx)
        end,
    }
    if with_rewrite then
        -- max_tokens of the override becomes max_completion_tokens
        cap.rewrite_request_body = function(body, override, force)
            if override.max_tokens and (force or body.max_completion_tokens == nil) then
                body.max_completion_tokens = override.max_tokens
            end
        end
    end
    return cap
end


return require("apisix.plugins.ai-providers.base").new({
    capabilities = {
        ["openai-chat"] = capability("openai-chat", true),
        ["vertex-predict"] = capability("vertex-predict", false),
    },
})
