using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Apisix.Core;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Apisix.Tests.AiTransport;

/// <summary>What the fake LLM server saw of one request.</summary>
public sealed record SeenRequest(string Method, string Target, List<(string Name, string Value)> Head, string Body, string ConnectionId);

/// <summary>
/// An emulated nginx (for its loopback network and connect seam) plus a fake LLM server on
/// 127.0.0.1:1980, both in memory; <see cref="Ctx"/> is an api_ctx of a request to the gateway.
/// </summary>
public sealed class AiUpstreamWorld : IAsyncDisposable
{
    private HttpServerHost? _host;

    public LoopbackNetwork Network { get; } = new();
    public ErrorLog Log { get; } = new(LogLevel.Debug);
    public Nginx Nginx { get; }
    public ApiCtx Ctx { get; }
    public ConcurrentQueue<SeenRequest> Seen { get; } = new();
    /// <summary>Lets the server's /chunks handler send its next piece.</summary>
    public SemaphoreSlim NextChunk { get; } = new(0);

    private AiUpstreamWorld(Action<HttpContext>? clientRequest)
    {
        Nginx = new Nginx(new HttpConf(), Network, Log, new LuaModules(), Path.GetTempPath());
        var client = new DefaultHttpContext();
        client.Request.Method = "POST";
        client.Request.Path = "/v1/chat/completions";
        clientRequest?.Invoke(client);
        var req = new NgxRequest(client, new ServerConf(), new LocationConf { Modifier = "", Pattern = "/" }, 1) { Nginx = Nginx };
        Ctx = new ApiCtx(req);
    }

    public static async Task<AiUpstreamWorld> StartAsync(Action<HttpContext>? clientRequest = null)
    {
        var w = new AiUpstreamWorld(clientRequest);
        w._host = await HttpServerHost.StartInMemoryAsync(w.Network, w.ServeAsync);
        w.Network.Bind(IPAddress.Loopback, 1980);
        return w;
    }

    private async Task ServeAsync(HttpContext http)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "/";
        using var ms = new MemoryStream();
        await http.Request.Body.CopyToAsync(ms);
        var items = http.Features.Get<IConnectionItemsFeature>()?.Items;
        var head = items != null && items.TryGetValue(RequestHeadLog.ItemKey, out var l) && l is RequestHeadLog log
            ? log.Take(http.Request.Method, raw) ?? new() : new();
        Seen.Enqueue(new SeenRequest(http.Request.Method, raw, head, Encoding.Latin1.GetString(ms.ToArray()), http.Connection.Id));

        var path = raw.Split('?')[0];
        var resp = http.Response;
        switch (path)
        {
            case "/chunks":
                resp.ContentType = "text/event-stream";
                foreach (var piece in new[] { "data: one\n\n", "data: two\n\n", "data: [DONE]\n\n" })
                {
                    await resp.Body.WriteAsync(Encoding.Latin1.GetBytes(piece));
                    await resp.Body.FlushAsync();
                    await NextChunk.WaitAsync(http.RequestAborted);
                }
                return;
            case "/hang":
                // never answers: the client's timeout must fire
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
                return;
            case "/stall-body":
                resp.ContentType = "text/event-stream";
                await resp.Body.WriteAsync("data: first\n\n"u8.ToArray());
                await resp.Body.FlushAsync();
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
                return;
            case "/no-content":
                resp.StatusCode = 204;
                return;
            case "/close":
                resp.Headers.Connection = "close";
                resp.ContentLength = 2;
                await resp.WriteAsync("ok");
                return;
            case "/error":
                resp.StatusCode = 429;
                resp.ContentType = "application/json";
                resp.ContentLength = 20;
                await resp.WriteAsync("{\"error\":\"slow down\"}"[..20]);
                return;
            default:
                var body = "{\"ok\":true}";
                resp.ContentType = "application/json";
                resp.ContentLength = body.Length;
                resp.Headers.Append("X-Multi", new Microsoft.Extensions.Primitives.StringValues(["a", "b"]));
                await resp.WriteAsync(body);
                return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        Network.Complete();
        if (_host != null) await _host.DisposeAsync();
    }
}
