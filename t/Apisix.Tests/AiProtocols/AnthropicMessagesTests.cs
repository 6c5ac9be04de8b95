using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProtocols;

public class AnthropicMessagesTests
{
    private static readonly AnthropicMessages P = AnthropicMessages.Instance;
    private static readonly IAiProtocol Proto = AnthropicMessages.Instance;

    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    [Fact]
    public void Streaming_and_sse_through_the_interface()
    {
        P.IsStreaming(J("""{"stream":true}""")).Should().BeTrue();
        P.IsStreaming(J("""{"stream":1}""")).Should().BeFalse();

        var parsed = Proto.ParseSseEvent(
            new JsonObject { ["type"] = "message_start", ["data"] = """{"message":{"usage":{"input_tokens":20,"cache_read_input_tokens":5}}}""" },
            new ProtocolCtx(), new JsonObject())!;
        Enc(parsed["usage"]).Should().Be(
            """{"prompt_tokens":20,"completion_tokens":0,"total_tokens":20,"cache_read_input_tokens":5,"cache_creation_input_tokens":0,"reasoning_tokens":0}""");
        Enc(Proto.ParseSseEvent(new JsonObject { ["type"] = "message_stop", ["data"] = "{}" }, new ProtocolCtx(), new JsonObject()))
            .Should().Be("""{"type":"done"}""");
    }

    [Fact]
    public void Usage_total_is_always_the_sum()
    {
        var (usage, raw) = P.ExtractUsage(J("""{"usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":2}}"""));
        Enc(usage).Should().Be(
            """{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cache_read_input_tokens":0,"cache_creation_input_tokens":2,"reasoning_tokens":0}""");
        raw!["output_tokens"]!.GetValue<long>().Should().Be(5);
        P.ExtractUsage(J("""{"content":[]}""")).Usage.Should().BeNull();
    }

    [Fact]
    public void Text_tool_use_and_end_user()
    {
        var res = J("""{"content":[{"type":"thinking","thinking":"t"},{"type":"text","text":"x"},{"type":"tool_use","id":"1"},{"type":"text","text":"y"}]}""");
        P.ExtractResponseText(res).Should().Be("x y");
        P.ExtractResponseText(J("""{"content":[{"type":"tool_use"}]}""")).Should().BeNull();
        P.HasToolCall(res).Should().BeTrue();
        P.HasToolCall(J("""{"content":[{"type":"text","text":"x"}]}""")).Should().BeFalse();
        P.ExtractEndUserId(J("""{"metadata":{"user_id":"abc"}}""")).Should().Be("abc");
        P.ExtractEndUserId(J("""{"user":"abc"}""")).Should().BeNull();
    }

    [Fact]
    public void Request_content_and_flattened_messages()
    {
        var body = J("""
            {"system":"rules","messages":[{"role":"user","content":"hi"},
              {"role":"assistant","content":[{"type":"text","text":"a"},{"type":"tool_use"},{"type":"text","text":"b"}]},
              {"role":"user","content":[{"type":"tool_result","content":"r"}]}]}
            """);
        Enc(P.ExtractRequestContent(body)).Should().Be("""["hi","a","b"]""");
        Enc(P.GetMessages(body)).Should().Be(
            """[{"role":"system","content":"rules"},{"role":"user","content":"hi"},{"role":"assistant","content":"a b"}]""");
        P.GetRequestContent(body).Should().BeSameAs(body["messages"]);
    }

    [Fact]
    public void Prepend_and_append_copy_only_role_and_content()
    {
        var body = J("""{"messages":[{"role":"user","content":"q"}]}""");
        P.PrependMessages(body, new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "ctx", ["name"] = "dropped" }));
        P.AppendMessages(body, new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = "end" }));
        Enc(body["messages"]).Should().Be(
            """[{"role":"user","content":"ctx"},{"role":"user","content":"q"},{"role":"assistant","content":"end"}]""");
    }

    [Fact]
    public void Simple_request_defaults_max_tokens()
    {
        Enc(P.BuildSimpleRequest("sys", "q", null)).Should().Be(
            """{"messages":[{"role":"user","content":"q"}],"stream":false,"max_tokens":4096,"system":"sys"}""");
        P.BuildSimpleRequest(null, "q", new JsonObject { ["max_tokens"] = 10, ["model"] = "c" })["max_tokens"]!
            .GetValue<int>().Should().Be(10);
    }

    [Fact]
    public void Deny_response_as_message_or_event_sequence()
    {
        var msg = (JsonObject)J(P.BuildDenyResponse(new JsonObject { ["text"] = "nope", ["model"] = "claude" }));
        Enc(msg["content"]).Should().Be("""[{"type":"text","text":"nope"}]""");
        msg["stop_reason"]!.GetValue<string>().Should().Be("end_turn");

        var stream = P.BuildDenyResponse(new JsonObject { ["text"] = "nope", ["stream"] = true, ["usage"] = P.EmptyUsage() });
        var (events, rest) = Sse.DecodeBuf(stream);
        rest.Should().BeEmpty();
        string.Join(",", events.Select(e => (string)e!["type"]!)).Should().Be(
            "message_start,content_block_start,content_block_delta,content_block_stop,message_delta,message_stop");
        ((string)events[2]!["data"]!).Should().Be("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"nope"}}""");
        ((string)events[4]!["data"]!).Should().Contain("\"usage\":{\"input_tokens\":0,\"output_tokens\":0}");
    }

    [Fact]
    public void Event_helpers()
    {
        P.IsDataEvent(new JsonObject { ["type"] = "content_block_delta" }).Should().BeTrue();
        P.IsDataEvent(new JsonObject { ["type"] = "message_delta" }).Should().BeTrue();
        P.IsDataEvent(new JsonObject { ["type"] = "ping" }).Should().BeFalse();
        P.IsDoneEvent(new JsonObject { ["type"] = "message_stop" }).Should().BeTrue();
        P.BuildDoneEvent().Should().Be("event: message_stop\ndata: {}\n\n");
    }
}
