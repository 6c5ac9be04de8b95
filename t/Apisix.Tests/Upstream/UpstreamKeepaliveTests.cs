using System.Net;
using System.Net.Sockets;
using System.Text;
using Apisix.Core.Upstream;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Upstream;

/// <summary>
/// The upstream keepalive pools over real loopback sockets: which connections are cached, which
/// are closed, and that a cached connection whose peer closes it leaves the pool.
/// </summary>
public class UpstreamKeepaliveTests : IAsyncLifetime
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _accepted = new();

    public Task InitializeAsync()
    {
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        foreach (var s in _accepted) s.Dispose();
        _listener.Stop();
        return Task.CompletedTask;
    }

    /// <summary>A connection that has carried one request and read the whole response.</summary>
    private async Task<(UpstreamHttpConnection Conn, Socket Server)> Exchanged(string response)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndpoint).Port);
        var server = await _listener.AcceptSocketAsync();
        _accepted.Add(server);
        var conn = new UpstreamHttpConnection(client.GetStream());
        (await conn.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), TimeSpan.FromSeconds(5)))
            .Should().Be(UpstreamFailure.None);
        await server.SendAsync(Encoding.ASCII.GetBytes(response));
        var (head, failure) = await conn.ReadHeadAsync(TimeSpan.FromSeconds(5), headRequest: false);
        head.Should().NotBeNull(failure.ToString());
        while (true)
        {
            var (data, f) = await conn.ReadBodyAsync(TimeSpan.FromSeconds(5));
            data.Should().NotBeNull(f.ToString());
            if (data!.Length == 0) break;
        }
        return (conn, server);
    }

    private const string Ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    private static UpstreamKeepalive.Target Target(int size = 4, int requests = 100, double idleSeconds = 30) =>
        new("http#127.0.0.1#80", size, TimeSpan.FromSeconds(idleSeconds), requests);

    [Fact]
    public async Task A_clean_response_caches_the_connection_and_the_next_take_gets_it()
    {
        var pools = new UpstreamKeepalive();
        var (conn, _) = await Exchanged(Ok);
        conn.Reusable.Should().BeTrue();
        await pools.SaveOrCloseAsync(Target(), conn);
        pools.IdleCount.Should().Be(1);
        pools.Take(Target()).Should().BeSameAs(conn);
        pools.Take(Target()).Should().BeNull();
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")]
    public async Task A_response_that_ends_the_connection_is_not_cached(string response)
    {
        var pools = new UpstreamKeepalive();
        var (conn, _) = await Exchanged(response);
        conn.Reusable.Should().BeFalse();
        await pools.SaveOrCloseAsync(Target(), conn);
        pools.IdleCount.Should().Be(0);
    }

    [Fact]
    public async Task A_connection_that_carried_its_last_allowed_request_is_closed()
    {
        var pools = new UpstreamKeepalive();
        var (conn, _) = await Exchanged(Ok);
        await pools.SaveOrCloseAsync(Target(requests: 1), conn);
        pools.IdleCount.Should().Be(0);
    }

    [Fact]
    public async Task A_full_pool_closes_its_oldest_connection()
    {
        var pools = new UpstreamKeepalive();
        var (first, _) = await Exchanged(Ok);
        var (second, _) = await Exchanged(Ok);
        await pools.SaveOrCloseAsync(Target(size: 1), first);
        await pools.SaveOrCloseAsync(Target(size: 1), second);
        pools.IdleCount.Should().Be(1);
        pools.Take(Target(size: 1)).Should().BeSameAs(second);
    }

    [Fact]
    public async Task A_cached_connection_leaves_the_pool_when_its_peer_closes_it()
    {
        var pools = new UpstreamKeepalive();
        var (conn, server) = await Exchanged(Ok);
        await pools.SaveOrCloseAsync(Target(), conn);
        pools.IdleCount.Should().Be(1);
        server.Shutdown(SocketShutdown.Both);
        server.Close();
        await Until(() => pools.IdleCount == 0);
        pools.IdleCount.Should().Be(0);
    }

    [Fact]
    public async Task A_cached_connection_leaves_the_pool_after_its_idle_timeout()
    {
        var pools = new UpstreamKeepalive();
        var (conn, _) = await Exchanged(Ok);
        await pools.SaveOrCloseAsync(Target(idleSeconds: 0.05), conn);
        await Until(() => pools.IdleCount == 0);
        pools.IdleCount.Should().Be(0);
    }

    [Fact]
    public async Task A_reused_connection_reads_its_next_response_through_the_read_posted_while_idle()
    {
        var pools = new UpstreamKeepalive();
        var (conn, server) = await Exchanged(Ok);
        await pools.SaveOrCloseAsync(Target(), conn);
        var again = pools.Take(Target())!;
        (await again.SendAsync(Encoding.ASCII.GetBytes("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"), TimeSpan.FromSeconds(5)))
            .Should().Be(UpstreamFailure.None);
        await server.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc"));
        var (head, _) = await again.ReadHeadAsync(TimeSpan.FromSeconds(5), headRequest: false);
        head!.Status.Should().Be(201);
        var (data, _) = await again.ReadBodyAsync(TimeSpan.FromSeconds(5));
        Encoding.ASCII.GetString(data!).Should().Be("abc");
        again.Requests.Should().Be(2);
    }

    /// <summary>Wait for <paramref name="cond"/>; 30 s is only a safety net for a loaded machine (the assertion after it says what failed).</summary>
    private static async Task Until(Func<bool> cond)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!cond() && DateTime.UtcNow < until) await Task.Delay(10);
    }

    [Fact]
    public async Task A_taken_connection_is_not_dropped_when_the_read_posted_while_idle_completes()
    {
        // the idle read completes with the next response: by then a request owns the connection,
        // so the pool has nothing to drop, and the connection can be cached again afterwards
        var pools = new UpstreamKeepalive();
        var (conn, server) = await Exchanged(Ok);
        await pools.SaveOrCloseAsync(Target(), conn);
        var again = pools.Take(Target())!;
        again.Parked.Should().BeFalse();
        (await again.SendAsync(Encoding.ASCII.GetBytes("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"), TimeSpan.FromSeconds(5)))
            .Should().Be(UpstreamFailure.None);
        await server.SendAsync(Encoding.ASCII.GetBytes(Ok));
        (await again.ReadHeadAsync(TimeSpan.FromSeconds(5), headRequest: false)).Head.Should().NotBeNull();
        while ((await again.ReadBodyAsync(TimeSpan.FromSeconds(5))).Data is { Length: > 0 }) { }
        await pools.SaveOrCloseAsync(Target(), again);
        again.Parked.Should().BeTrue();
        pools.IdleCount.Should().Be(1);
        pools.Take(Target()).Should().BeSameAs(again);
    }
}
