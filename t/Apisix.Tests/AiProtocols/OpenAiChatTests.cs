using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Plugins.AiProxy.AiProtocols;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProtocols;

public class OpenAiChatTests
{
    private static readonly OpenAiChat P = OpenAiChat.Instance;

    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    private static JsonObject Ev(string type, string? data) => new() { ["type"] = type, ["data"] = data };

    [Fact]
    public void Streaming_needs_a_literal_true()
    {
        P.IsStreaming(J("""{"stream":true}""")).Should().BeTrue();
        P.IsStreaming(J("""{"stream":"true"}""")).Should().BeFalse();
        P.IsStreaming(J("""{}""")).Should().BeFalse();
        // Lua indexes the body without a guard
        FluentActions.Invoking(() => P.IsStreaming(null)).Should().Throw<InvalidOperationException>()
            .WithMessage("attempt to index local 'body' (a nil value)");
    }

    [Fact]
    public void Outgoing_stream_asks_for_usage()
    {
        var body = J("""{"stream":true,"messages":[]}""");
        P.PrepareOutgoingRequest(body).Should().BeTrue();
        Enc(body["stream_options"]).Should().Be("""{"include_usage":true}""");

        var plain = J("""{"messages":[]}""");
        P.PrepareOutgoingRequest(plain).Should().BeFalse();
        ((JsonObject)plain).ContainsKey("stream_options").Should().BeFalse();
    }

    [Fact]
    public void Sse_chunks_give_texts_tool_calls_usage_and_done()
    {
        var state = new JsonObject();
        var ctx = new ProtocolCtx();

        var delta = P.ParseSseEvent(Ev("message", """{"choices":[{"delta":{"content":"Hi"}},{"delta":{"content":" there"}}],"usage":null}"""), ctx, state)!;
        delta["type"]!.GetValue<string>().Should().Be("delta");
        Enc(delta["texts"]).Should().Be("""["Hi"," there"]""");
        delta.ContainsKey("usage").Should().BeFalse();
        Enc(delta["data"]!["choices"]![0]).Should().Be("""{"delta":{"content":"Hi"}}""");

        var tool = P.ParseSseEvent(Ev("message", """{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}"""), ctx, state)!;
        ((bool)tool["has_tool_call"]!).Should().BeTrue();
        tool.ContainsKey("texts").Should().BeFalse();

        var usage = P.ParseSseEvent(Ev("message",
            """{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}"""), ctx, state)!;
        usage["type"]!.GetValue<string>().Should().Be("usage");
        Enc(usage["usage"]).Should().Be(
            """{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"cache_read_input_tokens":2,"cache_creation_input_tokens":0,"reasoning_tokens":1}""");
        Enc(usage["raw_usage"]).Should().Contain("\"prompt_tokens\":9");

        Enc(P.ParseSseEvent(Ev("message", "[DONE]"), ctx, state)).Should().Be("""{"type":"done"}""");
        Enc(P.ParseSseEvent(Ev("message", "  \n"), ctx, state)).Should().Be("""{"type":"skip"}""");
        Enc(P.ParseSseEvent(Ev("ping", "{}"), ctx, state)).Should().Be("""{"type":"skip"}""");
    }

    [Fact]
    public void Sse_usage_falls_back_to_the_deepseek_cache_field()
    {
        var parsed = P.ParseSseEvent(Ev("message", """{"usage":{"prompt_tokens":5,"prompt_cache_hit_tokens":3}}"""),
            new ProtocolCtx(), new JsonObject())!;
        Enc(parsed["usage"]).Should().Be(
            """{"prompt_tokens":5,"completion_tokens":0,"total_tokens":0,"cache_read_input_tokens":3,"cache_creation_input_tokens":0,"reasoning_tokens":0}""");
    }

    [Fact]
    public void Undecodable_chunk_is_skipped_with_a_warning()
    {
        var logs = new List<(LogLevel, string)>();
        var ctx = new ProtocolCtx { Log = (l, m) => logs.Add((l, m)) };
        Enc(P.ParseSseEvent(Ev("message", "{oops"), ctx, new JsonObject())).Should().Be("""{"type":"skip"}""");
        logs.Should().ContainSingle().Which.Item1.Should().Be(LogLevel.Warn);
        logs[0].Item2.Should().StartWith("failed to decode SSE data: ");
        logs[0].Item2.Length.Should().BeGreaterThan("failed to decode SSE data: ".Length);
    }

    [Fact]
    public void Usage_defaults_and_sums()
    {
        var (usage, raw) = P.ExtractUsage(J("""{"usage":{"prompt_tokens":7,"completion_tokens":5}}"""));
        Enc(usage).Should().Be(
            """{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12,"cache_read_input_tokens":0,"cache_creation_input_tokens":0,"reasoning_tokens":0}""");
        Enc(raw).Should().Be("""{"prompt_tokens":7,"completion_tokens":5}""");

        // a reported total wins over the sum
        P.ExtractUsage(J("""{"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":99}}""")).Usage!["total_tokens"]!
            .GetValue<long>().Should().Be(99);
        P.ExtractUsage(J("""{"usage":"n/a"}""")).Should().Be(((JsonObject?)null, (JsonNode?)null));
        P.ExtractUsage(null).Usage.Should().BeNull();
    }

    [Fact]
    public void Response_text_tool_calls_and_end_user()
    {
        P.ExtractResponseText(J("""{"choices":[{"message":{"content":"a"}},{"message":{"content":null}},{"message":{"content":"b"}}]}"""))
            .Should().Be("a b");
        P.ExtractResponseText(J("""{"choices":[{"message":{}}]}""")).Should().Be("");
        P.ExtractResponseText(J("""{"choices":[]}""")).Should().BeNull();

        P.HasToolCall(J("""{"choices":[{"message":{"tool_calls":[{"id":"x"}]}}]}""")).Should().BeTrue();
        P.HasToolCall(J("""{"choices":[{"message":{"tool_calls":[]}}]}""")).Should().BeFalse();

        P.ExtractEndUserId(J("""{"user":"u1","safety_identifier":"s1"}""")).Should().Be("s1");
        P.ExtractEndUserId(J("""{"user":"u1"}""")).Should().Be("u1");
        P.ExtractEndUserId(J("""{"user":42}""")).Should().BeNull();
    }

    [Fact]
    public void Request_content_and_messages()
    {
        var body = J("""{"messages":[{"role":"user","content":"plain"},{"role":"user","content":[{"type":"text","text":"part"},{"type":"image_url"}]}]}""");
        Enc(P.ExtractRequestContent(body)).Should().Be("""["plain","part"]""");
        // the log view is the body's own list
        P.GetRequestContent(body).Should().BeSameAs(body["messages"]);
        P.GetMessages(body).Should().BeSameAs(body["messages"]);
        Enc(P.GetMessages(J("{}"))).Should().Be("[]");
    }

    [Fact]
    public void Prepend_and_append_keep_the_order()
    {
        var body = J("""{"messages":[{"role":"user","content":"q"}]}""");
        P.PrependMessages(body, new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "s" }));
        P.AppendMessages(body, new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "tail" }));
        Enc(body["messages"]).Should().Be(
            """[{"role":"system","content":"s"},{"role":"user","content":"q"},{"role":"user","content":"tail"}]""");

        var fresh = new JsonObject();
        P.AppendMessages(fresh, new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "x" }));
        Enc(fresh).Should().Be("""{"messages":[{"role":"user","content":"x"}]}""");

        var untouched = new JsonObject();
        P.PrependMessages(untouched, new JsonArray());
        untouched.Count.Should().Be(0);
    }

    [Fact]
    public void Simple_request_deny_response_and_events()
    {
        Enc(P.BuildSimpleRequest("sys", "hello", new JsonObject { ["model"] = "m" })).Should().Be(
            """{"messages":[{"role":"system","content":"sys"},{"role":"user","content":"hello"}],"stream":false,"model":"m"}""");
        Enc(P.BuildSimpleRequest(null, "hello", null)).Should().Be(
            """{"messages":[{"role":"user","content":"hello"}],"stream":false}""");

        var deny = (JsonObject)J(P.BuildDenyResponse(new JsonObject { ["text"] = "no", ["model"] = "m" }));
        deny["object"]!.GetValue<string>().Should().Be("chat.completion");
        Enc(deny["choices"]).Should().Be("""[{"index":0,"message":{"role":"assistant","content":"no"},"finish_reason":"stop"}]""");
        deny.ContainsKey("usage").Should().BeFalse();

        var streamed = P.BuildDenyResponse(new JsonObject { ["text"] = "no", ["stream"] = true });
        streamed.Should().StartWith("data: {").And.EndWith("\n\ndata: [DONE]");
        streamed.Should().Contain("\"delta\":{\"content\":\"no\"}");

        P.IsDataEvent(Ev("message", "{}")).Should().BeTrue();
        P.IsDataEvent(Ev("message", "[DONE]")).Should().BeFalse();
        P.IsDoneEvent(Ev("message", "[DONE]")).Should().BeTrue();
        P.BuildDoneEvent().Should().Be("data: [DONE]");
        Enc(P.EmptyUsage()).Should().Be("""{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}""");
    }
}
