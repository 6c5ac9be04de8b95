namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/gemini.lua</c>: an OpenAI-style chat API.</summary>
public static class Gemini
{
    public static readonly ProviderBase Instance = new()
    {
        Host = "generativelanguage.googleapis.com",
        Port = 443,
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = ProviderCapability.At("/v1beta/openai/chat/completions", RewriteRules.ChatMaxCompletionTokens),
        },
    };
}
