using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// One Kestrel server serving every endpoint of a network. The transport is chosen here and only
/// here: in-memory for the test runner, sockets for the gateway host.
/// </summary>
public sealed class HttpServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpServerHost(WebApplication app) => _app = app;

    /// <summary>Kestrel stops at 100 header lines by default; nginx has no such count.</summary>
    public const int NginxHeaderLineCeiling = 1 << 20;

    public static async Task<HttpServerHost> StartInMemoryAsync(LoopbackNetwork network, RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IConnectionListenerFactory>(new InMemoryTransportFactory(network));
        builder.WebHost.UseKestrel(o =>
        {
            ActLikeNginx(o, TimeSpan.FromSeconds(68));
            o.Listen(new IPEndPoint(IPAddress.Loopback, 1),
                lo => lo.Use(TlsConnectionMiddleware.Create(c => network.TlsFor(c.LocalEndPoint))).Use(UpgradeHeadMiddleware.Create()));
        });
        return await StartAsync(builder, handler);
    }

    /// <summary>
    /// The same server on Kestrel's socket transport: real ports, for the gateway host. Kestrel's
    /// own header limits are set high so that nginx's limits (checked in <see cref="Nginx"/>) answer
    /// as nginx does; <paramref name="configure"/> may add a logger or other services.
    /// </summary>
    public static async Task<HttpServerHost> StartSocketsAsync(IEnumerable<IPEndPoint> endpoints, RequestDelegate handler,
        Action<WebApplicationBuilder>? configure = null, TimeSpan? keepAliveTimeout = null,
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>? kestrel = null,
        IConnectionListenerFactory? transport = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // the workers' own sockets (ReactorTransportFactory) instead of Kestrel's socket transport
        if (transport != null) builder.Services.AddSingleton(transport);
        configure?.Invoke(builder);
        builder.WebHost.UseKestrel(o =>
        {
            ActLikeNginx(o, keepAliveTimeout ?? TimeSpan.FromSeconds(60));
            o.AllowSynchronousIO = false;
            kestrel?.Invoke(o);
            foreach (var ep in endpoints) o.Listen(ep, lo => lo.Use(UpgradeHeadMiddleware.Create()));
        });
        return await StartAsync(builder, handler);
    }

    // Kestrel's defaults that nginx does not share, the same on both transports.
    private static void ActLikeNginx(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions o, TimeSpan keepAlive)
    {
        o.AddServerHeader = false;
        // nginx passes header bytes through; keep one char per byte both ways.
        o.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        o.ResponseHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        o.Limits.MaxRequestBodySize = null;
        o.Limits.MinRequestBodyDataRate = null;
        o.Limits.MinResponseDataRate = null;
        o.Limits.KeepAliveTimeout = keepAlive;
        // nginx bounds header bytes (large_client_header_buffers), never the number of header lines.
        o.Limits.MaxRequestHeaderCount = NginxHeaderLineCeiling;
    }

    private static async Task<HttpServerHost> StartAsync(WebApplicationBuilder builder, RequestDelegate handler)
    {
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return new HttpServerHost(app);
    }

    /// <summary>Stop accepting, let requests in flight finish within <paramref name="grace"/>, then close.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        using var cts = new CancellationTokenSource(grace);
        try { await _app.StopAsync(cts.Token); } catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await _app.StopAsync(cts.Token); } catch (OperationCanceledException) { }
        await _app.DisposeAsync();
    }
}
