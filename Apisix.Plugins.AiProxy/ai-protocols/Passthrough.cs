using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>Port of <c>apisix/plugins/ai-protocols/passthrough.lua</c> (detection only).</summary>
public sealed class Passthrough : IAiProtocol
{
    public static readonly Passthrough Instance = new();

    /// <summary><c>matches</c>: any table with at least one entry.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx) =>
        body is JsonObject { Count: > 0 } or JsonArray { Count: > 0 };
}
