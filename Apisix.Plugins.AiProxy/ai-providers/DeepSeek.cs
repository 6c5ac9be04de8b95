namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/deepseek.lua</c>: an OpenAI-style chat API.</summary>
public static class DeepSeek
{
    public static readonly ProviderBase Instance = new()
    {
        Host = "api.deepseek.com",
        Port = 443,
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = ProviderCapability.At("/chat/completions", RewriteRules.ChatMaxTokens),
        },
    };
}
