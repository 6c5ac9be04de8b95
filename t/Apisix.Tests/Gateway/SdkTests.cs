#pragma warning disable OPENAI001 // the Responses client is marked experimental in the SDK
using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Anthropic.Models.Messages;
using FluentAssertions;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using OpenAI.Responses;
using Xunit;

namespace Apisix.Tests.Gateway;

/// <summary>
/// The official OpenAI and Anthropic SDKs pointed at the gateway host on real loopback ports,
/// with ai-proxy / ai-proxy-multi routes in front of a mock provider. Each SDK must see the
/// status, body and Content-Type the provider sent.
/// </summary>
[Collection("gateway")]
public sealed class SdkTests(GatewayWorld world) : IClassFixture<GatewayWorld>
{
    private readonly RecordingHandler _seen = new();

    private OpenAIClientOptions OpenAiOptions(string path = "/v1") => new()
    {
        Endpoint = new Uri(world.Node, path),
        Transport = new HttpClientPipelineTransport(new HttpClient(_seen)),
        RetryPolicy = new ClientRetryPolicy(0),
    };

    private ChatClient Chat(string model, string path = "/v1") => new(model, new ApiKeyCredential("client-key"), OpenAiOptions(path));

    private AnthropicClient Anthropic(string basePath) => new()
    {
        BaseUrl = new Uri(world.Node, basePath).ToString().TrimEnd('/'),
        ApiKey = "client-key",
        HttpClient = new HttpClient(_seen),
        MaxRetries = 0,
    };

    private static MessageCreateParams Hello(string model, bool stream = false) => new()
    {
        MaxTokens = 64,
        Messages = [new UserMessageParam("hello")],
        Model = model,
    };

    [Fact]
    public async Task Chat_completion()
    {
        var result = await Chat("gpt-mock").CompleteChatAsync([new UserChatMessage("hello")]);
        result.Value.Content[0].Text.Should().Be("chat from mock (gpt-mock)");
        result.GetRawResponse().Status.Should().Be(200);
        _seen.Last.ContentType.Should().StartWith("application/json");
        result.Value.Usage.TotalTokenCount.Should().Be(9);
    }

    [Fact]
    public async Task Streaming_chat_arrives_chunk_by_chunk()
    {
        // the mock holds its last chunk until the SDK has the first piece of text: were the stream
        // buffered anywhere, that piece would come only with the end (after the mock's 30 s hold)
        world.Mock.HoldLastChunk = new(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var arrivals = new List<(int SentBefore, string Text)>();
            await foreach (var update in Chat("gpt-stream").CompleteChatStreamingAsync([new UserChatMessage("hello")]))
                foreach (var part in update.ContentUpdate)
                    if (part.Text.Length > 0)
                    {
                        arrivals.Add((world.Mock.ChunkSent.Count, part.Text));
                        world.Mock.HoldLastChunk.TrySetResult();
                    }
            string.Concat(arrivals.Select(a => a.Text)).Should().Be("one two three");
            _seen.Last.Status.Should().Be(200);
            _seen.Last.ContentType.Should().StartWith("text/event-stream");
            // the first piece reached the SDK before the mock had sent its last chunk: nothing buffered the stream
            var sent = world.Mock.ChunkSent.Count;
            sent.Should().BeGreaterThan(3);
            arrivals[0].SentBefore.Should().BeLessThan(sent);
        }
        finally { world.Mock.HoldLastChunk = null; }
    }

    [Fact]
    public async Task Embeddings()
    {
        var client = new EmbeddingClient("emb-mock", new ApiKeyCredential("client-key"), OpenAiOptions());
        var result = await client.GenerateEmbeddingAsync("hello");
        result.Value.ToFloats().ToArray().Should().Equal(0.25f, -0.5f, 0.75f);
        _seen.Last.Status.Should().Be(200);
        _seen.Last.ContentType.Should().StartWith("application/json");
    }

    [Fact]
    public async Task Responses()
    {
        var client = new ResponsesClient(new ApiKeyCredential("client-key"), new ResponsesClientOptions
        {
            Endpoint = new Uri(world.Node, "/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(_seen)),
            RetryPolicy = new ClientRetryPolicy(0),
        });
        var result = await client.CreateResponseAsync("resp-mock", "hello");
        result.Value.GetOutputText().Should().Be("responses from mock");
        _seen.Last.Status.Should().Be(200);
        _seen.Last.ContentType.Should().StartWith("application/json");
    }

    [Fact]
    public async Task Anthropic_messages_native()
    {
        var message = await Anthropic("/native").Messages.Create(Hello("claude-mock"));
        message.Content.Should().ContainSingle();
        message.Content[0].TryPickText(out var text).Should().BeTrue();
        text!.Text.Should().Be("anthropic from mock");
        _seen.Last.Status.Should().Be(200);
        _seen.Last.ContentType.Should().StartWith("application/json");
    }

    [Fact]
    public async Task Anthropic_messages_native_streaming()
    {
        var texts = new List<string>();
        await foreach (var ev in Anthropic("/native").Messages.CreateStreaming(Hello("claude-mock")))
            if (ev.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var t)) texts.Add(t!.Text);
        string.Concat(texts).Should().Be("one two");
        _seen.Last.ContentType.Should().StartWith("text/event-stream");
    }

    [Fact]
    public async Task Anthropic_messages_converted_to_openai_chat()
    {
        var message = await Anthropic("/converted").Messages.Create(Hello("gpt-converted"));
        message.Content[0].TryPickText(out var text).Should().BeTrue();
        text!.Text.Should().Be("chat from mock (gpt-converted)");
        _seen.Last.Status.Should().Be(200);
        _seen.Last.ContentType.Should().StartWith("application/json");
        world.Mock.Seen.Should().Contain(s => s.Path == "/v1/chat/completions" && s.Model == "gpt-converted");
    }

    [Fact]
    public async Task Anthropic_messages_converted_streaming()
    {
        var texts = new List<string>();
        await foreach (var ev in Anthropic("/converted").Messages.CreateStreaming(Hello("gpt-converted")))
            if (ev.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var t)) texts.Add(t!.Text);
        string.Concat(texts).Should().Be("one two three");
        _seen.Last.ContentType.Should().StartWith("text/event-stream");
    }

    [Theory]
    [InlineData("status-429", 429, MockAiUpstream.Body429, MockAiUpstream.ContentType429)]
    [InlineData("status-500", 500, MockAiUpstream.Body500, MockAiUpstream.ContentType500)]
    public async Task Upstream_error_reaches_the_openai_sdk_as_sent(string model, int status, string body, string contentType)
    {
        var act = () => Chat(model).CompleteChatAsync([new UserChatMessage("hello")]);
        var e = (await act.Should().ThrowAsync<ClientResultException>()).Which;
        e.Status.Should().Be(status);
        e.GetRawResponse()!.Content.ToString().Should().Be(body);
        e.GetRawResponse()!.Headers.TryGetValue("Content-Type", out var type).Should().BeTrue();
        type.Should().Be(contentType);
        _seen.Last.Should().Be(new RecordingHandler.Seen(status, contentType, body));
    }

    [Theory]
    [InlineData("status-429", 429, MockAiUpstream.Body429, MockAiUpstream.ContentType429)]
    [InlineData("status-500", 500, MockAiUpstream.Body500, MockAiUpstream.ContentType500)]
    public async Task Upstream_error_reaches_the_anthropic_sdk_as_sent(string model, int status, string body, string contentType)
    {
        var act = () => Anthropic("/native").Messages.Create(Hello(model));
        var e = (await act.Should().ThrowAsync<Exception>()).Which;
        e.Message.Should().Contain(status == 429 ? "rate limit reached" : "upstream exploded");
        _seen.Last.Should().Be(new RecordingHandler.Seen(status, contentType, body));
    }

    [Fact]
    public async Task Ai_proxy_multi_falls_back_from_a_500_instance()
    {
        var result = await Chat("ignored", "/multi/v1").CompleteChatAsync([new UserChatMessage("hello")]);
        result.Value.Content[0].Text.Should().Be("chat from mock (gpt-healthy)");
        _seen.Last.Status.Should().Be(200);
        world.Mock.Seen.Should().Contain(s => s.Model == "status-500");
    }
}
