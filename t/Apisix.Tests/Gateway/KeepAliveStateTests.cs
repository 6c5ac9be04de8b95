using System.Net;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Gateway;

/// <summary>
/// Requests that follow one another on one keep-alive connection share the connection's state
/// (its number, its request count) and nothing of each other's: a variable, an <c>ngx.ctx</c>
/// field or an <c>upstream_uri</c> set by the first request is gone for the second.
/// </summary>
public sealed class KeepAliveStateTests(GatewayWorld world) : IClassFixture<GatewayWorld>
{
    [Fact]
    public async Task The_second_request_on_a_connection_sees_nothing_the_first_one_set()
    {
        // one connection at most: the second request goes on the connection the first one used
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) };
        using var client = new HttpClient(handler) { BaseAddress = world.Node };

        using var first = new HttpRequestMessage(HttpMethod.Get, "/plain/state/one");
        first.Headers.Add("X-Set", "1");
        using var r1 = await client.SendAsync(first);
        r1.StatusCode.Should().Be(HttpStatusCode.OK);
        (await r1.Content.ReadAsStringAsync()).Should().Be("plain GET /plain/was-set 0\n");
        r1.Headers.GetValues("X-Ctx-Seen").Should().Equal("set");
        r1.Headers.GetValues("X-Var-Seen").Should().Equal("v=from-first");
        var conn1 = r1.Headers.GetValues("X-Conn").Single().Split('/');

        using var r2 = await client.GetAsync("/plain/state/two");
        r2.StatusCode.Should().Be(HttpStatusCode.OK);
        var conn2 = r2.Headers.GetValues("X-Conn").Single().Split('/');
        // the same connection ($connection), its second request ($connection_requests)
        conn2[0].Should().Be(conn1[0]);
        int.Parse(conn2[1]).Should().Be(int.Parse(conn1[1]) + 1);
        // nothing of the first request: its upstream_uri, its ngx.ctx field, its variable
        (await r2.Content.ReadAsStringAsync()).Should().Be("plain GET /plain/state/two 0\n");
        r2.Headers.GetValues("X-Ctx-Seen").Should().Equal("none");
        r2.Headers.GetValues("X-Var-Seen").Should().Equal("v=");
    }
}
