namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/openrouter.lua</c>: an OpenAI-style chat API.</summary>
public static class OpenRouter
{
    public static readonly ProviderBase Instance = new()
    {
        Host = "openrouter.ai",
        Port = 443,
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = ProviderCapability.At("/api/v1/chat/completions", RewriteRules.ChatMaxTokens),
        },
    };
}
