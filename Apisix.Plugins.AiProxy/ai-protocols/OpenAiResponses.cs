using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>Port of <c>apisix/plugins/ai-protocols/openai-responses.lua</c> (detection only).</summary>
public sealed class OpenAiResponses : IAiProtocol
{
    public static readonly OpenAiResponses Instance = new();

    /// <summary><c>matches</c>: the URI ends with <c>/v1/responses</c> and the body has an <c>input</c> field.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx)
    {
        var uri = ctx.Uri;
        return uri != null && uri.EndsWith("/v1/responses", StringComparison.Ordinal)
            && body is JsonObject o && o.ContainsKey("input");
    }
}
