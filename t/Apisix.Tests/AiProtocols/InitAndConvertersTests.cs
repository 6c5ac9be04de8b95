using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProtocols.Converters;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProtocols;

public class InitAndConvertersTests
{
    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    private static ProtocolCtx Uri(string uri) => new() { Var = n => n == "uri" ? uri : null };

    [Fact]
    public void Find_converter_needs_a_served_target()
    {
        var (conv, target) = Init.FindConverter("anthropic-messages", new[] { "openai-chat" });
        conv.Should().BeSameAs(AnthropicMessagesToOpenAiChat.Instance);
        target.Should().Be("openai-chat");

        Init.FindConverter("anthropic-messages", new[] { "bedrock-converse" }).Should().Be(((IAiConverter?)null, (string?)null));
        Init.FindConverter("openai-embeddings", new[] { "vertex-predict", "openai-chat" }).Converter
            .Should().BeSameAs(OpenAiEmbeddingsToVertexPredict.Instance);
        // no converter starts from openai-chat
        Converters.Find("openai-chat", new[] { "openai-chat", "vertex-predict" }).Converter.Should().BeNull();
        Converters.Find(null, new[] { "openai-chat" }).TargetProtocol.Should().BeNull();
    }

    [Fact]
    public void Message_helpers_follow_the_detected_protocol()
    {
        var anthropic = J("""{"system":"s","messages":[{"role":"user","content":"q"}]}""");
        Enc(Init.GetMessages(anthropic, Uri("/v1/messages"))).Should().Be(
            """[{"role":"system","content":"s"},{"role":"user","content":"q"}]""");
        // same body on a chat path is openai-chat: its own list, system string ignored
        Init.GetMessages(anthropic, Uri("/v1/chat/completions")).Should().BeSameAs(anthropic["messages"]);

        Enc(Init.GetMessages(J("{}"), Uri("/x"))).Should().Be("[]");
        Init.GetRequestContent(J("{}"), Uri("/x")).Should().BeNull();
        Enc(Init.GetRequestContent(J("""{"input":"e"}"""), Uri("/v1/embeddings"))).Should().Be("\"e\"");
    }

    [Fact]
    public void Prepend_falls_back_to_openai_chat_for_an_empty_body()
    {
        var body = new JsonObject();
        Init.PrependMessages(body, Uri("/x"), new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "s" }));
        Enc(body).Should().Be("""{"messages":[{"role":"system","content":"s"}]}""");

        var responses = J("""{"input":"q"}""");
        Init.AppendMessages(responses, Uri("/v1/responses"), new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "more" }));
        responses["input"]!.GetValue<string>().Should().Be("q\nmore");
    }

    [Fact]
    public void Vertex_request_from_embeddings_input()
    {
        var conv = OpenAiEmbeddingsToVertexPredict.Instance;
        var ctx = new ProtocolCtx();
        Enc(conv.ConvertRequest(J("""{"input":"one"}"""), ctx).Body).Should().Be("""{"instances":[{"content":"one"}]}""");
        Enc(conv.ConvertRequest(J("""{"input":["a",["b","c"]]}"""), ctx).Body)
            .Should().Be("""{"instances":[{"content":"a"},{"content":"b c"}]}""");
        conv.ConvertRequest(J("""{"input":["a",3]}"""), ctx).Error.Should().Be("unsupported input type at index 2");
        conv.ConvertRequest(J("""{"input":7}"""), ctx).Error.Should().Be("`input` must be string or array");
        conv.ConvertRequest(J("""{"model":"m"}"""), ctx).Error.Should().Be("`input` is required for embeddings");
        conv.ConvertRequest(null, ctx).Error.Should().Be("empty openai request");
    }

    [Fact]
    public void Vertex_response_to_embeddings_list()
    {
        var conv = OpenAiEmbeddingsToVertexPredict.Instance;
        var ctx = new ProtocolCtx { Var = n => n == "request_llm_model" ? "text-embedding" : null };
        var (body, err) = conv.ConvertResponse(J("""
            {"predictions":[{"embeddings":{"values":[0.5,1],"statistics":{"token_count":3}}},
                            {"embeddings":{"values":[2],"statistics":{"token_count":4}}}]}
            """), ctx);
        err.Should().BeNull();
        Enc(body).Should().Be(
            """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,1]},{"object":"embedding","index":1,"embedding":[2]}],""" +
            "\"model\":\"text-embedding\",\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}");

        conv.ConvertResponse(J("""{"predictions":[{"embeddings":{}}]}"""), ctx).Error.Should().Be("invalid embedding at index 1");
        conv.ConvertResponse(J("""{"error":{}}"""), ctx).Error.Should().Be("vertex response missing predictions");
        conv.ConvertResponse(J("\"x\""), ctx).Error.Should().Be("empty vertex response");
        conv.ConvertResponse(J("""{"predictions":[]}"""), new ProtocolCtx()).Body!["model"]!.GetValue<string>().Should().Be("unknown");
    }

    [Fact]
    public void Anthropic_converter_headers_through_the_interface()
    {
        IAiConverter conv = AnthropicMessagesToOpenAiChat.Instance;
        var headers = new Dictionary<string, string>
        {
            ["x-api-key"] = "key", ["anthropic-beta"] = "b", ["x-stainless-lang"] = "js", ["accept"] = "*/*",
        };
        conv.ConvertHeaders(headers);
        headers.Should().BeEquivalentTo(new Dictionary<string, string> { ["accept"] = "*/*", ["authorization"] = "Bearer key" });

        var kept = new Dictionary<string, string> { ["x-api-key"] = "key", ["authorization"] = "Bearer mine" };
        conv.ConvertHeaders(kept);
        kept.Should().BeEquivalentTo(new Dictionary<string, string> { ["authorization"] = "Bearer mine" });
    }

    [Fact]
    public void Binding_fail_modes()
    {
        var logs = new List<(LogLevel, string)>();
        var ctx = new ProtocolCtx { Log = (l, m) => logs.Add((l, m)) };
        var body = new JsonObject { ["message"] = "bad" };

        Binding.OnUnsupported("error", "ai-x", ctx, "why", 400, body).Should().Be((true, (int?)400, (JsonNode?)body));
        logs.Should().BeEmpty();

        Binding.OnUnsupported("warn", "ai-x", ctx, "type\r\nforged: yes", 400, body).Handled.Should().BeFalse();
        logs.Should().ContainSingle().Which.Should().Be((LogLevel.Warn, "ai-x skipped: type  forged: yes"));

        logs.Clear();
        Binding.OnUnsupported("skip", "ai-x", ctx, null, 400, body);
        logs.Should().ContainSingle().Which.Should().Be((LogLevel.Info, "ai-x skipped: unsupported request protocol"));

        logs.Clear();
        Binding.OnUnsupported("skip", "p", ctx, new string('r', 300), null, null);
        logs[0].Item2.Should().Be("p skipped: " + new string('r', 256));

        var schema = Binding.SchemaProperty("skip");
        Enc(schema["enum"]).Should().Be("""["skip","warn","error"]""");
        schema["default"]!.GetValue<string>().Should().Be("skip");
    }
}
