using System.Collections.Concurrent;
using System.Net;
using Apisix.Core.Healthcheck;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Microsoft.AspNetCore.Http;

namespace Apisix.Tests.Healthcheck;

/// <summary>
/// An emulated nginx with two workers and the `upstream-healthcheck` shared dict (no Lua
/// needed), plus a probe target on 127.0.0.1:1980 whose answer the test sets through
/// <see cref="Status"/>. Outbound connects go through a counting wrapper of the nginx's seam.
/// </summary>
public sealed class HealthcheckWorld : IAsyncDisposable
{
    private HttpServerHost? _host;
    private int _status = 200;
    private int _connects;
    private bool _disposed;

    public LoopbackNetwork Network { get; } = new();
    public ErrorLog Log { get; } = new(LogLevel.Debug);
    public Nginx Nginx { get; }
    public ConcurrentQueue<(string Path, string? Host, string? Authorization)> Probes { get; } = new();

    /// <summary>What the target answers from now on.</summary>
    public int Status { get => Volatile.Read(ref _status); set => Volatile.Write(ref _status, value); }

    /// <summary>Outbound connection attempts made through the nginx (whatever their outcome).</summary>
    public int Connects => Volatile.Read(ref _connects);

    private HealthcheckWorld(int workers)
    {
        var conf = new HttpConf();
        conf.SharedDicts[HealthcheckManager.ShdictName] = 10 << 20;
        Nginx = new Nginx(conf, Network, Log, new LuaModules(), Path.GetTempPath(), workers);
        var inner = Nginx.TcpConnectAsync;
        Nginx.TcpConnectAsync = (host, port, ct) =>
        {
            Interlocked.Increment(ref _connects);
            return inner(host, port, ct);
        };
    }

    public static async Task<HealthcheckWorld> StartAsync(int workers = 2)
    {
        var w = new HealthcheckWorld(workers);
        w._host = await HttpServerHost.StartInMemoryAsync(w.Network, w.ServeAsync);
        w.Network.Bind(IPAddress.Loopback, 1980);
        return w;
    }

    private async Task ServeAsync(HttpContext http)
    {
        Probes.Enqueue((http.Request.Path.Value ?? "", http.Request.Headers.Host.ToString(), http.Request.Headers.Authorization.FirstOrDefault()));
        if (http.Request.Path.Value == "/hang")
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
            return;
        }
        http.Response.StatusCode = Status;
        http.Response.ContentLength = 2;
        await http.Response.WriteAsync("ok");
    }

    public LuaWorker Worker(int i = 0) => Nginx.Workers[i];

    /// <summary>Run <paramref name="f"/> on worker <paramref name="worker"/>'s loop.</summary>
    public Task<T> On<T>(int worker, Func<T> f) => Nginx.Workers[worker].Loop.RunAsync(() => Task.FromResult(f()));

    public Task<T> On<T>(Func<T> f) => On(0, f);

    public bool Logged(string text) => Log.Lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    public string Dump() => string.Join("\n", Log.Lines.TakeLast(80));

    /// <summary>Poll <paramref name="cond"/> until it holds, failing with the log tail after <paramref name="seconds"/>.</summary>
    public async Task Until(Func<Task<bool>> cond, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await cond())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}\n{Dump()}");
            await Task.Delay(20);
        }
    }

    public Task Until(Func<bool> cond, string what, double seconds = 30) => Until(() => Task.FromResult(cond()), what, seconds);

    /// <summary>Dispose the nginx only (the target stays up), as the end of a test block does.</summary>
    public async Task StopNginxAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await Nginx.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopNginxAsync();
        Network.Complete();
        if (_host != null) await _host.DisposeAsync();
    }
}
