using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/init.lua</c>: the protocol registry and
/// detection (<c>detect</c>, <c>get</c>, <c>names</c>). <c>find_converter</c> and the
/// message helpers need the converters and the full protocol modules; the Lua bridge
/// forwards them to those modules.
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
}
