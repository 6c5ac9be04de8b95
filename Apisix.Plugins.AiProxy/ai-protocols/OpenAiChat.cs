using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using static Apisix.Plugins.AiProxy.AiProtocols.LuaOps;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/openai-chat.lua</c>: the OpenAI Chat Completions
/// protocol, which is also the gateway's internal format (nothing to convert).
/// </summary>
public sealed class OpenAiChat : IAiProtocol
{
    public static readonly OpenAiChat Instance = new();

    // Lua's %s class: space, \t, \n, \v, \f, \r
    private static readonly Regex Blank = new("^[ \t\n\v\f\r]*$", RegexOptions.CultureInvariant);

    /// <summary><c>matches</c>: the body has a <c>messages</c> table.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx) =>
        body is JsonObject o && o["messages"] is JsonObject or JsonArray;

    /// <summary><c>is_streaming</c>: <c>body.stream == true</c>.</summary>
    public bool IsStreaming(JsonNode? body) => IsTrue(Index(body, "stream", "local 'body'"));

    /// <summary><c>prepare_outgoing_request</c>: a streaming body asks for the usage chunk.</summary>
    public bool PrepareOutgoingRequest(JsonNode? body)
    {
        if (Truthy(Index(body, "stream", "local 'body'")))
        {
            SetField(body, "stream_options", new JsonObject { ["include_usage"] = true }, "local 'body'");
            return true;
        }
        return false;
    }

    /// <summary><c>parse_sse_event</c>: a chat completion chunk (default SSE type "message").</summary>
    public JsonObject? ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state)
    {
        if (StringEquals(ev["type"], "message"))
        {
            if (!IsString(ev["data"], out var text) || Blank.IsMatch(text))
                return new JsonObject { ["type"] = "skip" };

            // the end of an OpenAI stream is a bare "data: [DONE]" line
            if (text == "[DONE]")
                return new JsonObject { ["type"] = "done" };

            var (data, err) = DecodeNullAsNil(ev["data"]);
            if (!Truthy(data))
            {
                Warn(ctx, "failed to decode SSE data: ", err);
                return new JsonObject { ["type"] = "skip" };
            }

            var result = new JsonObject { ["type"] = "delta", ["data"] = data };

            var choices = Index(data, "choices", "local 'data'");
            if (IsTable(choices) && Len(choices) > 0)
            {
                var texts = new JsonArray();
                foreach (var choice in IPairs(choices))
                {
                    if (choice is JsonObject c && IsTable(c["delta"]))
                    {
                        var delta = c["delta"];
                        if (IsString(Get(delta, "content"), out var content)) texts.Add(content);
                        var toolCalls = Get(delta, "tool_calls");
                        if (IsTable(toolCalls) && Len(toolCalls) > 0) result["has_tool_call"] = true;
                    }
                }
                if (texts.Count > 0) result["texts"] = texts;
            }

            // usage is null on all but the last chunk
            var u = Get(data, "usage");
            if (IsTable(u))
            {
                var pd = Get(u, "prompt_tokens_details") is JsonObject or JsonArray ? Get(u, "prompt_tokens_details") : null;
                var cd = Get(u, "completion_tokens_details") is JsonObject or JsonArray ? Get(u, "completion_tokens_details") : null;
                result["type"] = "usage";
                result["usage"] = new JsonObject
                {
                    ["prompt_tokens"] = OrZero(Get(u, "prompt_tokens")),
                    ["completion_tokens"] = OrZero(Get(u, "completion_tokens")),
                    ["total_tokens"] = OrZero(Get(u, "total_tokens")),
                    ["cache_read_input_tokens"] = OrZero(Or(Get(pd, "cached_tokens"), Get(u, "prompt_cache_hit_tokens"))),
                    ["cache_creation_input_tokens"] = OrZero(Get(pd, "cache_creation_input_tokens")),
                    ["reasoning_tokens"] = OrZero(Get(cd, "reasoning_tokens")),
                };
                result["raw_usage"] = Clone(u);
            }

            return result;
        }

        return new JsonObject { ["type"] = "skip" };
    }

    /// <summary><c>extract_response_text</c>: every choice's message content, joined by spaces.</summary>
    public string? ExtractResponseText(JsonNode? resBody)
    {
        if (!IsTable(resBody)) return null;
        var choices = Get(resBody, "choices");
        if (IsTable(choices) && Len(choices) > 0)
        {
            var contents = new List<JsonNode?>();
            foreach (var choice in IPairs(choices))
            {
                var message = Get(choice, "message");
                if (IsTable(message) && IsString(Get(message, "content")))
                    contents.Add(Get(message, "content"));
            }
            return Concat(contents, " ");
        }
        return null;
    }

    /// <summary><c>build_simple_request</c>: an optional system message and one user message.</summary>
    public JsonObject BuildSimpleRequest(string? systemPrompt, JsonNode? userContent, JsonObject? opts)
    {
        var messages = new JsonArray();
        var body = new JsonObject { ["messages"] = messages, ["stream"] = false };
        if (systemPrompt != null)
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = systemPrompt });
        messages.Add(Table(("role", "user"), ("content", Clone(userContent))));
        if (opts != null && Truthy(opts["model"])) body["model"] = Clone(opts["model"]);
        return body;
    }

    /// <summary><c>extract_usage</c>: normalised usage (cached tokens from OpenAI's details or DeepSeek's field) and the raw one.</summary>
    public (JsonObject? Usage, JsonNode? RawUsage) ExtractUsage(JsonNode? resBody)
    {
        if (!IsTable(resBody) || !IsTable(Get(resBody, "usage"))) return (null, null);
        var raw = Get(resBody, "usage")!;
        var pdetails = IsTable(Get(raw, "prompt_tokens_details")) ? Get(raw, "prompt_tokens_details") : null;
        var cdetails = IsTable(Get(raw, "completion_tokens_details")) ? Get(raw, "completion_tokens_details") : null;
        var cacheRead = OrZero(Or(Get(pdetails, "cached_tokens"), Get(raw, "prompt_cache_hit_tokens")));
        var total = Truthy(Get(raw, "total_tokens"))
            ? Clone(Get(raw, "total_tokens"))!
            : Add(Or(Get(raw, "prompt_tokens"), 0L), Or(Get(raw, "completion_tokens"), 0L));
        // made at its final size (the fields are distinct)
        return (new JsonObject(new KeyValuePair<string, JsonNode?>[]
        {
            new("prompt_tokens", OrZero(Get(raw, "prompt_tokens"))),
            new("completion_tokens", OrZero(Get(raw, "completion_tokens"))),
            new("total_tokens", total),
            new("cache_read_input_tokens", cacheRead),
            new("cache_creation_input_tokens", OrZero(Get(pdetails, "cache_creation_input_tokens"))),
            new("reasoning_tokens", OrZero(Get(cdetails, "reasoning_tokens"))),
        }), raw);
    }

    /// <summary><c>has_tool_call</c>: some choice's message carries tool calls.</summary>
    public bool HasToolCall(JsonNode? resBody)
    {
        if (!IsTable(resBody) || !IsTable(Get(resBody, "choices"))) return false;
        foreach (var choice in IPairs(Get(resBody, "choices")))
        {
            var message = Get(choice, "message");
            var toolCalls = Get(message, "tool_calls");
            if (IsTable(choice) && IsTable(message) && IsTable(toolCalls) && Len(toolCalls) > 0)
                return true;
        }
        return false;
    }

    /// <summary><c>extract_end_user_id</c>: <c>safety_identifier</c>, else <c>user</c>.</summary>
    public string? ExtractEndUserId(JsonNode? body)
    {
        if (!IsTable(body)) return null;
        if (IsString(Get(body, "safety_identifier"), out var sid)) return sid;
        if (IsString(Get(body, "user"), out var user)) return user;
        return null;
    }

    /// <summary><c>extract_request_content</c>: string contents and text parts of every message.</summary>
    public JsonArray ExtractRequestContent(JsonNode? body)
    {
        var contents = new JsonArray();
        var messages = Index(body, "messages", "local 'body'");
        if (IsTable(messages))
        {
            foreach (var message in IPairs(messages))
            {
                var content = Index(message, "content", "local 'message'");
                if (IsString(content, out var s))
                {
                    contents.Add(s);
                }
                else if (IsTable(content))
                {
                    foreach (var part in IPairs(content))
                    {
                        if (IsTable(part) && StringEquals(Get(part, "type"), "text") && IsString(Get(part, "text"), out var t))
                            contents.Add(t);
                    }
                }
            }
        }
        return contents;
    }

    /// <summary><c>get_messages</c>: <c>body.messages</c> itself (not a copy), or an empty list.</summary>
    public JsonNode GetMessages(JsonNode? body) =>
        Or(Index(body, "messages", "local 'body'"), null) ?? new JsonArray();

    /// <summary><c>prepend_messages</c>: a new message list, the given messages first.</summary>
    public void PrependMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;
        if (!Truthy(Index(body, "messages", "local 'body'")))
            SetField(body, "messages", new JsonArray(), "local 'body'");
        var newMessages = new JsonArray();
        foreach (var msg in IPairs(msgs)) newMessages.Add(Clone(msg));
        foreach (var msg in IPairs(Get(body, "messages"))) newMessages.Add(Clone(msg));
        SetField(body, "messages", newMessages, "local 'body'");
    }

    /// <summary><c>append_messages</c>: the given messages after the request's own.</summary>
    public void AppendMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;
        if (!Truthy(Index(body, "messages", "local 'body'")))
            SetField(body, "messages", new JsonArray(), "local 'body'");
        var target = InsertTarget((JsonObject)body!, "messages");
        foreach (var msg in IPairs(msgs)) target.Add(Clone(msg));
    }

    /// <summary><c>get_request_content</c>: <c>body.messages</c>.</summary>
    public JsonNode? GetRequestContent(JsonNode? body) => Index(body, "messages", "local 'body'");

    /// <summary><c>build_deny_response</c>: a completion (or a chunk and [DONE]) carrying the refusal text.</summary>
    public string BuildDenyResponse(JsonObject? opts)
    {
        if (opts == null) throw new InvalidOperationException("attempt to index local 'opts' (a nil value)");
        if (Truthy(opts["stream"]))
        {
            var data = Table(
                ("id", LuaOps.UuidV4()),
                ("object", "chat.completion.chunk"),
                ("model", Clone(opts["model"])),
                ("choices", new JsonArray(Table(
                    ("index", 0L),
                    ("delta", Table(("content", Clone(opts["text"])))),
                    ("finish_reason", "stop")))),
                ("usage", Clone(opts["usage"])));
            return "data: " + CJson.Encode(data) + "\n\n" + "data: [DONE]";
        }
        return CJson.Encode(Table(
            ("id", LuaOps.UuidV4()),
            ("object", "chat.completion"),
            ("model", Clone(opts["model"])),
            ("choices", new JsonArray(Table(
                ("index", 0L),
                ("message", Table(("role", "assistant"), ("content", Clone(opts["text"])))),
                ("finish_reason", "stop")))),
            ("usage", Clone(opts["usage"]))));
    }

    /// <summary><c>empty_usage</c>.</summary>
    public JsonObject EmptyUsage() =>
        new() { ["prompt_tokens"] = 0L, ["completion_tokens"] = 0L, ["total_tokens"] = 0L };

    /// <summary><c>is_data_event</c>: a "message" event other than [DONE].</summary>
    public bool IsDataEvent(JsonObject ev) => StringEquals(ev["type"], "message") && !StringEquals(ev["data"], "[DONE]");

    /// <summary><c>is_done_event</c>: the [DONE] marker.</summary>
    public bool IsDoneEvent(JsonObject ev) => StringEquals(ev["data"], "[DONE]");

    /// <summary><c>build_done_event</c>.</summary>
    public string BuildDoneEvent() => "data: [DONE]";
}
