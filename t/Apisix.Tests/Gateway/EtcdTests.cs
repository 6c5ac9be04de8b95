using System.Diagnostics;
using Apisix.Gateway;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace Apisix.Tests.Gateway;

/// <summary>
/// config_provider etcd against a real etcd: two host processes' worth of gateways (two hosts
/// in this process, each with its own ports, store and watcher) on one cluster, APISIX's key
/// layout under a prefix of the test's own.
/// </summary>
[Collection("gateway")]
public sealed class EtcdTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<GatewayHost> _hosts = new();
    private readonly List<string> _dirs = new();
    private EtcdServer? _own;
    private readonly string _prefix = "/apisix-t-" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>The shared etcd (from .ci/run), or one started here when there is none.</summary>
    private async Task<string> SharedEtcdAsync()
    {
        if (EtcdServer.SharedEndpoint is { } shared) return shared;
        _own = new EtcdServer();
        await _own.StartAsync();
        return _own.Endpoint;
    }

    private async Task<(GatewayHost Host, int Node, int Admin)> StartHostAsync(string etcd)
    {
        var dir = Path.Combine(Path.GetTempPath(), "apisix-gw-etcd-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "conf"));
        _dirs.Add(dir);
        var node = GatewayWorld.FreePort();
        var admin = GatewayWorld.FreePort();
        var host = await GatewayHost.StartAsync(new GatewayOptions
        {
            Prefix = dir,
            ShutdownGrace = TimeSpan.FromSeconds(2),
            ConfigYaml = $"""
                apisix:
                  node_listen: {node}
                deployment:
                  role: traditional
                  role_traditional:
                    config_provider: etcd
                  etcd:
                    host:
                      - "{etcd}"
                    prefix: "{_prefix}"
                    timeout: 3
                  admin:
                    admin_key:
                      - name: admin
                        key: {GatewayWorld.AdminKey}
                        role: admin
                    admin_listen:
                      ip: 127.0.0.1
                      port: {admin}
                nginx_config:
                  worker_processes: 1
                """,
        });
        _hosts.Add(host);
        return (host, node, admin);
    }

    private static Task<string> PutRouteAsync(int admin, string id, string body) =>
        RawHttp.ExchangeAsync(admin,
            $"PUT /apisix/admin/routes/{id} HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {GatewayWorld.AdminKey}\r\nConnection: close\r\n"
            + $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}");

    private static string Route(string uri, string text) =>
        $"{{\"uri\":\"{uri}\",\"plugins\":{{\"fault-injection\":{{\"abort\":{{\"http_status\":200,\"body\":\"{text}\"}}}}}}}}";

    [Fact]
    public async Task A_route_put_on_node_a_serves_on_node_b()
    {
        var etcd = await SharedEtcdAsync();
        var a = await StartHostAsync(etcd);
        var b = await StartHostAsync(etcd);
        var sw = Stopwatch.StartNew();
        var put = await PutRouteAsync(a.Admin, "r1", Route("/two-nodes", "served by b"));
        put.Should().StartWith("HTTP/1.1 201 Created").And.Contain($"\"key\":\"{_prefix}/routes/r1\"");
        (await GatewayWorld.EventuallyAsync(() => RawHttp.GetAsync(b.Node, "/two-nodes").Result.Contains("served by b"), 20)).Should().BeTrue();
        output.WriteLine($"PUT on A to served on B: {sw.ElapsedMilliseconds} ms");

        // a delete goes the same way
        await RawHttp.ExchangeAsync(a.Admin, $"DELETE /apisix/admin/routes/r1 HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {GatewayWorld.AdminKey}\r\nConnection: close\r\n\r\n");
        (await GatewayWorld.EventuallyAsync(() => RawHttp.GetAsync(b.Node, "/two-nodes").Result.StartsWith("HTTP/1.1 404"), 20)).Should().BeTrue();
    }

    [Fact]
    public async Task With_etcd_down_nodes_serve_admin_answers_503_and_both_recover()
    {
        _own = new EtcdServer();
        await _own.StartAsync();
        var a = await StartHostAsync(_own.Endpoint);
        var b = await StartHostAsync(_own.Endpoint);
        (await PutRouteAsync(a.Admin, "r1", Route("/before", "before the outage"))).Should().StartWith("HTTP/1.1 201");
        (await GatewayWorld.EventuallyAsync(() => RawHttp.GetAsync(b.Node, "/before").Result.Contains("before the outage"), 20)).Should().BeTrue();

        _own.Stop();
        (await RawHttp.GetAsync(b.Node, "/before")).Should().Contain("before the outage");
        (await RawHttp.GetAsync(a.Node, "/before")).Should().Contain("before the outage");
        var down = await PutRouteAsync(a.Admin, "r2", Route("/after", "after the outage"));
        down.Should().StartWith("HTTP/1.1 503").And.Contain("{\"error_msg\":\"has no healthy etcd endpoint available\"}");
        (await RawHttp.GetAsync(b.Node, "/before")).Should().Contain("before the outage");

        await _own.StartAsync();
        (await GatewayWorld.EventuallyAsync(() => PutRouteAsync(a.Admin, "r2", Route("/after", "after the outage")).Result.StartsWith("HTTP/1.1 201"), 30))
            .Should().BeTrue();
        (await GatewayWorld.EventuallyAsync(() => RawHttp.GetAsync(b.Node, "/after").Result.Contains("after the outage"), 30)).Should().BeTrue();
        ((global::Apisix.Gateway.Etcd.EtcdConfigSource)b.Host.Source).FullReads.Should().BeGreaterThan(1, "B read etcd whole again after the lost connection");
        b.Host.Nginx.ErrorLog.Lines.Should().Contain(l => l.Contains("[error]") && l.Contains("watchdir err: "));
    }

    [Fact]
    public async Task Start_fails_clearly_when_etcd_is_unreachable()
    {
        var act = () => StartHostAsync("http://127.0.0.1:" + GatewayWorld.FreePort());
        (await act.Should().ThrowAsync<GatewayStartException>()).Which.Message.Should().StartWith("all etcd nodes are unavailable");
    }

    public async Task DisposeAsync()
    {
        foreach (var h in _hosts) await h.StopAsync();
        _own?.Dispose();
        foreach (var d in _dirs) try { Directory.Delete(d, true); } catch (IOException) { }
    }
}
