using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

using Http = Apisix.Plugins.AiProxy.AiTransport.Http;

/// <summary>
/// The AI transport's own HTTP/1.1 exchange on the wire: the request bytes as lua-resty-http
/// writes them, and the keepalive pool's view of what the server does with the connection.
/// </summary>
public class HttpWireTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static AiHttpParams Params(Dictionary<string, string>? headers = null, string body = "{\"a\":1}") => new()
    {
        Method = "post",
        Scheme = "http",
        Host = "127.0.0.1",
        Port = 1980,
        Path = "/v1/chat/completions",
        Headers = headers ?? new() { ["content-type"] = "application/json" },
        Body = body,
    };

    private static async Task<AiHttpResponse> SendAsync(AiUpstreamWorld w, RawUpstream up, AiHttpParams p, string response)
    {
        var sending = Http.RequestAsync(p, 3000, w.Ctx);
        await up.ReadRequestAsync();
        await up.WriteAsync(response);
        var (res, err, _) = await sending.WaitAsync(Bound);
        err.Should().BeNull();
        return res!;
    }

    [Fact]
    public async Task Request_goes_out_with_the_given_header_names_then_host_length_and_agent()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var p = Params(new() { ["content-type"] = "application/json", ["X-Mixed-Case"] = "v1", ["authorization"] = "Bearer k" }, "{\"\u20ac\":1}");
        var res = await SendAsync(w, up, p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        (await res.ReadBodyAsync()).Body.Should().Be("ok");
        res.Close();

        var lines = up.LastRequest.Split("\r\n");
        lines[0].Should().Be("POST /v1/chat/completions? HTTP/1.1", "the method upper-cased, an empty query table still writes \"?\"");
        // names as the params table has them (resty.http writes its keys as given), the three it adds after
        lines[1..4].Should().Equal("content-type: application/json", "X-Mixed-Case: v1", "authorization: Bearer k");
        lines[4].Should().Be("Host: 127.0.0.1:1980");
        lines[5].Should().Be("Content-Length: 9", "a body with wider chars than bytes counts its UTF-8 bytes");
        lines[6].Should().StartWith("User-Agent: lua-resty-http/0.16.1");
        lines[7].Should().BeEmpty();
        up.LastRequest.Should().EndWith("\r\n\r\n{\"\u00e2\u0082\u00ac\":1}", "and goes out as those bytes");
    }

    [Fact]
    public async Task Chunked_request_header_drops_the_content_length_and_sends_the_body_as_is()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var p = Params(new() { ["transfer-encoding"] = "chunked", ["content-length"] = "99" }, "5\r\nhello\r\n0\r\n\r\n");
        var sending = Http.RequestAsync(p, 3000, w.Ctx);
        // the raw reader frames by Content-Length: with none, it stops at the head
        await up.ReadRequestAsync();
        up.LastRequest.Should().Contain("transfer-encoding: chunked\r\n").And.NotContainAny("content-length", "Content-Length");
        await up.WriteAsync("HTTP/1.1 204 No Content\r\n\r\n");
        var (res, err, _) = await sending.WaitAsync(Bound);
        err.Should().BeNull();
        res!.Status.Should().Be(204);
        res.Close();
    }

    [Fact]
    public async Task Pooled_connection_the_server_closes_leaves_the_pool()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var res = await SendAsync(w, up, Params(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        (await res.ReadBodyAsync()).Body.Should().Be("ok");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);
        Http.PooledConnections(w.Nginx).Should().Be(1);

        // as a cosocket pool watches its idle connections: the peer's close takes it out at once
        await up.CloseAsync();
        for (var i = 0; i < 1500 && Http.PooledConnections(w.Nginx) > 0; i++) await Task.Delay(20); // 30 s: a safety net only
        Http.PooledConnections(w.Nginx).Should().Be(0);
    }

    [Fact]
    public async Task Http10_response_is_pooled_only_when_it_says_keep_alive()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var res = await SendAsync(w, up, Params(), "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
        (await res.ReadBodyAsync()).Body.Should().Be("ok");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);
        Http.PooledConnections(w.Nginx).Should().Be(0, "HTTP/1.0 closes unless told otherwise");

        up = new RawUpstream().Attach(w);
        res = await SendAsync(w, up, Params(), "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok");
        (await res.ReadBodyAsync()).Body.Should().Be("ok");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);
        Http.PooledConnections(w.Nginx).Should().Be(1);
    }

    [Fact]
    public async Task Closing_a_response_ends_a_body_read_in_progress()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var res = await SendAsync(w, up, Params(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        (await res.BodyReaderAsync().AsTask().WaitAsync(Bound)).Should().Be(("abc", (string?)null));
        var pending = res.BodyReaderAsync().AsTask();
        // the client went away: its handler closes the response from another thread
        await Task.Run(res.Close);
        (await pending.WaitAsync(Bound)).Should().Be(((string?)null, "closed"));
    }
}
