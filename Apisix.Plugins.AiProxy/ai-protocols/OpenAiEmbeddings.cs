using System.Text.Json.Nodes;
using Apisix.Core.Json;
using static Apisix.Plugins.AiProxy.AiProtocols.LuaOps;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/openai-embeddings.lua</c>: OpenAI embeddings
/// requests (detected by an <c>input</c> field); never streamed.
/// </summary>
public sealed class OpenAiEmbeddings : IAiProtocol
{
    public static readonly OpenAiEmbeddings Instance = new();

    /// <summary><c>matches</c>: the body has an <c>input</c> field.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx) =>
        body is JsonObject o && o.ContainsKey("input");

    /// <summary><c>is_streaming</c>: embeddings have no SSE.</summary>
    public bool IsStreaming(JsonNode? body) => false;

    /// <summary><c>extract_usage</c>: prompt and total tokens (no completion), and the raw usage.</summary>
    public (JsonObject? Usage, JsonNode? RawUsage) ExtractUsage(JsonNode? resBody)
    {
        if (!Truthy(resBody)) return (null, null);
        var usage = Index(resBody, "usage", "local 'res_body'");
        if (!Truthy(usage)) return (null, null);
        return (new JsonObject
        {
            ["prompt_tokens"] = OrZero(Index(usage, "prompt_tokens", "field 'usage'")),
            ["completion_tokens"] = 0L,
            ["total_tokens"] = OrZero(Index(usage, "total_tokens", "field 'usage'")),
        }, usage);
    }

    /// <summary><c>extract_response_text</c>: an embedding has no text.</summary>
    public string? ExtractResponseText(JsonNode? resBody) => null;

    /// <summary><c>parse_sse_event</c>: nothing to parse.</summary>
    public JsonObject? ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state) =>
        new() { ["type"] = "skip" };

    /// <summary><c>build_simple_request</c>: the user content as <c>input</c> (no system prompt).</summary>
    public JsonObject BuildSimpleRequest(string? systemPrompt, JsonNode? userContent, JsonObject? opts)
    {
        var body = Table(("input", Clone(userContent)));
        if (opts != null && Truthy(opts["model"])) body["model"] = Clone(opts["model"]);
        return body;
    }

    /// <summary><c>extract_request_content</c>: a string input, or the strings of an input list.</summary>
    public JsonArray ExtractRequestContent(JsonNode? body)
    {
        var contents = new JsonArray();
        if (!Truthy(body)) return contents;
        var input = Index(body, "input", "local 'body'");
        if (IsString(input, out var s))
        {
            contents.Add(s);
        }
        else if (IsTable(input))
        {
            foreach (var item in IPairs(input))
                if (IsString(item, out var text)) contents.Add(text);
        }
        return contents;
    }

    /// <summary><c>get_messages</c>: a string input as one user message.</summary>
    public JsonNode GetMessages(JsonNode? body)
    {
        var messages = new JsonArray();
        if (Truthy(body) && IsString(Index(body, "input", "local 'body'"), out var input))
            messages.Add(new JsonObject { ["role"] = "user", ["content"] = input });
        return messages;
    }

    /// <summary><c>prepend_messages</c>: embeddings take no messages.</summary>
    public void PrependMessages(JsonNode? body, JsonArray? msgs)
    {
    }

    /// <summary><c>append_messages</c>: embeddings take no messages.</summary>
    public void AppendMessages(JsonNode? body, JsonArray? msgs)
    {
    }

    /// <summary><c>get_request_content</c>: <c>body.input</c>.</summary>
    public JsonNode? GetRequestContent(JsonNode? body) =>
        Truthy(body) ? Index(body, "input", "local 'body'") : null;

    /// <summary><c>build_deny_response</c>: an OpenAI error object (never a stream).</summary>
    public string BuildDenyResponse(JsonObject? opts)
    {
        if (opts == null) throw new InvalidOperationException("attempt to index local 'opts' (a nil value)");
        return CJson.Encode(new JsonObject
        {
            ["error"] = Table(("message", Clone(opts["text"])), ("type", "content_policy_violation")),
        });
    }

    /// <summary><c>empty_usage</c>.</summary>
    public JsonObject EmptyUsage() =>
        new() { ["prompt_tokens"] = 0L, ["completion_tokens"] = 0L, ["total_tokens"] = 0L };

    /// <summary><c>is_data_event</c>: never.</summary>
    public bool IsDataEvent(JsonObject ev) => false;

    /// <summary><c>is_done_event</c>: never.</summary>
    public bool IsDoneEvent(JsonObject ev) => false;

    /// <summary><c>build_done_event</c>: nothing to send.</summary>
    public string BuildDoneEvent() => "";
}
