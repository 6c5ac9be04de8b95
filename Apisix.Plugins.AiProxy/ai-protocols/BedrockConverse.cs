using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>Port of <c>apisix/plugins/ai-protocols/bedrock-converse.lua</c> (detection only).</summary>
public sealed class BedrockConverse : IAiProtocol
{
    public static readonly BedrockConverse Instance = new();

    /// <summary><c>matches</c>: the URI ends with <c>/converse</c> and the body has a <c>messages</c> table.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx)
    {
        var uri = ctx.Uri;
        return uri != null && uri.EndsWith("/converse", StringComparison.Ordinal)
            && body is JsonObject o && o["messages"] is JsonObject or JsonArray;
    }
}
