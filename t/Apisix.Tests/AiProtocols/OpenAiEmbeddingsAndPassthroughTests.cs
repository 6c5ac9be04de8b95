using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.AiProtocols;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProtocols;

public class OpenAiEmbeddingsTests
{
    private static readonly OpenAiEmbeddings P = OpenAiEmbeddings.Instance;

    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    [Fact]
    public void Never_streams_and_has_no_text()
    {
        P.IsStreaming(J("""{"input":"x","stream":true}""")).Should().BeFalse();
        P.ExtractResponseText(J("""{"data":[]}""")).Should().BeNull();
        Enc(P.ParseSseEvent(new JsonObject { ["type"] = "message", ["data"] = "{}" }, new ProtocolCtx(), new JsonObject()))
            .Should().Be("""{"type":"skip"}""");
    }

    [Fact]
    public void Usage_has_no_completion_tokens()
    {
        var (usage, raw) = P.ExtractUsage(J("""{"usage":{"prompt_tokens":8,"total_tokens":8}}"""));
        Enc(usage).Should().Be("""{"prompt_tokens":8,"completion_tokens":0,"total_tokens":8}""");
        Enc(raw).Should().Be("""{"prompt_tokens":8,"total_tokens":8}""");
        Enc(P.ExtractUsage(J("""{"usage":{}}""")).Usage).Should().Be("""{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}""");
        P.ExtractUsage(J("""{"data":[]}""")).Usage.Should().BeNull();
        P.ExtractUsage(null).Usage.Should().BeNull();
    }

    [Fact]
    public void Input_as_content_and_messages()
    {
        Enc(P.ExtractRequestContent(J("""{"input":["a",1,"b"]}"""))).Should().Be("""["a","b"]""");
        Enc(P.ExtractRequestContent(J("""{"input":"one"}"""))).Should().Be("""["one"]""");
        Enc(P.ExtractRequestContent(null)).Should().Be("[]");
        Enc(P.GetMessages(J("""{"input":"one"}"""))).Should().Be("""[{"role":"user","content":"one"}]""");
        Enc(P.GetMessages(J("""{"input":["one"]}"""))).Should().Be("[]");
        P.GetRequestContent(null).Should().BeNull();
        Enc(P.GetRequestContent(J("""{"input":["x"]}"""))).Should().Be("""["x"]""");

        var body = J("""{"input":"keep"}""");
        P.PrependMessages(body, new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "s" }));
        P.AppendMessages(body, new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "u" }));
        Enc(body).Should().Be("""{"input":"keep"}""");
    }

    [Fact]
    public void Simple_request_and_deny_response()
    {
        Enc(P.BuildSimpleRequest("ignored", "text", new JsonObject { ["model"] = "emb" }))
            .Should().Be("""{"input":"text","model":"emb"}""");
        P.BuildDenyResponse(new JsonObject { ["text"] = "no", ["stream"] = true })
            .Should().Be("""{"error":{"message":"no","type":"content_policy_violation"}}""");
        P.BuildDoneEvent().Should().Be("");
        P.IsDoneEvent(new JsonObject { ["data"] = "[DONE]" }).Should().BeFalse();
    }
}

public class PassthroughTests
{
    private static readonly Passthrough P = Passthrough.Instance;

    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    [Fact]
    public void Reads_nothing_but_the_stream_flag()
    {
        P.IsStreaming(J("""{"stream":true}""")).Should().BeTrue();
        P.IsStreaming(J("""[1]""")).Should().BeFalse();
        P.IsStreaming(null).Should().BeFalse();

        var body = J("""{"stream":true,"prompt":"x"}""");
        P.PrepareOutgoingRequest(body).Should().BeFalse();
        P.ExtractUsage(J("""{"usage":{"prompt_tokens":1}}""")).Should().Be(((JsonObject?)null, (JsonNode?)null));
        P.ExtractResponseText(J("""{"choices":[{"message":{"content":"a"}}]}""")).Should().BeNull();
        P.GetRequestContent(body).Should().BeNull();
        P.ExtractRequestContent(body).Should().BeEmpty();
        ((IAiProtocol)P).HasToolCall(J("""{"choices":[{"message":{"tool_calls":[{}]}}]}""")).Should().BeFalse();
        CJson.Encode(P.ParseSseEvent(new JsonObject { ["type"] = "message", ["data"] = "[DONE]" }, new ProtocolCtx(), new JsonObject()))
            .Should().Be("""{"type":"skip"}""");

        P.AppendMessages(body, new JsonArray(new JsonObject { ["content"] = "c" }));
        CJson.Encode(body).Should().Be("""{"stream":true,"prompt":"x"}""");
        P.BuildDenyResponse(new JsonObject { ["text"] = "t" }).Should().Be("");
        P.BuildDoneEvent().Should().Be("data: [DONE]");
    }
}
