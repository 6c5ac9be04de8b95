using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Plugins.AiProxy.AiProtocols;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProtocols;

public class BedrockConverseTests
{
    private static readonly BedrockConverse P = BedrockConverse.Instance;

    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    private static JsonObject Frame(string? payload, params (string, string)[] headers)
    {
        var h = new JsonObject();
        foreach (var (k, v) in headers) h[k] = v;
        return new JsonObject { ["headers"] = h, ["payload"] = payload };
    }

    [Fact]
    public void Stream_flag_is_the_gateway_opt_in_and_is_stripped()
    {
        var body = J("""{"messages":[],"stream":true}""");
        P.IsStreaming(body).Should().BeTrue();
        P.PrepareOutgoingRequest(body).Should().BeTrue();
        ((JsonObject)body).ContainsKey("stream").Should().BeFalse();
        P.PrepareOutgoingRequest(body).Should().BeFalse();
        // even "stream": false is a field Bedrock would reject
        P.PrepareOutgoingRequest(J("""{"stream":false}""")).Should().BeTrue();
    }

    [Fact]
    public void Eventstream_frames_give_delta_usage_and_done()
    {
        var ctx = new ProtocolCtx();
        var state = new JsonObject();
        Enc(P.ParseSseEvent(Frame("""{"delta":{"text":"Hi"}}""", (":event-type", "contentBlockDelta")), ctx, state))
            .Should().Be("""{"type":"delta","texts":["Hi"]}""");
        Enc(P.ParseSseEvent(Frame("""{"delta":{"toolUse":{"input":"{"}}}""", (":event-type", "contentBlockDelta")), ctx, state))
            .Should().Be("""{"type":"skip"}""");
        Enc(P.ParseSseEvent(Frame("{}", (":event-type", "messageStop")), ctx, state)).Should().Be("""{"type":"done"}""");

        var usage = P.ParseSseEvent(Frame("""{"usage":{"inputTokens":3,"outputTokens":2}}""", (":event-type", "metadata")), ctx, state)!;
        Enc(usage).Should().Be(
            """{"type":"usage_and_done","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5},"raw_usage":{"inputTokens":3,"outputTokens":2}}""");

        Enc(P.ParseSseEvent(Frame("{}", (":event-type", "messageStart")), ctx, state)).Should().Be("""{"type":"skip"}""");
        Enc(P.ParseSseEvent(Frame("{}"), ctx, state)).Should().Be("""{"type":"skip"}""");
        Enc(P.ParseSseEvent(new JsonObject { ["payload"] = "{}" }, ctx, state)).Should().Be("""{"type":"skip"}""");
    }

    [Fact]
    public void Exception_frame_ends_the_stream_and_logs_only_the_size()
    {
        var logs = new List<(LogLevel, string)>();
        var ctx = new ProtocolCtx { Log = (l, m) => logs.Add((l, m)) };
        Enc(P.ParseSseEvent(Frame("""{"message":"secret prompt"}""", (":message-type", "exception"), (":exception-type", "throttlingException")),
            ctx, new JsonObject())).Should().Be("""{"type":"done"}""");
        logs.Should().ContainSingle().Which.Should().Be((LogLevel.Warn, "Bedrock streaming exception: type=throttlingException, payload_size=27"));

        logs.Clear();
        P.ParseSseEvent(Frame(null, (":message-type", "error")), ctx, new JsonObject());
        logs[0].Item2.Should().Be("Bedrock streaming exception: type=unknown, payload_size=0");
    }

    [Fact]
    public void Metadata_without_usage_is_skipped_quietly()
    {
        var logs = new List<(LogLevel, string)>();
        var ctx = new ProtocolCtx { Log = (l, m) => logs.Add((l, m)) };
        Enc(P.ParseSseEvent(Frame("""{"metrics":{}}""", (":event-type", "metadata")), ctx, new JsonObject())).Should().Be("""{"type":"skip"}""");
        logs.Should().BeEmpty();
        P.ParseSseEvent(Frame("garbage", (":event-type", "metadata")), ctx, new JsonObject());
        logs.Should().ContainSingle().Which.Item2.Should().StartWith("failed to decode metadata payload: ");
    }

    [Fact]
    public void Response_usage_and_text()
    {
        var res = J("""{"output":{"message":{"role":"assistant","content":[{"text":"a"},{"toolUse":{}},{"text":"b"}]}},"usage":{"inputTokens":4,"outputTokens":6,"totalTokens":11}}""");
        P.ExtractResponseText(res).Should().Be("a b");
        Enc(P.ExtractUsage(res).Usage).Should().Be("""{"prompt_tokens":4,"completion_tokens":6,"total_tokens":11}""");
        Enc(P.ExtractUsage(J("""{"usage":{"inputTokens":4}}""")).Usage).Should().Be("""{"prompt_tokens":4,"completion_tokens":0,"total_tokens":4}""");
        P.ExtractResponseText(J("""{"output":{}}""")).Should().BeNull();
        ((IAiProtocol)P).HasToolCall(res).Should().BeFalse();
        ((IAiProtocol)P).ExtractEndUserId(J("""{"user":"u"}""")).Should().BeNull();
    }

    [Fact]
    public void Content_messages_prepend_and_append_route_system_blocks()
    {
        var body = J("""{"system":[{"text":"s1"},{"text":"s2"}],"messages":[{"role":"user","content":[{"text":"q"},{"image":{}},{"text":"r"}]},"junk"]}""");
        Enc(P.ExtractRequestContent(body)).Should().Be("""["s1","s2","q","r"]""");
        Enc(P.GetMessages(body)).Should().Be("""[{"role":"system","content":"s1 s2"},{"role":"user","content":"q r"}]""");

        var msgs = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = "first" },
            new JsonObject { ["role"] = "user", ["content"] = "hello" });
        var target = J("""{"system":[{"text":"old"}],"messages":[{"role":"user","content":[{"text":"q"}]}]}""");
        P.PrependMessages(target, msgs);
        Enc(target).Should().Be(
            """{"system":[{"text":"first"},{"text":"old"}],"messages":[{"role":"user","content":[{"text":"hello"}]},{"role":"user","content":[{"text":"q"}]}]}""");

        var empty = new JsonObject();
        P.AppendMessages(empty, msgs);
        Enc(empty).Should().Be("""{"system":[{"text":"first"}],"messages":[{"role":"user","content":[{"text":"hello"}]}]}""");
        P.GetRequestContent(empty).Should().BeSameAs(empty["messages"]);
    }

    [Fact]
    public void Simple_request_and_deny_response_and_missing_event_helpers()
    {
        Enc(P.BuildSimpleRequest("sys", "q", new JsonObject { ["max_tokens"] = 50 })).Should().Be(
            """{"messages":[{"role":"user","content":[{"text":"q"}]}],"system":[{"text":"sys"}],"inferenceConfig":{"maxTokens":50}}""");
        P.BuildDenyResponse(new JsonObject { ["text"] = "no", ["usage"] = P.EmptyUsage() }).Should().Be(
            """{"output":{"message":{"role":"assistant","content":[{"text":"no"}]}},"stopReason":"end_turn","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0}}""");
        // the Lua module has no such function
        FluentActions.Invoking(() => P.BuildDoneEvent()).Should().Throw<InvalidOperationException>();
    }
}
