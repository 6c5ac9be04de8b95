using System.Text;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.OpenResty.Net;
using Apisix.TestNginx.Client;

namespace Apisix.Tests.OpenResty;

/// <summary>
/// A small emulated OpenResty for library tests: the given http{}-level configuration (usually
/// two servers, 1984 and 1980) with <see cref="StandardLibs"/> registered, served in memory.
/// </summary>
public sealed class OpenRestyWorld : IAsyncDisposable
{
    private HttpServerHost? _host;

    private OpenRestyWorld(Nginx nginx, LoopbackNetwork net, ErrorLog log)
    {
        Nginx = nginx;
        Network = net;
        Log = log;
    }

    public Nginx Nginx { get; }
    public LoopbackNetwork Network { get; }
    public ErrorLog Log { get; }

    public static async Task<OpenRestyWorld> StartAsync(string httpConf)
    {
        var conf = new HttpConf();
        HttpConfBuilder.AddHttpDirectives(conf, NginxConfParser.Parse(httpConf));
        var net = new LoopbackNetwork();
        var log = new ErrorLog(LogLevel.Debug);
        var modules = new LuaModules();
        StandardLibs.Register(modules);
        var prefix = Path.Combine(Path.GetTempPath(), "openresty-world-" + Guid.NewGuid().ToString("N"));
        var nginx = new Nginx(conf, net, log, modules, prefix);
        var world = new OpenRestyWorld(nginx, net, log);
        world._host = await HttpServerHost.StartInMemoryAsync(net, nginx.HandleAsync);
        await nginx.StartAsync();
        return world;
    }

    /// <summary>A world with `location /t` running <paramref name="lua"/> on 1984, plus <paramref name="more"/> (server blocks or locations for 1980).</summary>
    public static Task<OpenRestyWorld> WithLuaAsync(string lua, string upstreamLocations = "") =>
        StartAsync($$"""
            server {
                listen 1984;
                location /t {
                    content_by_lua_block {
            {{lua}}
                    }
                }
            }
            server {
                listen 1980;
            {{upstreamLocations}}
            }
            """);

    /// <summary>Send a raw HTTP request (Latin-1 text) and read the response to EOF.</summary>
    public async Task<HttpResult> SendAsync(string rawRequest, int port = 1984)
    {
        var (stream, err) = Network.Connect("127.0.0.1", port);
        if (stream == null) throw new InvalidOperationException(err);
        return await RawHttpClient.SendAsync(stream, Encoding.Latin1.GetBytes(rawRequest), TimeSpan.FromSeconds(10));
    }

    public Task<HttpResult> GetAsync(string path, int port = 1984) =>
        SendAsync($"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", port);

    /// <summary>GET /t and return the body (fails the test on transport errors).</summary>
    public async Task<string> BodyAsync(string path = "/t")
    {
        var r = await GetAsync(path);
        if (r.Error != null) throw new InvalidOperationException(r.Error + "\n" + ErrorLines());
        return r.Body;
    }

    public string ErrorLines() => string.Join("\n", Log.Lines.Where(l => l.Contains("[error]") || l.Contains("[alert]")));

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        Network.Reset();
        Network.Complete();
        if (_host != null) await _host.DisposeAsync();
    }

    /// <summary>Run <paramref name="lua"/> and compare the body, showing all of it and the error log on a mismatch.</summary>
    public static async Task ExpectAsync(string lua, string expected, string upstreamLocations = "")
    {
        await using var w = await WithLuaAsync(lua, upstreamLocations);
        var body = await w.BodyAsync();
        if (body != expected)
            throw new Xunit.Sdk.XunitException($"body differs.\n--- expected ---\n{expected}\n--- actual ---\n{body}\n--- error.log ---\n{w.ErrorLines()}");
    }

    /// <summary>Run <paramref name="lua"/> as the content of GET /t in a fresh world; returns the body.</summary>
    public static async Task<string> RunAsync(string lua, string upstreamLocations = "")
    {
        await using var w = await WithLuaAsync(lua, upstreamLocations);
        var body = await w.BodyAsync();
        var errors = w.ErrorLines();
        if (errors.Length > 0) return body + "\n--- error.log ---\n" + errors;
        return body;
    }
}
