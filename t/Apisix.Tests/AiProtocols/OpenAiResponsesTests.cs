using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Plugins.AiProxy.AiProtocols;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProtocols;

public class OpenAiResponsesTests
{
    private static readonly OpenAiResponses P = OpenAiResponses.Instance;

    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    private static JsonObject Ev(string type, string? data) => new() { ["type"] = type, ["data"] = data };

    private static ProtocolCtx Ctx(List<(LogLevel, string)>? logs = null) =>
        new() { Log = logs == null ? null : (l, m) => logs.Add((l, m)) };

    [Fact]
    public void Detection_needs_the_responses_path_and_an_input()
    {
        var ctx = new ProtocolCtx { Var = n => n == "uri" ? "/v1/responses" : null };
        P.Matches(J("""{"input":"hi"}"""), ctx).Should().BeTrue();
        P.Matches(J("""{"messages":[]}"""), ctx).Should().BeFalse();
        P.Matches(J("""{"input":"hi"}"""), new ProtocolCtx { Var = _ => "/v1/chat/completions" }).Should().BeFalse();
        P.IsStreaming(J("""{"stream":true}""")).Should().BeTrue();
    }

    [Fact]
    public void Text_delta_and_completed_event_with_usage_and_tools()
    {
        var state = new JsonObject();
        Enc(P.ParseSseEvent(Ev("response.output_text.delta", """{"delta":"Hel"}"""), Ctx(), state))
            .Should().Be("""{"type":"delta","texts":["Hel"]}""");
        Enc(P.ParseSseEvent(Ev("response.output_text.delta", """{"delta":5}"""), Ctx(), state))
            .Should().Be("""{"type":"skip"}""");

        var done = P.ParseSseEvent(Ev("response.completed",
            """{"response":{"usage":{"input_tokens":10,"output_tokens":3,"total_tokens":13,"input_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":2}},"output":[{"type":"message"},{"type":"function_call"}]}}"""),
            Ctx(), state)!;
        done["type"]!.GetValue<string>().Should().Be("usage_and_done");
        Enc(done["usage"]).Should().Be(
            """{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"cache_read_input_tokens":4,"reasoning_tokens":2}""");
        ((bool)done["has_tool_call"]!).Should().BeTrue();

        // no usage: still the end of the stream
        Enc(P.ParseSseEvent(Ev("response.completed", """{"response":{}}"""), Ctx(), state)).Should().Be("""{"type":"done"}""");
        foreach (var end in new[] { "response.failed", "response.incomplete", "error" })
            Enc(P.ParseSseEvent(Ev(end, "{}"), Ctx(), state)).Should().Be("""{"type":"done"}""");
        Enc(P.ParseSseEvent(Ev("response.created", "{}"), Ctx(), state)).Should().Be("""{"type":"skip"}""");
    }

    [Fact]
    public void Broken_completed_event_still_ends_the_stream()
    {
        var logs = new List<(LogLevel, string)>();
        Enc(P.ParseSseEvent(Ev("response.completed", "nope"), Ctx(logs), new JsonObject())).Should().Be("""{"type":"done"}""");
        logs.Should().ContainSingle().Which.Item2.Should().StartWith("failed to decode response.completed SSE data: ");
    }

    [Fact]
    public void Usage_text_and_tool_calls_of_a_response()
    {
        var res = J("""
            {"output":[{"type":"reasoning"},
                       {"type":"message","content":[{"type":"output_text","text":"one"},{"type":"refusal"},{"type":"output_text","text":"two"}]}],
             "usage":{"input_tokens":6,"output_tokens":4}}
            """);
        P.ExtractResponseText(res).Should().Be("one two");
        P.ExtractResponseText(J("""{"output":[]}""")).Should().BeNull();
        Enc(P.ExtractUsage(res).Usage).Should().Be(
            """{"prompt_tokens":6,"completion_tokens":4,"total_tokens":10,"cache_read_input_tokens":0,"cache_creation_input_tokens":0,"reasoning_tokens":0}""");
        P.HasToolCall(res).Should().BeFalse();
        P.HasToolCall(J("""{"output":[{"type":"function_call"}]}""")).Should().BeTrue();
        P.ExtractEndUserId(J("""{"safety_identifier":"sid"}""")).Should().Be("sid");
    }

    [Fact]
    public void Request_content_and_messages_cover_instructions_and_input_items()
    {
        var body = J("""
            {"instructions":"be nice",
             "input":["raw",{"role":"assistant","content":"earlier"},{"content":[{"type":"input_text","text":"part"}]},{"text":"t"}]}
            """);
        Enc(P.ExtractRequestContent(body)).Should().Be("""["raw","earlier","part","be nice"]""");
        Enc(P.GetMessages(body)).Should().Be(
            """[{"role":"system","content":"be nice"},{"role":"user","content":"raw"},{"role":"assistant","content":"earlier"},{"role":"user","content":"t"}]""");
        P.GetRequestContent(body).Should().BeSameAs(body["input"]);
    }

    [Fact]
    public void Prepend_goes_to_instructions_and_append_to_input()
    {
        var body = J("""{"instructions":"old","input":"question"}""");
        var msgs = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "a" }, new JsonObject { ["role"] = "system", ["content"] = "b" });
        P.PrependMessages(body, msgs);
        body["instructions"]!.GetValue<string>().Should().Be("a\nb\nold");
        P.AppendMessages(body, new JsonArray(new JsonObject { ["content"] = "more" }));
        body["input"]!.GetValue<string>().Should().Be("question\nmore");

        var listed = J("""{"input":[{"role":"user","content":"q"}]}""");
        P.AppendMessages(listed, new JsonArray(new JsonObject { ["content"] = "more" }));
        Enc(listed["input"]![1]).Should().Be("""{"type":"message","role":"user","content":"more"}""");

        var none = new JsonObject();
        P.PrependMessages(none, new JsonArray(new JsonObject { ["content"] = "only" }));
        Enc(none).Should().Be("""{"instructions":"only"}""");
    }

    [Fact]
    public void Simple_request_deny_response_and_done_event()
    {
        Enc(P.BuildSimpleRequest("sys", "hi", new JsonObject { ["model"] = "m" }))
            .Should().Be("""{"input":"hi","stream":false,"instructions":"sys","model":"m"}""");

        var deny = (JsonObject)J(P.BuildDenyResponse(new JsonObject { ["text"] = "blocked" }));
        deny["status"]!.GetValue<string>().Should().Be("completed");
        Enc(deny["output"]).Should().Be("""[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"blocked"}]}]""");

        var stream = P.BuildDenyResponse(new JsonObject { ["text"] = "blocked", ["stream"] = true });
        stream.Should().StartWith("event: response.output_text.delta\ndata: ").And.EndWith("\n\n");
        stream.Should().Contain("\n\nevent: response.completed\ndata: ");

        P.BuildDoneEvent().Should().Be(
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"output\":{}}}\n\n");
        P.IsDoneEvent(Ev("response.completed", "{}")).Should().BeTrue();
        P.IsDataEvent(Ev("response.output_text.delta", "{}")).Should().BeFalse();
        Enc(P.EmptyUsage()).Should().Be("""{"input_tokens":0,"output_tokens":0,"total_tokens":0}""");
    }
}
