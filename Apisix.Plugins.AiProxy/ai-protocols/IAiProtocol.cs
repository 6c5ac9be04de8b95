using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// What a module under <c>apisix/plugins/ai-protocols/</c> offers, by its Lua function names.
/// Values are the JSON view of Lua tables (JsonObject/JsonArray; null for nil). A parsed SSE
/// event is a table such as <c>{type = "delta"|"usage"|"done"|"skip", texts, usage,
/// raw_usage, has_tool_call}</c>.
/// </summary>
public interface IAiProtocol
{
    /// <summary><c>matches(body, ctx)</c>: whether the request is in this protocol.</summary>
    bool Matches(JsonNode? body, ProtocolCtx ctx);

    /// <summary><c>is_streaming(body)</c>.</summary>
    bool IsStreaming(JsonNode? body);

    /// <summary><c>prepare_outgoing_request(body)</c>: adjusts the body sent upstream; true when it changed it. Modules without it change nothing.</summary>
    bool PrepareOutgoingRequest(JsonNode? body) => false;

    /// <summary><c>parse_sse_event(event, ctx, state)</c>: one decoded SSE event (<c>{type, data, id}</c>) as this protocol reads it.</summary>
    JsonObject? ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state);

    /// <summary><c>extract_response_text(res_body)</c>.</summary>
    string? ExtractResponseText(JsonNode? resBody);

    /// <summary><c>extract_usage(res_body)</c>: the normalised usage and the provider's raw usage.</summary>
    (JsonObject? Usage, JsonNode? RawUsage) ExtractUsage(JsonNode? resBody);

    /// <summary><c>has_tool_call(res_body)</c>; false for modules without it.</summary>
    bool HasToolCall(JsonNode? resBody) => false;

    /// <summary><c>extract_end_user_id(body)</c>; null for modules without it.</summary>
    string? ExtractEndUserId(JsonNode? body) => null;

    /// <summary><c>get_request_content(body)</c>: what the logging of request payloads records.</summary>
    JsonNode? GetRequestContent(JsonNode? body);

    /// <summary><c>extract_request_content(body)</c>: the request's text pieces (for moderation).</summary>
    JsonArray ExtractRequestContent(JsonNode? body);

    /// <summary><c>get_messages(body)</c>: the request as <c>{role, content}</c> messages (openai-chat hands back <c>body.messages</c> itself).</summary>
    JsonNode GetMessages(JsonNode? body);

    /// <summary><c>prepend_messages(body, msgs)</c>: puts <c>{role, content}</c> messages before the request's own, in place.</summary>
    void PrependMessages(JsonNode? body, JsonArray? msgs);

    /// <summary><c>append_messages(body, msgs)</c>: puts <c>{role, content}</c> messages after the request's own, in place.</summary>
    void AppendMessages(JsonNode? body, JsonArray? msgs);

    /// <summary><c>build_simple_request(system_prompt, user_content, opts)</c>: a non-streaming request body in this protocol.</summary>
    JsonObject BuildSimpleRequest(string? systemPrompt, JsonNode? userContent, JsonObject? opts);

    /// <summary><c>build_deny_response(opts)</c>: the encoded body (or SSE text) refusing a request; <paramref name="opts"/> is <c>{text, model, usage, stream}</c>.</summary>
    string BuildDenyResponse(JsonObject? opts);

    /// <summary><c>empty_usage()</c>: this protocol's zero usage table.</summary>
    JsonObject EmptyUsage();

    /// <summary><c>is_data_event(event)</c>.</summary>
    bool IsDataEvent(JsonObject ev);

    /// <summary><c>is_done_event(event)</c>.</summary>
    bool IsDoneEvent(JsonObject ev);

    /// <summary><c>build_done_event()</c>: the terminal SSE text.</summary>
    string BuildDoneEvent();
}

/// <summary>A module under <c>ai-protocols/converters/</c>: bridges a client protocol to a provider's.</summary>
public interface IAiConverter
{
    /// <summary><c>from</c>: the client protocol.</summary>
    string From { get; }

    /// <summary><c>to</c>: the protocol sent to the provider.</summary>
    string To { get; }

    /// <summary><c>convert_request(body, ctx)</c>: the body to send, or null and the error.</summary>
    (JsonNode? Body, string? Error) ConvertRequest(JsonNode? body, ProtocolCtx ctx);

    /// <summary><c>convert_response(body, ctx)</c>: the body for the client; null and null keeps the original.</summary>
    (JsonNode? Body, string? Error) ConvertResponse(JsonNode? body, ProtocolCtx ctx);

    /// <summary><c>convert_sse_events(parsed, ctx, state)</c>: client events (tables for <c>sse.encode</c>), or null.</summary>
    JsonArray? ConvertSseEvents(JsonObject parsed, ProtocolCtx ctx, JsonObject state) => null;

    /// <summary><c>convert_headers(headers)</c>: adjusts the outgoing headers in place.</summary>
    void ConvertHeaders(IDictionary<string, string> headers) { }
}
