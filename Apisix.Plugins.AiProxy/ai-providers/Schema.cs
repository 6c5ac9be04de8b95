using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>apisix/plugins/ai-providers/schema.lua</c>.</summary>
public static class Schema
{
    /// <summary><c>providers</c>: every provider module name, in the upstream order.</summary>
    public static readonly IReadOnlyList<string> ProviderNames = new[]
    {
        "openai", "deepseek", "aimlapi", "anthropic",
        "openai-compatible", "azure-openai", "openrouter",
        "gemini", "vertex-ai", "bedrock",
    };

    /// <summary><c>providers</c> as a schema enum list (a fresh node per call).</summary>
    public static JsonArray Providers() =>
        new(ProviderNames.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray());
}
