using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>Port of <c>apisix/plugins/ai-protocols/openai-chat.lua</c> (detection only).</summary>
public sealed class OpenAiChat : IAiProtocol
{
    public static readonly OpenAiChat Instance = new();

    /// <summary><c>matches</c>: the body has a <c>messages</c> table.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx) =>
        body is JsonObject o && o["messages"] is JsonObject or JsonArray;
}
