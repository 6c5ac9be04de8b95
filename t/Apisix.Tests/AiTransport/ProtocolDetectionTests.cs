using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Plugins.AiProxy.AiProtocols;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

public class ProtocolDetectionTests
{
    private static JsonNode? J(string json) => CJson.Decode(json).Value;

    private static ProtocolCtx Uri(string? uri) => new() { Var = name => name == "uri" ? uri : null };

    [Theory]
    [InlineData("/x/converse", """{"messages":[]}""", "bedrock-converse")]
    [InlineData("/anthropic/v1/messages", """{"model":"m"}""", "anthropic-messages")]
    [InlineData("/v1/responses", """{"input":"hello"}""", "openai-responses")]
    [InlineData("/v1/responses", """{"messages":[{"role":"user"}]}""", "openai-chat")]
    [InlineData("/anything", """{"messages":{}}""", "openai-chat")]
    [InlineData("/anything", """{"input":null}""", "openai-embeddings")]
    [InlineData("/images", """{"prompt":"p"}""", "passthrough")]
    [InlineData("/images", """[1]""", "passthrough")]
    public void Detect_follows_the_detection_order(string uri, string body, string expected)
    {
        Init.Detect(J(body), Uri(uri)).Should().Be((expected, null));
    }

    [Fact]
    public void Detect_without_a_match_returns_the_error()
    {
        Init.Detect(J("{}"), new ProtocolCtx()).Should().Be(((string?)null, Init.NoMatchError));
        Init.Detect(J("\"text\""), Uri("/v1/messages")).Name.Should().BeNull();
        Init.Detect(null, Uri("/converse")).Name.Should().BeNull();
    }

    [Fact]
    public void Names_are_sorted_and_get_returns_the_registered_protocol()
    {
        Init.Names().Should().Equal("anthropic-messages", "bedrock-converse", "openai-chat",
            "openai-embeddings", "openai-responses", "passthrough");
        Init.Get("passthrough").Should().BeSameAs(Passthrough.Instance);
        Init.Get("nope").Should().BeNull();
    }
}

public class AnthropicParseSseEventTests
{
    private static JsonObject Parse(string type, string data, List<(LogLevel, string)>? logs = null)
    {
        var ctx = new ProtocolCtx { Log = logs == null ? null : (l, m) => logs.Add((l, m)) };
        return AnthropicMessages.Instance.ParseSseEvent(new JsonObject { ["type"] = type, ["data"] = data }, ctx, null);
    }

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    [Fact]
    public void Text_delta_becomes_a_delta()
    {
        Enc(Parse("content_block_delta", """{"delta":{"type":"text_delta","text":"Hi"}}""")).Should().Be("""{"type":"delta","texts":["Hi"]}""");
        Enc(Parse("content_block_delta", """{"delta":{"type":"input_json_delta","partial_json":"{"}}""")).Should().Be("""{"type":"skip"}""");
    }

    [Fact]
    public void Undecodable_delta_is_skipped_with_a_warning()
    {
        var logs = new List<(LogLevel, string)>();
        Enc(Parse("content_block_delta", "not json", logs)).Should().Be("""{"type":"skip"}""");
        logs.Should().ContainSingle().Which.Item1.Should().Be(LogLevel.Warn);
        logs[0].Item2.Should().StartWith("failed to decode SSE data: ");
    }

    [Fact]
    public void Tool_use_start_is_flagged()
    {
        Enc(Parse("content_block_start", """{"content_block":{"type":"tool_use","id":"t"}}""")).Should().Be("""{"type":"skip","has_tool_call":true}""");
        Enc(Parse("content_block_start", """{"content_block":{"type":"text"}}""")).Should().Be("""{"type":"skip"}""");
    }

    [Fact]
    public void Usage_from_message_delta_and_message_start()
    {
        var d = Parse("message_delta", """{"usage":{"output_tokens":7,"input_tokens":null}}""");
        Enc(d["usage"]).Should().Be("""{"prompt_tokens":0,"completion_tokens":7,"total_tokens":7}""");
        Enc(d["raw_usage"]).Should().Be("""{"output_tokens":7}""");

        var s = Parse("message_start", """{"message":{"usage":{"input_tokens":5,"output_tokens":1,"cache_read_input_tokens":2}}}""");
        Enc(s["usage"]).Should().Be("""{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,"cache_read_input_tokens":2,"cache_creation_input_tokens":0,"reasoning_tokens":0}""");
        Enc(Parse("message_start", """{"message":{}}""")).Should().Be("""{"type":"skip"}""");
    }

    [Fact]
    public void Stop_and_error_end_the_stream()
    {
        Enc(Parse("message_stop", "{}")).Should().Be("""{"type":"done"}""");
        var logs = new List<(LogLevel, string)>();
        Enc(Parse("error", """{"error":{"type":"rate_limit_error"}}""", logs)).Should().Be("""{"type":"done"}""");
        logs.Should().Equal((LogLevel.Warn, "Anthropic SSE error: type=rate_limit_error, message=unknown"));
        Enc(Parse("ping", "{}")).Should().Be("""{"type":"skip"}""");
    }
}
