using System.Text.Json.Nodes;
using Apisix.Plugins.AiProxy.AiProtocols.Converters;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/init.lua</c>: the protocol registry, detection,
/// converter lookup, and the protocol-aware message helpers the plugins running before
/// ai-proxy use.
/// </summary>
public static class Init
{
    private static readonly Dictionary<string, IAiProtocol> Registered = new(StringComparer.Ordinal)
    {
        ["openai-chat"] = OpenAiChat.Instance,
        ["openai-responses"] = OpenAiResponses.Instance,
        ["openai-embeddings"] = OpenAiEmbeddings.Instance,
        ["anthropic-messages"] = AnthropicMessages.Instance,
        ["bedrock-converse"] = BedrockConverse.Instance,
        ["passthrough"] = Passthrough.Instance,
    };

    // URL + body protocols, then body-only ones, the catch-all last
    private static readonly (string Name, IAiProtocol Protocol)[] DetectionOrder =
    {
        ("bedrock-converse", Registered["bedrock-converse"]),
        ("anthropic-messages", Registered["anthropic-messages"]),
        ("openai-responses", Registered["openai-responses"]),
        ("openai-chat", Registered["openai-chat"]),
        ("openai-embeddings", Registered["openai-embeddings"]),
        ("passthrough", Registered["passthrough"]),
    };

    public const string NoMatchError = "unsupported request format: no protocol matched";

    /// <summary><c>detect(body, ctx)</c>: the first protocol (in detection order) that matches, or null and an error.</summary>
    public static (string? Name, string? Error) Detect(JsonNode? body, ProtocolCtx ctx)
    {
        foreach (var (name, protocol) in DetectionOrder)
        {
            if (protocol.Matches(body, ctx)) return (name, null);
        }
        return (null, NoMatchError);
    }

    /// <summary><c>get(name)</c>: the protocol registered under a name, or null.</summary>
    public static IAiProtocol? Get(string name) => Registered.GetValueOrDefault(name);

    /// <summary><c>names()</c>: every registered name, sorted bytewise.</summary>
    public static List<string> Names()
    {
        var names = Registered.Keys.ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>
    /// <c>find_converter(client_protocol, capabilities)</c>: a converter from the client protocol
    /// to a protocol the provider serves (<paramref name="capabilities"/>: the keys of its
    /// capabilities table), and that protocol; nulls when there is none.
    /// </summary>
    public static (IAiConverter? Converter, string? TargetProtocol) FindConverter(
        string? clientProtocol, IReadOnlyCollection<string> capabilities) =>
        Converters.Converters.Find(clientProtocol, capabilities);

    private static IAiProtocol? GetProto(JsonNode? body, ProtocolCtx ctx)
    {
        var (name, _) = Detect(body, ctx);
        return name != null ? Registered[name] : null;
    }

    /// <summary><c>get_messages(body, ctx)</c>: the detected protocol's <c>{role, content}</c> messages, or an empty list.</summary>
    public static JsonNode GetMessages(JsonNode? body, ProtocolCtx ctx)
    {
        var proto = GetProto(body, ctx);
        var messages = proto?.GetMessages(body);
        return messages != null && LuaOps.Truthy(messages) ? messages : new JsonArray();
    }

    /// <summary><c>prepend_messages(body, ctx, msgs)</c>: openai-chat when nothing matches (a body built from scratch).</summary>
    public static void PrependMessages(JsonNode? body, ProtocolCtx ctx, JsonArray? msgs)
    {
        var proto = GetProto(body, ctx) ?? Registered["openai-chat"];
        proto.PrependMessages(body, msgs);
    }

    /// <summary><c>append_messages(body, ctx, msgs)</c>: openai-chat when nothing matches (a body built from scratch).</summary>
    public static void AppendMessages(JsonNode? body, ProtocolCtx ctx, JsonArray? msgs)
    {
        var proto = GetProto(body, ctx) ?? Registered["openai-chat"];
        proto.AppendMessages(body, msgs);
    }

    /// <summary><c>get_request_content(body, ctx)</c>: what the detected protocol logs as the request payload; null when none matches.</summary>
    public static JsonNode? GetRequestContent(JsonNode? body, ProtocolCtx ctx) =>
        GetProto(body, ctx)?.GetRequestContent(body);
}
