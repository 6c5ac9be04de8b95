using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.AiTransport;
using static Apisix.Plugins.AiProxy.AiProtocols.LuaOps;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/anthropic-messages.lua</c>: clients speaking the
/// Anthropic Messages API, and providers serving it natively. The conversion to and from
/// OpenAI Chat lives in <see cref="Converters.AnthropicMessagesToOpenAiChat"/>.
/// </summary>
public sealed class AnthropicMessages : IAiProtocol
{
    public static readonly AnthropicMessages Instance = new();

    /// <summary><c>matches</c>: the URI ends with <c>/v1/messages</c> and the body is a table.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx)
    {
        var uri = ctx.Uri;
        return uri != null && uri.EndsWith("/v1/messages", StringComparison.Ordinal)
            && body is JsonObject or JsonArray;
    }

    /// <summary><c>is_streaming</c>: <c>body.stream == true</c>.</summary>
    public bool IsStreaming(JsonNode? body) => IsTrue(Index(body, "stream", "local 'body'"));

    /// <summary>
    /// <c>parse_sse_event(event, ctx, state)</c>: a native Anthropic SSE event as the
    /// gateway's stream result (<c>{type = "delta" | "usage" | "done" | "skip", ...}</c>).
    /// <paramref name="ev"/> holds <c>type</c> and <c>data</c> as <c>sse.decode</c> gives them.
    /// Throws <see cref="InvalidOperationException"/> where the Lua code would raise an error.
    /// </summary>
    public JsonObject ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonNode? state) => ParseSseEventCore(ev, ctx, state);
    JsonObject? IAiProtocol.ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state) => ParseSseEventCore(ev, ctx, state);
    private JsonObject ParseSseEventCore(JsonObject ev, ProtocolCtx ctx, JsonNode? state)
    {
        var evType = StringOf(ev["type"]);
        switch (evType)
        {
            case "content_block_delta":
            {
                var (data, err) = DecodeNullAsNil(ev["data"]);
                if (!Truthy(data))
                {
                    Warn(ctx, "failed to decode SSE data: ", err);
                    return Skip();
                }
                var delta = Idx(data, "delta");
                if (delta is JsonObject or JsonArray && StringOf(Idx(delta, "type")) == "text_delta"
                    && Idx(delta, "text") is JsonValue text && text.GetValueKind() == JsonValueKind.String)
                {
                    return new JsonObject { ["type"] = "delta", ["texts"] = new JsonArray(text.DeepClone()) };
                }
                return Skip();
            }

            case "content_block_start":
            {
                var (data, _) = DecodeNullAsNil(ev["data"]);
                if (Truthy(data) && Idx(data, "content_block") is JsonObject or JsonArray
                    && StringOf(Idx(Idx(data, "content_block"), "type")) == "tool_use")
                {
                    return new JsonObject { ["type"] = "skip", ["has_tool_call"] = true };
                }
                return Skip();
            }

            case "message_delta":
            {
                var (data, err) = DecodeNullAsNil(ev["data"]);
                if (!Truthy(data))
                {
                    Warn(ctx, "failed to decode message_delta: ", err);
                    return Skip();
                }
                if (Idx(data, "usage") is JsonObject or JsonArray)
                {
                    var usage = Idx(data, "usage")!;
                    var input = OrZero(Idx(usage, "input_tokens"));
                    var output = OrZero(Idx(usage, "output_tokens"));
                    return new JsonObject
                    {
                        ["type"] = "usage",
                        ["usage"] = new JsonObject
                        {
                            ["prompt_tokens"] = input.DeepClone(),
                            ["completion_tokens"] = output.DeepClone(),
                            ["total_tokens"] = Add(input, output),
                        },
                        ["raw_usage"] = usage.DeepClone(),
                    };
                }
                return Skip();
            }

            case "message_stop":
                return new JsonObject { ["type"] = "done" };

            case "message_start":
            {
                var (data, _) = DecodeNullAsNil(ev["data"]);
                if (!Truthy(data)) return Skip();
                var message = Idx(data, "message");
                if (message is JsonObject or JsonArray && Idx(message, "usage") is JsonObject or JsonArray)
                {
                    var usage = Idx(message, "usage")!;
                    var input = OrZero(Idx(usage, "input_tokens"));
                    var output = OrZero(Idx(usage, "output_tokens"));
                    return new JsonObject
                    {
                        ["type"] = "usage",
                        ["usage"] = new JsonObject
                        {
                            ["prompt_tokens"] = input.DeepClone(),
                            ["completion_tokens"] = output.DeepClone(),
                            ["total_tokens"] = Add(input, output),
                            ["cache_read_input_tokens"] = OrZero(Idx(usage, "cache_read_input_tokens")).DeepClone(),
                            ["cache_creation_input_tokens"] = OrZero(Idx(usage, "cache_creation_input_tokens")).DeepClone(),
                            ["reasoning_tokens"] = 0L,
                        },
                        ["raw_usage"] = usage.DeepClone(),
                    };
                }
                return Skip();
            }

            case "error":
            {
                var (errData, _) = DecodeNullAsNil(ev["data"]);
                var errType = Or(And(And(errData, () => Idx(errData, "error")), () => Idx(Idx(errData, "error"), "type")), "unknown");
                var errMsg = Or(And(And(errData, () => Idx(errData, "error")), () => Idx(Idx(errData, "error"), "message")), "unknown");
                Warn(ctx, "Anthropic SSE error: type=", errType, ", message=", errMsg);
                return new JsonObject { ["type"] = "done" };
            }
        }

        return Skip();
    }

    /// <summary><c>extract_response_text</c>: the text blocks of <c>content</c>, joined by spaces.</summary>
    public string? ExtractResponseText(JsonNode? resBody)
    {
        if (!IsTable(resBody)) return null;
        var content = Get(resBody, "content");
        if (IsTable(content))
        {
            var contents = new List<JsonNode?>();
            foreach (var block in IPairs(content))
                if (IsTable(block) && StringEquals(Get(block, "type"), "text") && IsString(Get(block, "text")))
                    contents.Add(Get(block, "text"));
            if (contents.Count > 0) return Concat(contents, " ");
        }
        return null;
    }

    /// <summary><c>build_simple_request</c>: one user message, <c>max_tokens</c> (4096 unless given), the system prompt as <c>system</c>.</summary>
    public JsonObject BuildSimpleRequest(string? systemPrompt, JsonNode? userContent, JsonObject? opts)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(Table(("role", "user"), ("content", Clone(userContent)))),
            ["stream"] = false,
            ["max_tokens"] = opts != null && Truthy(opts["max_tokens"]) ? Clone(opts["max_tokens"]) : 4096L,
        };
        if (systemPrompt != null) body["system"] = systemPrompt;
        if (opts != null && Truthy(opts["model"])) body["model"] = Clone(opts["model"]);
        return body;
    }

    /// <summary><c>extract_usage</c>: input/output tokens (total is their sum), cache counters, and the raw usage.</summary>
    public (JsonObject? Usage, JsonNode? RawUsage) ExtractUsage(JsonNode? resBody)
    {
        if (!IsTable(resBody) || !IsTable(Get(resBody, "usage"))) return (null, null);
        var raw = Get(resBody, "usage")!;
        var prompt = Or(Get(raw, "input_tokens"), 0L)!;
        var completion = Or(Get(raw, "output_tokens"), 0L)!;
        return (new JsonObject
        {
            ["prompt_tokens"] = prompt.DeepClone(),
            ["completion_tokens"] = completion.DeepClone(),
            ["total_tokens"] = Add(prompt, completion),
            ["cache_read_input_tokens"] = OrZero(Get(raw, "cache_read_input_tokens")),
            ["cache_creation_input_tokens"] = OrZero(Get(raw, "cache_creation_input_tokens")),
            ["reasoning_tokens"] = 0L,
        }, raw);
    }

    /// <summary><c>has_tool_call</c>: some content block is a tool_use.</summary>
    public bool HasToolCall(JsonNode? resBody)
    {
        if (!IsTable(resBody) || !IsTable(Get(resBody, "content"))) return false;
        foreach (var block in IPairs(Get(resBody, "content")))
            if (IsTable(block) && StringEquals(Get(block, "type"), "tool_use")) return true;
        return false;
    }

    /// <summary><c>extract_end_user_id</c>: <c>metadata.user_id</c>.</summary>
    public string? ExtractEndUserId(JsonNode? body)
    {
        if (!IsTable(body)) return null;
        var meta = Get(body, "metadata");
        if (IsTable(meta) && IsString(Get(meta, "user_id"), out var id)) return id;
        return null;
    }

    /// <summary><c>extract_request_content</c>: string contents and text blocks of every message.</summary>
    public JsonArray ExtractRequestContent(JsonNode? body)
    {
        var contents = new JsonArray();
        var messages = Index(body, "messages", "local 'body'");
        if (IsTable(messages))
        {
            foreach (var message in IPairs(messages))
            {
                if (!IsTable(message)) continue;
                var content = Get(message, "content");
                if (IsString(content, out var s))
                {
                    contents.Add(s);
                }
                else if (IsTable(content))
                {
                    foreach (var block in IPairs(content))
                        if (IsTable(block) && StringEquals(Get(block, "type"), "text") && IsString(Get(block, "text"), out var t))
                            contents.Add(t);
                }
            }
        }
        return contents;
    }

    /// <summary><c>get_messages</c>: a string <c>system</c> as a system message, content blocks flattened to text.</summary>
    public JsonNode GetMessages(JsonNode? body)
    {
        var messages = new JsonArray();
        if (IsString(Index(body, "system", "local 'body'"), out var system))
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        var bodyMessages = Get(body, "messages");
        if (IsTable(bodyMessages))
        {
            foreach (var message in IPairs(bodyMessages))
            {
                var content = Index(message, "content", "local 'message'");
                if (IsString(content))
                {
                    messages.Add(Table(("role", Clone(Get(message, "role"))), ("content", Clone(content))));
                }
                else if (IsTable(content))
                {
                    // a text block without text adds nothing (table.insert of nil)
                    var texts = new List<JsonNode?>();
                    foreach (var block in IPairs(content))
                        if (IsTable(block) && StringEquals(Get(block, "type"), "text") && Get(block, "text") is { } text)
                            texts.Add(text);
                    if (texts.Count > 0)
                        messages.Add(Table(("role", Clone(Get(message, "role"))), ("content", Concat(texts, " "))));
                }
            }
        }
        return messages;
    }

    /// <summary><c>prepend_messages</c>: <c>{role, content}</c> copies before the request's messages.</summary>
    public void PrependMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;
        if (!Truthy(Index(body, "messages", "local 'body'")))
            SetField(body, "messages", new JsonArray(), "local 'body'");
        var newMessages = new JsonArray();
        foreach (var msg in IPairs(msgs)) newMessages.Add(RoleAndContent(msg));
        foreach (var msg in IPairs(Get(body, "messages"))) newMessages.Add(Clone(msg));
        SetField(body, "messages", newMessages, "local 'body'");
    }

    /// <summary><c>append_messages</c>: <c>{role, content}</c> copies after the request's messages.</summary>
    public void AppendMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;
        if (!Truthy(Index(body, "messages", "local 'body'")))
            SetField(body, "messages", new JsonArray(), "local 'body'");
        var target = InsertTarget((JsonObject)body!, "messages");
        foreach (var msg in IPairs(msgs)) target.Add(RoleAndContent(msg));
    }

    private static JsonObject RoleAndContent(JsonNode msg) => Table(
        ("role", Clone(Index(msg, "role", "local 'msg'"))),
        ("content", Clone(Get(msg, "content"))));

    /// <summary><c>get_request_content</c>: <c>body.messages</c>.</summary>
    public JsonNode? GetRequestContent(JsonNode? body) => Index(body, "messages", "local 'body'");

    /// <summary><c>build_deny_response</c>: a message (or the full event sequence of one) carrying the refusal text.</summary>
    public string BuildDenyResponse(JsonObject? opts)
    {
        if (opts == null) throw new InvalidOperationException("attempt to index local 'opts' (a nil value)");
        if (Truthy(opts["stream"]))
        {
            var messageStart = new JsonObject
            {
                ["type"] = "message_start",
                ["message"] = Table(
                    ("id", UuidV4()),
                    ("type", "message"),
                    ("role", "assistant"),
                    ("model", Clone(opts["model"])),
                    // an empty Lua table encodes as an object
                    ("content", new JsonObject()),
                    ("usage", Clone(opts["usage"]))),
            };
            var contentBlockStart = new JsonObject
            {
                ["type"] = "content_block_start",
                ["index"] = 0L,
                ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" },
            };
            var contentBlockDelta = new JsonObject
            {
                ["type"] = "content_block_delta",
                ["index"] = 0L,
                ["delta"] = Table(("type", "text_delta"), ("text", Clone(opts["text"]))),
            };
            var contentBlockStop = new JsonObject { ["type"] = "content_block_stop", ["index"] = 0L };
            var messageDelta = Table(
                ("type", "message_delta"),
                ("delta", new JsonObject { ["stop_reason"] = "end_turn" }),
                ("usage", Clone(opts["usage"])));
            return Event("message_start", CJson.Encode(messageStart))
                + Event("content_block_start", CJson.Encode(contentBlockStart))
                + Event("content_block_delta", CJson.Encode(contentBlockDelta))
                + Event("content_block_stop", CJson.Encode(contentBlockStop))
                + Event("message_delta", CJson.Encode(messageDelta))
                + Event("message_stop", "{}");
        }
        return CJson.Encode(Table(
            ("id", UuidV4()),
            ("type", "message"),
            ("role", "assistant"),
            ("model", Clone(opts["model"])),
            ("content", new JsonArray(Table(("type", "text"), ("text", Clone(opts["text"]))))),
            ("stop_reason", "end_turn"),
            ("usage", Clone(opts["usage"]))));
    }

    private static string Event(string type, string data) =>
        Sse.Encode(new JsonObject { ["type"] = type, ["data"] = data });

    /// <summary><c>empty_usage</c>: in Anthropic's field names.</summary>
    public JsonObject EmptyUsage() => new() { ["input_tokens"] = 0L, ["output_tokens"] = 0L };

    /// <summary><c>is_data_event</c>: content deltas and message deltas.</summary>
    public bool IsDataEvent(JsonObject ev) =>
        StringEquals(ev["type"], "content_block_delta") || StringEquals(ev["type"], "message_delta");

    /// <summary><c>is_done_event</c>: <c>message_stop</c>.</summary>
    public bool IsDoneEvent(JsonObject ev) => StringEquals(ev["type"], "message_stop");

    /// <summary><c>build_done_event</c>: a <c>message_stop</c> event.</summary>
    public string BuildDoneEvent() => Event("message_stop", "{}");

    // Lua semantics over decoded values ---------------------------------------------------------

    private static JsonObject Skip() => new() { ["type"] = "skip" };

    /// <summary><c>t.key</c> inside parse_sse_event (the message names the key).</summary>
    private static JsonNode? Idx(JsonNode? t, string key)
    {
        if (t == null) throw new InvalidOperationException($"attempt to index field '{key}' (a nil value)");
        var type = TypeName(t);
        if (type is "number" or "boolean")
            throw new InvalidOperationException($"attempt to index a {type} value (field '{key}')");
        return Get(t, key);
    }

    private static JsonNode? And(JsonNode? a, Func<JsonNode?> b) => Truthy(a) ? b() : a;
}
