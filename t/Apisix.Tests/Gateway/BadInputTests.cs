using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Gateway;

/// <summary>
/// Input a real client can send and nginx survives: each gets nginx's answer or a clean close,
/// one error-log line, and the node then serves the next request.
/// </summary>
[Collection("gateway")]
public sealed class BadInputTests(GatewayWorld world) : IClassFixture<GatewayWorld>
{
    private async Task NodeStillServesAsync()
    {
        var ok = await RawHttp.GetAsync(world.NodePort, "/plain/next");
        ok.Should().StartWith("HTTP/1.1 200 OK").And.Contain("plain GET /plain/next 0");
    }

    private int Count(string text) => world.ErrorLog.Count(l => l.Contains(text, StringComparison.Ordinal));

    [Fact]
    public async Task Malformed_request_line_gets_400_and_a_close()
    {
        var before = Count("client sent invalid request");
        var resp = await RawHttp.ExchangeAsync(world.NodePort, "GARBAGE\r\n\r\n");
        resp.Should().StartWith("HTTP/1.1 400");
        resp.Should().NotContain("<<timeout>>");
        (await GatewayWorld.EventuallyAsync(() => Count("client sent invalid request") == before + 1)).Should().BeTrue();
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Oversize_header_line_gets_nginx_400_page()
    {
        var before = Count("client sent too long header line");
        var resp = await RawHttp.ExchangeAsync(world.NodePort,
            $"GET /plain/big HTTP/1.1\r\nHost: localhost\r\nX-Big: {new string('a', 9000)}\r\n\r\n");
        resp.Should().StartWith("HTTP/1.1 400 Bad Request");
        resp.Should().Contain("<center>Request Header Or Cookie Too Large</center>");
        Count("client sent too long header line").Should().Be(before + 1);
        world.Mock.Seen.Should().NotContain(s => s.Path == "/plain/big");
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Body_over_client_max_body_size_gets_413_before_the_upstream()
    {
        var resp = await RawHttp.ExchangeAsync(world.NodePort,
            "POST /plain/huge HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n" + new string('x', 1000));
        resp.Should().StartWith("HTTP/1.1 413 Request Entity Too Large");
        resp.Should().Contain("<title>413 Request Entity Too Large</title>");
        world.ErrorLog.Should().ContainSingle(l => l.Contains("client intended to send too large body: 100000 bytes"));
        world.Mock.Seen.Should().NotContain(s => s.Path == "/plain/huge");
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Half_a_body_then_a_close_reaches_no_upstream()
    {
        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", world.NodePort);
            var s = client.GetStream();
            await s.WriteAsync(Encoding.ASCII.GetBytes("POST /plain/half HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n" + new string('x', 50)));
            await s.FlushAsync();
            await Task.Delay(100);
        }
        (await GatewayWorld.EventuallyAsync(() => Count("client prematurely closed connection while reading client request body") >= 1)).Should().BeTrue();
        world.Mock.Seen.Should().NotContain(s => s.Path == "/plain/half");
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Upstream_reset_mid_stream_ends_the_client_stream_and_the_node_goes_on()
    {
        var body = "{\"model\":\"reset-mid-stream\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        // the mock resets its connection only once the chunks it sent first have reached the client
        var hold = world.Mock.HoldLastChunk = new(TaskCreationOptions.RunContinuationsAsynchronously);
        string resp;
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", world.NodePort);
            var s = client.GetStream();
            await s.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
            var got = new StringBuilder();
            var buf = new byte[4096];
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                while (!got.ToString().Contains("\"content\":\"one \""))
                {
                    var n = await s.ReadAsync(buf, cts.Token);
                    if (n == 0) break;
                    got.Append(Encoding.Latin1.GetString(buf, 0, n));
                }
            hold.TrySetResult();
            resp = got + await RawHttp.ReadToCloseAsync(s, 30);
        }
        finally { world.Mock.HoldLastChunk = null; }
        resp.Should().StartWith("HTTP/1.1 200 OK");
        // as ai-proxy: what arrived is forwarded, the read error is logged once, the response ends
        (await GatewayWorld.EventuallyAsync(() => Count("failed to read response chunk: ") == 1)).Should().BeTrue(string.Join("\n", world.ErrorLog));
        resp.Should().Contain("\"content\":\"one \"");
        resp.Should().NotContain("<<timeout>>");
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Client_disconnect_cancels_the_upstream_request()
    {
        world.Mock.Reset();
        var body = "{\"model\":\"hang-stream\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", world.NodePort);
            var s = client.GetStream();
            await s.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
            // wait for the first chunk to come through, then go away
            var buf = new byte[4096];
            var got = new StringBuilder();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (!got.ToString().Contains("data:"))
            {
                var n = await s.ReadAsync(buf, cts.Token);
                if (n == 0) break;
                got.Append(Encoding.ASCII.GetString(buf, 0, n));
            }
            got.ToString().Should().Contain("data:");
        }
        var cancelled = await Task.WhenAny(world.Mock.HangCancelled.Task, Task.Delay(TimeSpan.FromSeconds(20)));
        cancelled.Should().Be(world.Mock.HangCancelled.Task, "the gateway must close its upstream request when the client goes away");
        await NodeStillServesAsync();
    }
}
