using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/openai.lua</c>.</summary>
public static class OpenAi
{
    // OpenAI's chat API takes max_completion_tokens and drops the older max_tokens.
    private static void RewriteChatRequestBody(JsonObject body, JsonObject over, bool force)
    {
        if (over["max_tokens"] is not { } max) return;
        if (force || (body["max_completion_tokens"] == null && body["max_tokens"] == null))
        {
            body["max_completion_tokens"] = max.DeepClone();
            body.Remove("max_tokens");
        }
    }

    public static readonly ProviderBase Instance = new()
    {
        Host = "api.openai.com",
        Port = 443,
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = ProviderCapability.At("/v1/chat/completions", RewriteChatRequestBody),
            ["openai-responses"] = ProviderCapability.At("/v1/responses", RewriteRules.ResponsesMaxOutputTokens),
            ["openai-embeddings"] = ProviderCapability.At("/v1/embeddings"),
        },
    };
}
