namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/anthropic.lua</c>: its OpenAI-compatible chat API and its native Messages API.</summary>
public static class Anthropic
{
    public static readonly ProviderBase Instance = new()
    {
        Host = "api.anthropic.com",
        Port = 443,
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = ProviderCapability.At("/v1/chat/completions", RewriteRules.ChatMaxTokens),
            ["anthropic-messages"] = ProviderCapability.At("/v1/messages", RewriteRules.ChatMaxTokens),
        },
    };
}
