namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/openai-compatible.lua</c>: no default host, the endpoint comes from the conf.</summary>
public static class OpenAiCompatible
{
    public static readonly ProviderBase Instance = new()
    {
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = ProviderCapability.At("/v1/chat/completions", RewriteRules.ChatMaxTokens),
            ["openai-responses"] = ProviderCapability.At("/v1/responses", RewriteRules.ResponsesMaxOutputTokens),
            ["openai-embeddings"] = ProviderCapability.At("/v1/embeddings"),
        },
    };
}
