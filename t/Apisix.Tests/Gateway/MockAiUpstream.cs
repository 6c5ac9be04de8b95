using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Apisix.Tests.Gateway;

/// <summary>
/// The AI provider the gateway tests talk to, on a real loopback port. It is driven by the
/// request's <c>model</c>, so a test says what it wants in the request it sends:
/// <c>status-429</c> / <c>status-500</c> answer that status with a body and Content-Type of their
/// own; <c>reset-mid-stream</c> sends two SSE chunks and then resets the connection;
/// <c>hang-stream</c> sends one chunk and waits until the request is cancelled; any other model
/// answers normally (SSE when <c>stream</c> is true, chunks <see cref="ChunkDelay"/> apart).
/// Paths: OpenAI's chat, embeddings and responses, Anthropic's messages, and <c>/plain/*</c>.
/// </summary>
public sealed class MockAiUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    public const string Body429 = "{\"error\":{\"message\":\"mock: rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}";
    public const string ContentType429 = "application/json; charset=utf-8";
    public const string Body500 = "{\"error\":{\"message\":\"mock: upstream exploded\",\"type\":\"server_error\",\"code\":null}}";
    public const string ContentType500 = "application/json";

    private MockAiUpstream(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Time between SSE chunks of a normal stream.</summary>
    public TimeSpan ChunkDelay { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>When each chunk of the last normal stream left the mock (flushed).</summary>
    public ConcurrentQueue<DateTime> ChunkSent { get; } = new();

    /// <summary>
    /// When set, a normal stream holds its last chunk, and reset-mid-stream its reset, until this
    /// completes (or 30 s pass, so a test whose client never sees the earlier chunks fails instead
    /// of hanging).
    /// </summary>
    public TaskCompletionSource? HoldLastChunk { get; set; }

    /// <summary>Set when a hang-stream request was cancelled (the gateway closed its upstream connection).</summary>
    public TaskCompletionSource HangCancelled { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Requests seen: (path, model).</summary>
    public ConcurrentQueue<(string Path, string? Model, int BodyLength)> Seen { get; } = new();

    public void Reset()
    {
        ChunkSent.Clear();
        HangCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Seen.Clear();
    }

    public static async Task<MockAiUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        MockAiUpstream? self = null;
        app.Run(ctx => self!.HandleAsync(ctx));
        await app.StartAsync();
        var addr = app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer)) is Microsoft.AspNetCore.Hosting.Server.IServer s
            ? s.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First() : throw new InvalidOperationException();
        self = new MockAiUpstream(app, new Uri(addr).Port);
        return self;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        JsonObject? body = null;
        try { body = JsonNode.Parse(text) as JsonObject; } catch (System.Text.Json.JsonException) { }
        var model = body?["model"]?.GetValue<string>();
        var stream = body?["stream"]?.GetValue<bool>() == true;
        Seen.Enqueue((path, model, text.Length));

        if (path.StartsWith("/plain/", StringComparison.Ordinal))
        {
            // a header the upstream repeats, as a server setting two cookies does
            if (path == "/plain/cookies") ctx.Response.Headers.Append("Set-Cookie", new Microsoft.Extensions.Primitives.StringValues(["a=1", "b=2", "c=3"]));
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync($"plain {ctx.Request.Method} {path} {text.Length}\n");
            return;
        }
        switch (model)
        {
            case "status-429":
                ctx.Response.StatusCode = 429;
                ctx.Response.ContentType = ContentType429;
                await ctx.Response.WriteAsync(Body429);
                return;
            case "status-500":
                ctx.Response.StatusCode = 500;
                ctx.Response.ContentType = ContentType500;
                await ctx.Response.WriteAsync(Body500);
                return;
        }
        var anthropic = path.EndsWith("/v1/messages", StringComparison.Ordinal);
        if (stream)
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.StartAsync();
            var chunks = anthropic ? AnthropicStream(model) : ChatStream(model);
            if (model == "reset-mid-stream")
            {
                foreach (var c in chunks.Take(2)) { await ctx.Response.WriteAsync(c); await ctx.Response.Body.FlushAsync(); }
                // the reset comes once the test has seen those chunks through the gateway (or 30 s passed)
                if (HoldLastChunk is { } hold) await Task.WhenAny(hold.Task, Task.Delay(TimeSpan.FromSeconds(30)));
                ctx.Abort();
                return;
            }
            if (model == "hang-stream")
            {
                await ctx.Response.WriteAsync(chunks[0]);
                await ctx.Response.Body.FlushAsync();
                try { await Task.Delay(Timeout.Infinite, ctx.RequestAborted); }
                catch (OperationCanceledException) { HangCancelled.TrySetResult(); }
                return;
            }
            ChunkSent.Clear();
            for (var i = 0; i < chunks.Count; i++)
            {
                var c = chunks[i];
                if (i == chunks.Count - 1 && HoldLastChunk is { } hold)
                    await Task.WhenAny(hold.Task, Task.Delay(TimeSpan.FromSeconds(30)));
                await ctx.Response.WriteAsync(c);
                await ctx.Response.Body.FlushAsync();
                ChunkSent.Enqueue(DateTime.UtcNow);
                await Task.Delay(ChunkDelay);
            }
            return;
        }
        ctx.Response.ContentType = "application/json";
        if (path.EndsWith("/v1/embeddings", StringComparison.Ordinal))
        {
            await ctx.Response.WriteAsync("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.25,-0.5,0.75]}],"
                                          + "\"model\":\"" + model + "\",\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}");
        }
        else if (path.EndsWith("/v1/responses", StringComparison.Ordinal))
        {
            await ctx.Response.WriteAsync("{\"id\":\"resp_mock1\",\"object\":\"response\",\"created_at\":1700000000,\"status\":\"completed\",\"model\":\"" + model + "\","
                                          + "\"output\":[{\"type\":\"message\",\"id\":\"msg_mock1\",\"status\":\"completed\",\"role\":\"assistant\","
                                          + "\"content\":[{\"type\":\"output_text\",\"text\":\"responses from mock\",\"annotations\":[]}]}],"
                                          + "\"usage\":{\"input_tokens\":4,\"output_tokens\":3,\"total_tokens\":7,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens_details\":{\"reasoning_tokens\":0}},"
                                          + "\"parallel_tool_calls\":true,\"tool_choice\":\"auto\",\"tools\":[]}");
        }
        else if (anthropic)
        {
            await ctx.Response.WriteAsync("{\"id\":\"msg_mock1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"" + model + "\","
                                          + "\"content\":[{\"type\":\"text\",\"text\":\"anthropic from mock\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                                          + "\"usage\":{\"input_tokens\":5,\"output_tokens\":3}}");
        }
        else
        {
            await ctx.Response.WriteAsync("{\"id\":\"chatcmpl-mock1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"" + model + "\","
                                          + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"chat from mock (" + model + ")\"},\"finish_reason\":\"stop\"}],"
                                          + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4,\"total_tokens\":9}}");
        }
    }

    private static List<string> ChatStream(string? model)
    {
        var list = new List<string>();
        string Chunk(string delta, string? finish) =>
            "data: {\"id\":\"chatcmpl-mock2\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"" + model + "\","
            + "\"choices\":[{\"index\":0,\"delta\":{" + delta + "},\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}\n\n";
        list.Add(Chunk("\"role\":\"assistant\",\"content\":\"\"", null));
        foreach (var w in new[] { "one ", "two ", "three" }) list.Add(Chunk("\"content\":\"" + w + "\"", null));
        list.Add(Chunk("", "stop"));
        list.Add("data: [DONE]\n\n");
        return list;
    }

    private static List<string> AnthropicStream(string? model) =>
    [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"" + model + "\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"one two\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ];

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await _app.StopAsync(cts.Token); } catch (OperationCanceledException) { }
        await _app.DisposeAsync();
    }
}
