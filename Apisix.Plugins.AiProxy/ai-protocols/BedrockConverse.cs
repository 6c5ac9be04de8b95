using System.Text.Json.Nodes;
using Apisix.Core.Json;
using static Apisix.Plugins.AiProxy.AiProtocols.LuaOps;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/bedrock-converse.lua</c>: the Amazon Bedrock
/// Converse API. Its stream is AWS EventStream framing, so <see cref="ParseSseEvent"/> reads
/// <c>{headers, payload}</c> events rather than SSE ones. The Lua module has no
/// <c>is_data_event</c>, <c>is_done_event</c> or <c>build_done_event</c>: those raise here
/// as calling a missing function does in Lua.
/// </summary>
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

    /// <summary><c>is_streaming</c>: the gateway's own <c>stream: true</c> opt-in (Bedrock picks streaming by URL).</summary>
    public bool IsStreaming(JsonNode? body) => IsTable(body) && IsTrue(Get(body, "stream"));

    /// <summary><c>prepare_outgoing_request</c>: drops the gateway-only <c>stream</c> field, which Bedrock would reject.</summary>
    public bool PrepareOutgoingRequest(JsonNode? body)
    {
        // a JSON null here is cjson.null in Lua, which is not nil: it gets removed too
        if (body is JsonObject o && o.ContainsKey("stream"))
        {
            o.Remove("stream");
            return true;
        }
        Index(body, "stream", "local 'body'");
        return false;
    }

    /// <summary><c>parse_sse_event</c>: one decoded EventStream message (<c>headers</c>, <c>payload</c>).</summary>
    public JsonObject? ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state)
    {
        var headers = ev["headers"];
        if (!IsTable(headers)) return new JsonObject { ["type"] = "skip" };

        var messageType = Get(headers, ":message-type");
        if (StringEquals(messageType, "exception") || StringEquals(messageType, "error"))
        {
            var errType = Or(Or(Get(headers, ":exception-type"), Get(headers, ":error-code")), "unknown");
            // the payload may echo prompt or completion text: only its size is logged
            Warn(ctx, "Bedrock streaming exception: type=", errType, ", payload_size=", PayloadLength(ev["payload"]));
            return new JsonObject { ["type"] = "done" };
        }

        var eventType = Get(headers, ":event-type");
        if (!Truthy(eventType)) return new JsonObject { ["type"] = "skip" };

        if (StringEquals(eventType, "contentBlockDelta"))
        {
            var (data, err) = DecodeNullAsNil(ev["payload"]);
            if (!Truthy(data))
            {
                Warn(ctx, "failed to decode contentBlockDelta payload: ", err);
                return new JsonObject { ["type"] = "skip" };
            }
            var delta = Index(data, "delta", "local 'data'");
            if (IsTable(delta) && IsString(Get(delta, "text"), out var text))
                return new JsonObject { ["type"] = "delta", ["texts"] = new JsonArray(text) };
            // tool-use input fragments and other deltas carry no response text
            return new JsonObject { ["type"] = "skip" };
        }

        if (StringEquals(eventType, "messageStop")) return new JsonObject { ["type"] = "done" };

        if (StringEquals(eventType, "metadata"))
        {
            var (data, err) = DecodeNullAsNil(ev["payload"]);
            if (!Truthy(data) || !IsTable(Index(data, "usage", "local 'data'")))
            {
                if (err != null) Warn(ctx, "failed to decode metadata payload: ", err);
                return new JsonObject { ["type"] = "skip" };
            }
            var raw = Get(data, "usage")!;
            return new JsonObject
            {
                ["type"] = "usage_and_done",
                ["usage"] = UsageOf(raw),
                ["raw_usage"] = Clone(raw),
            };
        }

        // messageStart, contentBlockStart, contentBlockStop: nothing to record
        return new JsonObject { ["type"] = "skip" };
    }

    /// <summary><c>#(event.payload or "")</c>.</summary>
    private static long PayloadLength(JsonNode? payload)
    {
        if (!Truthy(payload)) return 0;
        if (IsString(payload, out var s)) return s.Length;
        if (IsTable(payload)) return Len(payload);
        throw new InvalidOperationException($"attempt to get length of a {TypeName(payload)} value");
    }

    private static JsonObject UsageOf(JsonNode raw) => new()
    {
        ["prompt_tokens"] = OrZero(Get(raw, "inputTokens")),
        ["completion_tokens"] = OrZero(Get(raw, "outputTokens")),
        ["total_tokens"] = Truthy(Get(raw, "totalTokens"))
            ? Clone(Get(raw, "totalTokens"))!
            : Add(Or(Get(raw, "inputTokens"), 0L), Or(Get(raw, "outputTokens"), 0L)),
    };

    /// <summary><c>extract_usage</c>: <c>usage.inputTokens</c>/<c>outputTokens</c>/<c>totalTokens</c> and the raw usage.</summary>
    public (JsonObject? Usage, JsonNode? RawUsage) ExtractUsage(JsonNode? resBody)
    {
        if (!IsTable(resBody) || !IsTable(Get(resBody, "usage"))) return (null, null);
        var raw = Get(resBody, "usage")!;
        return (UsageOf(raw), raw);
    }

    /// <summary><c>extract_response_text</c>: the text blocks of <c>output.message.content</c>, joined by spaces.</summary>
    public string? ExtractResponseText(JsonNode? resBody)
    {
        if (!IsTable(resBody)) return null;
        var output = Get(resBody, "output");
        var message = Truthy(output) ? Index(output, "message", "field 'output'") : output;
        if (!IsTable(message) || !IsTable(Get(message, "content"))) return null;
        var texts = new List<JsonNode?>();
        foreach (var block in IPairs(Get(message, "content")))
            if (IsTable(block) && IsString(Get(block, "text"))) texts.Add(Get(block, "text"));
        return texts.Count > 0 ? Concat(texts, " ") : null;
    }

    /// <summary><c>extract_request_content</c>: system block texts, then every message's text blocks.</summary>
    public JsonArray ExtractRequestContent(JsonNode? body)
    {
        var contents = new JsonArray();
        var system = Index(body, "system", "local 'body'");
        if (IsTable(system))
        {
            foreach (var block in IPairs(system))
                if (IsTable(block) && IsString(Get(block, "text"), out var t)) contents.Add(t);
        }
        var messages = Get(body, "messages");
        if (IsTable(messages))
        {
            foreach (var message in IPairs(messages))
            {
                if (!IsTable(message)) continue;
                var content = Get(message, "content");
                if (!IsTable(content)) continue;
                foreach (var block in IPairs(content))
                    if (IsTable(block) && IsString(Get(block, "text"), out var t)) contents.Add(t);
            }
        }
        return contents;
    }

    /// <summary><c>get_messages</c>: the system blocks as one system message, each message's text blocks flattened.</summary>
    public JsonNode GetMessages(JsonNode? body)
    {
        var messages = new JsonArray();
        var system = Index(body, "system", "local 'body'");
        if (IsTable(system))
        {
            var texts = TextsOf(system!);
            if (texts.Count > 0)
                messages.Add(new JsonObject { ["role"] = "system", ["content"] = Concat(texts, " ") });
        }
        var bodyMessages = Get(body, "messages");
        if (IsTable(bodyMessages))
        {
            foreach (var message in IPairs(bodyMessages))
            {
                if (!IsTable(message)) continue;
                var content = Get(message, "content");
                if (!IsTable(content)) continue;
                var texts = TextsOf(content!);
                if (texts.Count > 0)
                    messages.Add(Table(("role", Clone(Get(message, "role"))), ("content", Concat(texts, " "))));
            }
        }
        return messages;
    }

    private static List<JsonNode?> TextsOf(JsonNode blocks)
    {
        var texts = new List<JsonNode?>();
        foreach (var block in IPairs(blocks))
            if (IsTable(block) && IsString(Get(block, "text"))) texts.Add(Get(block, "text"));
        return texts;
    }

    /// <summary><c>prepend_messages</c>: system messages go before <c>body.system</c>, the others before <c>body.messages</c>.</summary>
    public void PrependMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;

        var (newSystemBlocks, newChatMessages) = Split(msgs);

        if (newSystemBlocks.Count > 0)
        {
            if (!IsTable(Index(body, "system", "local 'body'")))
                SetField(body, "system", new JsonArray(), "local 'body'");
            var merged = new JsonArray();
            foreach (var block in newSystemBlocks) merged.Add(block);
            foreach (var block in IPairs(Get(body, "system"))) merged.Add(Clone(block));
            SetField(body, "system", merged, "local 'body'");
        }

        if (newChatMessages.Count > 0)
        {
            if (!IsTable(Index(body, "messages", "local 'body'")))
                SetField(body, "messages", new JsonArray(), "local 'body'");
            var merged = new JsonArray();
            foreach (var msg in newChatMessages) merged.Add(msg);
            foreach (var msg in IPairs(Get(body, "messages"))) merged.Add(Clone(msg));
            SetField(body, "messages", merged, "local 'body'");
        }
    }

    // {role, content} messages as Bedrock system blocks and chat messages
    private static (List<JsonNode> System, List<JsonNode> Chat) Split(JsonArray msgs)
    {
        var system = new List<JsonNode>();
        var chat = new List<JsonNode>();
        foreach (var msg in IPairs(msgs))
        {
            if (StringEquals(Index(msg, "role", "local 'msg'"), "system"))
                system.Add(SystemBlock(msg));
            else
                chat.Add(ChatMessage(msg));
        }
        return (system, chat);
    }

    private static JsonObject SystemBlock(JsonNode msg) => Table(("text", Clone(Get(msg, "content"))));

    private static JsonObject ChatMessage(JsonNode msg) => Table(
        ("role", Clone(Get(msg, "role"))),
        ("content", new JsonArray(Table(("text", Clone(Get(msg, "content")))))));

    /// <summary><c>append_messages</c>: system messages go after <c>body.system</c>, the others after <c>body.messages</c>.</summary>
    public void AppendMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;

        foreach (var msg in IPairs(msgs))
        {
            if (StringEquals(Index(msg, "role", "local 'msg'"), "system"))
            {
                if (!IsTable(Index(body, "system", "local 'body'")))
                    SetField(body, "system", new JsonArray(), "local 'body'");
                InsertTarget((JsonObject)body!, "system").Add(SystemBlock(msg));
            }
            else
            {
                if (!IsTable(Index(body, "messages", "local 'body'")))
                    SetField(body, "messages", new JsonArray(), "local 'body'");
                InsertTarget((JsonObject)body!, "messages").Add(ChatMessage(msg));
            }
        }
    }

    /// <summary><c>get_request_content</c>: <c>body.messages</c>.</summary>
    public JsonNode? GetRequestContent(JsonNode? body) => Index(body, "messages", "local 'body'");

    /// <summary><c>build_deny_response</c>: a Converse response carrying the refusal text (never a stream).</summary>
    public string BuildDenyResponse(JsonObject? opts)
    {
        if (opts == null) throw new InvalidOperationException("attempt to index local 'opts' (a nil value)");
        return CJson.Encode(Table(
            ("output", new JsonObject
            {
                ["message"] = new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = new JsonArray(Table(("text", Clone(opts["text"])))),
                },
            }),
            ("stopReason", "end_turn"),
            ("usage", Clone(opts["usage"]))));
    }

    /// <summary><c>empty_usage</c>: in Bedrock's field names.</summary>
    public JsonObject EmptyUsage() =>
        new() { ["inputTokens"] = 0L, ["outputTokens"] = 0L, ["totalTokens"] = 0L };

    /// <summary><c>build_simple_request</c>: one user message, the system prompt as a system block, <c>max_tokens</c> as inferenceConfig.</summary>
    public JsonObject BuildSimpleRequest(string? systemPrompt, JsonNode? userContent, JsonObject? opts)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(Table(("text", Clone(userContent)))),
            }),
        };
        if (systemPrompt != null) body["system"] = new JsonArray(new JsonObject { ["text"] = systemPrompt });
        if (opts != null && Truthy(opts["max_tokens"]))
            body["inferenceConfig"] = new JsonObject { ["maxTokens"] = Clone(opts["max_tokens"]) };
        return body;
    }

    /// <summary>Not in the Lua module: calling it is an error there too.</summary>
    public bool IsDataEvent(JsonObject ev) =>
        throw new InvalidOperationException("attempt to call field 'is_data_event' (a nil value)");

    /// <summary>Not in the Lua module: calling it is an error there too.</summary>
    public bool IsDoneEvent(JsonObject ev) =>
        throw new InvalidOperationException("attempt to call field 'is_done_event' (a nil value)");

    /// <summary>Not in the Lua module: calling it is an error there too.</summary>
    public string BuildDoneEvent() =>
        throw new InvalidOperationException("attempt to call field 'build_done_event' (a nil value)");
}
