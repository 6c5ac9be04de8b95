using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.AiTransport;
using static Apisix.Plugins.AiProxy.AiProtocols.LuaOps;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/openai-responses.lua</c>: the OpenAI Responses API
/// (<c>output[]</c> instead of <c>choices[]</c>, typed SSE events).
/// </summary>
public sealed class OpenAiResponses : IAiProtocol
{
    public static readonly OpenAiResponses Instance = new();

    /// <summary><c>matches</c>: the URI ends with <c>/v1/responses</c> and the body has an <c>input</c> field.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx)
    {
        var uri = ctx.Uri;
        return uri != null && uri.EndsWith("/v1/responses", StringComparison.Ordinal)
            && body is JsonObject o && o.ContainsKey("input");
    }

    /// <summary><c>is_streaming</c>: <c>body.stream == true</c>.</summary>
    public bool IsStreaming(JsonNode? body) => IsTrue(Index(body, "stream", "local 'body'"));

    /// <summary><c>parse_sse_event</c>: text deltas, usage on <c>response.completed</c>, and the terminal events.</summary>
    public JsonObject? ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state)
    {
        var evType = StringOf(ev["type"]);
        if (evType == "response.output_text.delta")
        {
            var (data, err) = DecodeNullAsNil(ev["data"]);
            if (!Truthy(data))
            {
                Warn(ctx, "failed to decode SSE data: ", err);
                return new JsonObject { ["type"] = "skip" };
            }
            if (IsString(Index(data, "delta", "local 'data'"), out var delta))
                return new JsonObject { ["type"] = "delta", ["texts"] = new JsonArray(delta) };
            return new JsonObject { ["type"] = "skip" };
        }

        if (evType == "response.completed")
        {
            var result = new JsonObject { ["type"] = "done" };
            var (data, err) = DecodeNullAsNil(ev["data"]);
            if (!Truthy(data))
            {
                Warn(ctx, "failed to decode response.completed SSE data: ", err);
                return result;
            }
            var resp = Index(data, "response", "local 'data'");
            if (IsTable(resp))
            {
                var usage = Get(resp, "usage");
                if (IsTable(usage))
                {
                    var itd = Get(usage, "input_tokens_details");
                    var otd = Get(usage, "output_tokens_details");
                    result["type"] = "usage_and_done";
                    result["usage"] = new JsonObject
                    {
                        ["prompt_tokens"] = OrZero(Get(usage, "input_tokens")),
                        ["completion_tokens"] = OrZero(Get(usage, "output_tokens")),
                        ["total_tokens"] = OrZero(Get(usage, "total_tokens")),
                        ["cache_read_input_tokens"] = OrZero(IsTable(itd) ? Get(itd, "cached_tokens") : null),
                        ["reasoning_tokens"] = OrZero(IsTable(otd) ? Get(otd, "reasoning_tokens") : null),
                    };
                    result["raw_usage"] = Clone(usage);
                }
                var output = Get(resp, "output");
                if (IsTable(output))
                {
                    foreach (var item in IPairs(output))
                    {
                        if (IsTable(item) && StringEquals(Get(item, "type"), "function_call"))
                        {
                            result["has_tool_call"] = true;
                            break;
                        }
                    }
                }
            }
            return result;
        }

        if (evType is "response.failed" or "response.incomplete" or "error")
            return new JsonObject { ["type"] = "done" };

        // every other event goes through untouched
        return new JsonObject { ["type"] = "skip" };
    }

    /// <summary><c>extract_response_text</c>: the output_text parts of the message items, joined by spaces.</summary>
    public string? ExtractResponseText(JsonNode? resBody)
    {
        var output = Index(resBody, "output", "local 'res_body'");
        if (!IsTable(output)) return null;
        var texts = new List<JsonNode?>();
        foreach (var item in IPairs(output))
        {
            if (IsTable(item) && StringEquals(Get(item, "type"), "message") && IsTable(Get(item, "content")))
            {
                foreach (var part in IPairs(Get(item, "content")))
                {
                    if (StringEquals(Index(part, "type", "local 'part'"), "output_text") && IsString(Get(part, "text")))
                        texts.Add(Get(part, "text"));
                }
            }
        }
        return texts.Count > 0 ? Concat(texts, " ") : null;
    }

    /// <summary><c>build_simple_request</c>: <c>input</c> plus the system prompt as <c>instructions</c>.</summary>
    public JsonObject BuildSimpleRequest(string? systemPrompt, JsonNode? userContent, JsonObject? opts)
    {
        var body = Table(("input", Clone(userContent)), ("stream", false));
        if (systemPrompt != null) body["instructions"] = systemPrompt;
        if (opts != null && Truthy(opts["model"])) body["model"] = Clone(opts["model"]);
        return body;
    }

    /// <summary><c>extract_usage</c>: input/output tokens mapped to prompt/completion, and the raw usage.</summary>
    public (JsonObject? Usage, JsonNode? RawUsage) ExtractUsage(JsonNode? resBody)
    {
        if (!IsTable(resBody) || !IsTable(Get(resBody, "usage"))) return (null, null);
        var raw = Get(resBody, "usage")!;
        var idetails = IsTable(Get(raw, "input_tokens_details")) ? Get(raw, "input_tokens_details") : null;
        var odetails = IsTable(Get(raw, "output_tokens_details")) ? Get(raw, "output_tokens_details") : null;
        var prompt = Or(Get(raw, "input_tokens"), 0L)!;
        var completion = Or(Get(raw, "output_tokens"), 0L)!;
        var total = Truthy(Get(raw, "total_tokens")) ? Clone(Get(raw, "total_tokens"))! : Add(prompt, completion);
        return (new JsonObject
        {
            ["prompt_tokens"] = prompt.DeepClone(),
            ["completion_tokens"] = completion.DeepClone(),
            ["total_tokens"] = total,
            ["cache_read_input_tokens"] = OrZero(Get(idetails, "cached_tokens")),
            ["cache_creation_input_tokens"] = 0L,
            ["reasoning_tokens"] = OrZero(Get(odetails, "reasoning_tokens")),
        }, raw);
    }

    /// <summary><c>has_tool_call</c>: some output item is a function_call.</summary>
    public bool HasToolCall(JsonNode? resBody)
    {
        if (!IsTable(resBody) || !IsTable(Get(resBody, "output"))) return false;
        foreach (var item in IPairs(Get(resBody, "output")))
            if (IsTable(item) && StringEquals(Get(item, "type"), "function_call")) return true;
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

    /// <summary><c>extract_request_content</c>: input strings, item contents and part texts, then the instructions.</summary>
    public JsonArray ExtractRequestContent(JsonNode? body)
    {
        var contents = new JsonArray();
        var input = Index(body, "input", "local 'body'");
        if (IsString(input, out var s))
        {
            contents.Add(s);
        }
        else if (IsTable(input))
        {
            foreach (var item in IPairs(input))
            {
                if (IsString(item))
                {
                    contents.Add(Clone(item));
                }
                else if (IsTable(item) && Truthy(Get(item, "content")))
                {
                    var content = Get(item, "content");
                    if (IsString(content))
                    {
                        contents.Add(Clone(content));
                    }
                    else if (IsTable(content))
                    {
                        foreach (var part in IPairs(content))
                            if (IsTable(part) && Truthy(Get(part, "text"))) contents.Add(Clone(Get(part, "text")));
                    }
                }
            }
        }
        var instructions = Get(body, "instructions");
        if (Truthy(instructions)) contents.Add(Clone(instructions));
        return contents;
    }

    /// <summary><c>get_messages</c>: instructions as a system message, then the input as user (or the item's role) messages.</summary>
    public JsonNode GetMessages(JsonNode? body)
    {
        var messages = new JsonArray();
        if (IsString(Index(body, "instructions", "local 'body'"), out var instr))
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = instr });
        var input = Get(body, "input");
        if (IsString(input, out var s))
        {
            messages.Add(new JsonObject { ["role"] = "user", ["content"] = s });
        }
        else if (IsTable(input))
        {
            foreach (var item in IPairs(input))
            {
                if (IsString(item, out var text))
                {
                    messages.Add(new JsonObject { ["role"] = "user", ["content"] = text });
                }
                else if (IsTable(item))
                {
                    var role = Or(Get(item, "role"), "user");
                    var content = Or(Get(item, "content"), Get(item, "text"));
                    if (IsString(content))
                        messages.Add(new JsonObject { ["role"] = Clone(role), ["content"] = Clone(content) });
                }
            }
        }
        return messages;
    }

    /// <summary><c>prepend_messages</c>: the messages' contents (newline-joined) go in front of the instructions.</summary>
    public void PrependMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;
        var prependText = Concat(ContentsOf(msgs), "\n");
        var instructions = Index(body, "instructions", "local 'body'");
        if (IsString(instructions, out var current))
            SetField(body, "instructions", prependText + "\n" + current, "local 'body'");
        else
            SetField(body, "instructions", prependText, "local 'body'");
    }

    /// <summary><c>append_messages</c>: the contents (newline-joined) extend a string input or become one more input item.</summary>
    public void AppendMessages(JsonNode? body, JsonArray? msgs)
    {
        if (msgs == null || Len(msgs) == 0) return;
        var appendText = Concat(ContentsOf(msgs), "\n");
        var input = Index(body, "input", "local 'body'");
        if (IsString(input, out var current))
        {
            SetField(body, "input", current + "\n" + appendText, "local 'body'");
        }
        else if (IsTable(input))
        {
            InsertTarget((JsonObject)body!, "input").Add(new JsonObject
            {
                ["type"] = "message",
                ["role"] = "user",
                ["content"] = appendText,
            });
        }
        else
        {
            SetField(body, "input", appendText, "local 'body'");
        }
    }

    // msg.content of each message; a nil content adds nothing (table.insert of nil)
    private static List<JsonNode?> ContentsOf(JsonArray msgs)
    {
        var parts = new List<JsonNode?>();
        foreach (var msg in IPairs(msgs))
        {
            var content = Index(msg, "content", "local 'msg'");
            if (content != null) parts.Add(content);
        }
        return parts;
    }

    /// <summary><c>get_request_content</c>: <c>body.input</c>.</summary>
    public JsonNode? GetRequestContent(JsonNode? body) => Index(body, "input", "local 'body'");

    /// <summary><c>build_deny_response</c>: a completed response (or its delta and completed events) carrying the refusal text.</summary>
    public string BuildDenyResponse(JsonObject? opts)
    {
        if (opts == null) throw new InvalidOperationException("attempt to index local 'opts' (a nil value)");
        var responseObj = Table(
            ("id", UuidV4()),
            ("object", "response"),
            ("status", "completed"),
            ("model", Clone(opts["model"])),
            ("output", new JsonArray(Table(
                ("type", "message"),
                ("role", "assistant"),
                ("content", new JsonArray(Table(("type", "output_text"), ("text", Clone(opts["text"])))))))),
            ("usage", Clone(opts["usage"])));
        if (Truthy(opts["stream"]))
        {
            var deltaEvent = Table(("type", "response.output_text.delta"), ("delta", Clone(opts["text"])));
            var completedEvent = Table(("type", "response.completed"), ("response", responseObj));
            return "event: response.output_text.delta\n"
                + "data: " + CJson.Encode(deltaEvent) + "\n\n"
                + "event: response.completed\n"
                + "data: " + CJson.Encode(completedEvent) + "\n\n";
        }
        return CJson.Encode(responseObj);
    }

    /// <summary><c>empty_usage</c>: in the Responses API's own field names.</summary>
    public JsonObject EmptyUsage() =>
        new() { ["input_tokens"] = 0L, ["output_tokens"] = 0L, ["total_tokens"] = 0L };

    /// <summary><c>is_data_event</c>: only <c>response.completed</c> carries what is parsed.</summary>
    public bool IsDataEvent(JsonObject ev) => StringEquals(ev["type"], "response.completed");

    /// <summary><c>is_done_event</c>.</summary>
    public bool IsDoneEvent(JsonObject ev) => StringEquals(ev["type"], "response.completed");

    /// <summary><c>build_done_event</c>: a minimal <c>response.completed</c> event.</summary>
    public string BuildDoneEvent() => Sse.Encode(new JsonObject
    {
        ["type"] = "response.completed",
        // an empty Lua table encodes as an object
        ["data"] = CJson.Encode(new JsonObject
        {
            ["type"] = "response.completed",
            ["response"] = new JsonObject { ["status"] = "completed", ["output"] = new JsonObject() },
        }),
    });
}
