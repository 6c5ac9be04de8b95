using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>Port of <c>apisix/plugins/ai-protocols/openai-embeddings.lua</c> (detection only).</summary>
public sealed class OpenAiEmbeddings : IAiProtocol
{
    public static readonly OpenAiEmbeddings Instance = new();

    /// <summary><c>matches</c>: the body has an <c>input</c> field.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx) =>
        body is JsonObject o && o.ContainsKey("input");
}
