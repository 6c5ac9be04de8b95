using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>
/// The <c>rewrite_request_body(body, override, force)</c> functions the provider modules
/// share: where <c>override.llm_options.max_tokens</c> lands in each protocol's body.
/// </summary>
internal static class RewriteRules
{
    /// <summary>Sets <paramref name="field"/> to max_tokens when forced or when none of <paramref name="present"/> is set.</summary>
    private static Action<JsonObject, JsonObject, bool> MaxTokensInto(string field, params string[] present) =>
        (body, over, force) =>
        {
            if (over["max_tokens"] is not { } max) return;
            if (force || present.All(p => body[p] == null)) body[field] = max.DeepClone();
        };

    /// <summary>Chat body: <c>max_tokens</c>, unless the client set it.</summary>
    public static readonly Action<JsonObject, JsonObject, bool> ChatMaxTokens = MaxTokensInto("max_tokens", "max_tokens");

    /// <summary>Chat body for APIs that want <c>max_completion_tokens</c>, unless the client set it.</summary>
    public static readonly Action<JsonObject, JsonObject, bool> ChatMaxCompletionTokens =
        MaxTokensInto("max_completion_tokens", "max_completion_tokens");

    /// <summary>Responses API body: <c>max_output_tokens</c>.</summary>
    public static readonly Action<JsonObject, JsonObject, bool> ResponsesMaxOutputTokens =
        MaxTokensInto("max_output_tokens", "max_output_tokens");
}
