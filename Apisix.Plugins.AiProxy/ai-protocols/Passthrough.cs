using System.Text.Json.Nodes;
using static Apisix.Plugins.AiProxy.AiProtocols.LuaOps;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/passthrough.lua</c>: the catch-all for any
/// non-empty body no other protocol claims; nothing is read from or written to the payloads.
/// </summary>
public sealed class Passthrough : IAiProtocol
{
    public static readonly Passthrough Instance = new();

    /// <summary><c>matches</c>: any table with at least one entry.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx) =>
        body is JsonObject { Count: > 0 } or JsonArray { Count: > 0 };

    /// <summary><c>is_streaming</c>: a table body with <c>stream == true</c>.</summary>
    public bool IsStreaming(JsonNode? body) => IsTable(body) && IsTrue(Get(body, "stream"));

    /// <summary><c>prepare_outgoing_request</c>: leaves the body alone.</summary>
    public bool PrepareOutgoingRequest(JsonNode? body) => false;

    /// <summary><c>parse_sse_event</c>: every event is passed on unread.</summary>
    public JsonObject? ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state) =>
        new() { ["type"] = "skip" };

    /// <summary><c>extract_response_text</c>.</summary>
    public string? ExtractResponseText(JsonNode? resBody) => null;

    /// <summary><c>extract_usage</c>: unknown.</summary>
    public (JsonObject? Usage, JsonNode? RawUsage) ExtractUsage(JsonNode? resBody) => (null, null);

    /// <summary><c>extract_request_content</c>: nothing.</summary>
    public JsonArray ExtractRequestContent(JsonNode? body) => new();

    /// <summary><c>get_messages</c>: nothing.</summary>
    public JsonNode GetMessages(JsonNode? body) => new JsonArray();

    /// <summary><c>prepend_messages</c>: a no-op.</summary>
    public void PrependMessages(JsonNode? body, JsonArray? msgs)
    {
    }

    /// <summary><c>append_messages</c>: a no-op.</summary>
    public void AppendMessages(JsonNode? body, JsonArray? msgs)
    {
    }

    /// <summary><c>get_request_content</c>: nothing to log.</summary>
    public JsonNode? GetRequestContent(JsonNode? body) => null;

    /// <summary><c>build_simple_request</c>: an empty table.</summary>
    public JsonObject BuildSimpleRequest(string? systemPrompt, JsonNode? userContent, JsonObject? opts) => new();

    /// <summary><c>build_deny_response</c>: an empty body.</summary>
    public string BuildDenyResponse(JsonObject? opts) => "";

    /// <summary><c>empty_usage</c>.</summary>
    public JsonObject EmptyUsage() =>
        new() { ["prompt_tokens"] = 0L, ["completion_tokens"] = 0L, ["total_tokens"] = 0L };

    /// <summary><c>is_data_event</c>: never.</summary>
    public bool IsDataEvent(JsonObject ev) => false;

    /// <summary><c>is_done_event</c>: never.</summary>
    public bool IsDoneEvent(JsonObject ev) => false;

    /// <summary><c>build_done_event</c>.</summary>
    public string BuildDoneEvent() => "data: [DONE]";
}
