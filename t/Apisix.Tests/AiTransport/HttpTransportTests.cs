using System.Text.Json.Nodes;
using Apisix.Core.Upstream;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

using Http = Apisix.Plugins.AiProxy.AiTransport.Http;

public class HttpTransportTests
{
    private static AiHttpParams Params(string path, object? body = null, string scheme = "http", int port = 1980) => new()
    {
        Method = "POST",
        Scheme = scheme,
        Host = "127.0.0.1",
        Port = port,
        Path = path,
        Headers = new() { ["content-type"] = "application/json", ["authorization"] = "Bearer k" },
        Body = body,
    };

    private static string? HeadValue(SeenRequest r, string name) =>
        r.Head.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    [Fact]
    public async Task Table_body_goes_out_with_sorted_keys_and_resty_headers()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var body = new JsonObject
        {
            ["model"] = "m1",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi/there" }),
            ["temperature"] = 0.5,
            ["max_tokens"] = 10,
            ["a_flag"] = true,
        };
        var p = Params("/v1/chat/completions", body);
        p.Query = new JsonObject { ["api-version"] = "2024 01" };

        var (res, err, meta) = await Http.RequestAsync(p, 10000, w.Ctx);
        err.Should().BeNull();
        meta.Should().BeNull();
        res!.Status.Should().Be(200);
        (await res.ReadBodyAsync()).Should().Be(("{\"ok\":true}", (string?)null));
        res.Close();

        w.Seen.Should().ContainSingle();
        var seen = w.Seen.Single();
        seen.Target.Should().Be("/v1/chat/completions?api-version=2024%2001");
        seen.Body.Should().Be("""{"a_flag":true,"max_tokens":10,"messages":[{"content":"hi/there","role":"user"}],"model":"m1","temperature":0.5}""");
        p.Body.Should().Be(seen.Body, "the transport keeps the encoded body in params, as the Lua does");
        HeadValue(seen, "Host").Should().Be("127.0.0.1:1980");
        HeadValue(seen, "User-Agent").Should().Be("lua-resty-http/0.16.1 (Lua) ngx_lua/10031");
        HeadValue(seen, "Content-Length").Should().Be(seen.Body.Length.ToString());
        HeadValue(seen, "authorization").Should().Be("Bearer k");
        HeadValue(seen, "content-type").Should().Be("application/json");
        seen.Head.Select(h => h.Name.ToLowerInvariant()).Should().BeEquivalentTo(
            ["host", "user-agent", "content-length", "content-type", "authorization"],
            "nothing beyond what resty.http sends: no Accept-Encoding, traceparent or Connection");
    }

    [Fact]
    public async Task String_body_is_sent_as_is_and_the_given_host_wins()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var p = Params("/raw", "{\"z\":1,\"a\":2}");
        p.Headers["Host"] = "llm.example";
        p.Headers["user-agent"] = "client/1";
        var (res, err, _) = await Http.RequestAsync(p, 10000, w.Ctx);
        err.Should().BeNull();
        res!.Close();
        var seen = w.Seen.Single();
        seen.Body.Should().Be("{\"z\":1,\"a\":2}");
        seen.Target.Should().Be("/raw?", "api7-lua-resty-http always writes \"?\" before an encoded query table");
        HeadValue(seen, "Host").Should().Be("llm.example");
        HeadValue(seen, "User-Agent").Should().Be("client/1");
        seen.Head.Count(h => h.Name.Equals("Host", StringComparison.OrdinalIgnoreCase)).Should().Be(1);
    }

    [Fact]
    public async Task Default_port_is_left_out_of_the_host_header()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        w.Network.Bind(System.Net.IPAddress.Loopback, 80);
        var (res, err, _) = await Http.RequestAsync(Params("/x", port: 80), 10000, w.Ctx);
        err.Should().BeNull();
        res!.Close();
        HeadValue(w.Seen.Single(), "Host").Should().Be("127.0.0.1");
    }

    [Fact]
    public async Task Response_carries_status_headers_and_upstream_fields()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var before = Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3);
        var (res, _, _) = await Http.RequestAsync(Params("/v1/x"), 10000, w.Ctx);
        res!.Headers["content-type"].Should().Be("application/json");
        res.Headers["Content-Length"].Should().Be("11");
        res.Headers["x-multi"].Should().Be("a, b");
        res.HasBodyReader.Should().BeTrue();
        res.UpstreamAddr.Should().Be("127.0.0.1:1980");
        res.UpstreamHost.Should().Be("127.0.0.1");
        res.UpstreamScheme.Should().Be("http");
        res.UpstreamUri.Should().Be("/v1/x");
        res.T0.Should().BeGreaterThanOrEqualTo(before);
        res.ConnectTime.Should().BeGreaterThanOrEqualTo(0);
        res.HeaderTime.Should().BeGreaterThanOrEqualTo(res.ConnectTime);
        res.Close();
    }

    [Fact]
    public async Task Body_reader_hands_out_each_chunk_as_it_arrives()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, err, _) = await Http.RequestAsync(Params("/chunks"), 5000, w.Ctx);
        err.Should().BeNull();
        res!.Headers["Transfer-Encoding"].Should().Be("chunked");

        // the server sends its next piece only after we have read the previous one,
        // so a reader that waited for the whole body would hang here
        (await res.BodyReaderAsync()).Should().Be(("data: one\n\n", (string?)null));
        w.NextChunk.Release();
        (await res.BodyReaderAsync()).Should().Be(("data: two\n\n", (string?)null));
        w.NextChunk.Release();
        (await res.BodyReaderAsync()).Should().Be(("data: [DONE]\n\n", (string?)null));
        w.NextChunk.Release();
        (await res.BodyReaderAsync()).Should().Be(((string?)null, (string?)null));
        (await res.BodyReaderAsync()).Should().Be(((string?)null, "can't resume a dead coroutine"));
        res.Close();
    }

    [Fact]
    public async Task No_content_response_reader_ends_at_once()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, _, _) = await Http.RequestAsync(Params("/no-content"), 10000, w.Ctx);
        res!.Status.Should().Be(204);
        res.HasBodyReader.Should().BeTrue();
        (await res.BodyReaderAsync()).Should().Be(((string?)null, (string?)null));
        res.Close();
    }

    [Fact]
    public async Task Error_status_body_is_readable()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, _, _) = await Http.RequestAsync(Params("/error"), 10000, w.Ctx);
        res!.Status.Should().Be(429);
        var (body, err) = await res.ReadBodyAsync();
        err.Should().BeNull();
        body.Should().Be("{\"error\":\"slow down\"");
        res.Close();
        res.HasClient.Should().BeFalse();
    }

    [Fact]
    public async Task Connection_refused_is_a_connect_error_with_meta()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, err, meta) = await Http.RequestAsync(Params("/v1/chat", port: 1999), 10000, w.Ctx);
        res.Should().BeNull();
        err.Should().Be("connect: connection refused");
        Http.HandleError(err!).Should().Be(500);
        meta.Should().NotBeNull();
        meta!.UpstreamAddr.Should().Be("127.0.0.1:1999");
        meta.UpstreamHost.Should().Be("127.0.0.1");
        meta.UpstreamScheme.Should().Be("http");
        meta.UpstreamUri.Should().Be("/v1/chat");
        meta.ConnectTime.Should().BeNull();
    }

    [Fact]
    public async Task Unknown_host_reports_the_resolver_error()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var p = Params("/v1");
        p.Host = "api.nowhere.test";
        var (_, err, _) = await Http.RequestAsync(p, 10000, w.Ctx);
        err.Should().Be("connect: api.nowhere.test could not be resolved (3: Host not found)");
    }

    [Fact]
    public async Task Silent_upstream_times_out_with_504()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, err, meta) = await Http.RequestAsync(Params("/hang"), 200, w.Ctx);
        res.Should().BeNull();
        err.Should().Be("request: timeout");
        Http.HandleError(err!).Should().Be(504);
        meta!.ConnectTime.Should().NotBeNull();
    }

    [Fact]
    public async Task Stalled_body_read_times_out()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        // 2 s: the head and the first chunk must come within it on a loaded machine; then the body stalls
        var (res, err, _) = await Http.RequestAsync(Params("/stall-body"), 2000, w.Ctx).WaitAsync(TimeSpan.FromSeconds(10));
        err.Should().BeNull();
        (await res!.BodyReaderAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(("data: first\n\n", (string?)null));
        (await res.BodyReaderAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(((string?)null, "timeout"));
        res.Close();
    }

    [Fact]
    public async Task Connect_timeout_comes_from_the_seam()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        // a connect that never completes, as to an address that drops SYNs
        w.Nginx.TcpConnectAsync = async (_, _, ct) => { await Task.Delay(Timeout.Infinite, ct); return Stream.Null; };
        var (_, err, _) = await Http.RequestAsync(Params("/v1"), 100, w.Ctx);
        err.Should().Be("connect: timeout");
    }

    [Fact]
    public async Task Https_against_a_plain_server_fails_the_handshake()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (_, err, meta) = await Http.RequestAsync(Params("/v1", scheme: "https"), 10000, w.Ctx);
        err.Should().Be("connect: handshake failed");
        meta!.UpstreamScheme.Should().Be("https");
    }

    [Fact]
    public async Task Invalid_header_value_is_a_request_error()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var p = Params("/v1");
        p.Headers["x-bad"] = "a\r\nInjected: 1";
        var (_, err, _) = await Http.RequestAsync(p, 10000, w.Ctx);
        err.Should().Be("request: invalid characters found in header value");
        w.Seen.Should().BeEmpty();
    }

    [Fact]
    public async Task Keepalive_reuses_the_connection_and_close_does_not()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        async Task<string> Once(bool keep)
        {
            var (res, err, _) = await Http.RequestAsync(Params("/v1"), 10000, w.Ctx);
            err.Should().BeNull();
            (await res!.ReadBodyAsync()).Error.Should().BeNull();
            if (keep) Http.SetKeepalive(res, 60000, 5, w.Ctx);
            else res.Close();
            res.HasClient.Should().BeFalse();
            return w.Seen.Last().ConnectionId;
        }

        var first = await Once(keep: true);
        var second = await Once(keep: false);
        second.Should().Be(first, "the pooled connection is taken again");
        var third = await Once(keep: true);
        third.Should().NotBe(first, "a closed connection is gone from the pool");
        var fourth = await Once(keep: true);
        fourth.Should().Be(third);
        w.Log.Lines.Should().NotContain(l => l.Contains("failed to keepalive"));
    }

    [Fact]
    public async Task Server_asking_to_close_is_not_pooled()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, _, _) = await Http.RequestAsync(Params("/close"), 10000, w.Ctx);
        (await res!.ReadBodyAsync()).Body.Should().Be("ok");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);
        var (res2, _, _) = await Http.RequestAsync(Params("/v1"), 10000, w.Ctx);
        res2!.Close();
        var seen = w.Seen.ToArray();
        seen[1].ConnectionId.Should().NotBe(seen[0].ConnectionId);
    }

    [Fact]
    public async Task Idle_pooled_connection_expires_after_the_keepalive_timeout()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, _, _) = await Http.RequestAsync(Params("/v1"), 10000, w.Ctx);
        await res!.ReadBodyAsync();
        Http.SetKeepalive(res, 50, 5, w.Ctx);
        Http.PooledConnections(w.Nginx).Should().Be(1);
        // wait (bounded) for the expiry instead of asserting on elapsed time
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Http.PooledConnections(w.Nginx) > 0 && DateTime.UtcNow < until) await Task.Delay(20);
        Http.PooledConnections(w.Nginx).Should().Be(0);
    }

    [Fact]
    public async Task Connection_pooled_again_keeps_its_latest_keepalive_timeout()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var (res, _, _) = await Http.RequestAsync(Params("/v1"), 10000, w.Ctx);
        await res!.ReadBodyAsync();
        Http.SetKeepalive(res, 50, 5, w.Ctx);
        // taken again (or, on a slow machine, a new one once the 50 ms expired it) and pooled for a minute
        (res, _, _) = await Http.RequestAsync(Params("/v1"), 10000, w.Ctx);
        await res!.ReadBodyAsync();
        Http.SetKeepalive(res, 60000, 5, w.Ctx);
        // the first timeout's deadline passes: the connection's timer was re-armed, so it stays
        await Task.Delay(300);
        Http.PooledConnections(w.Nginx).Should().Be(1);
    }

    [Fact]
    public async Task Full_pool_drops_its_oldest_connection()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var open = new List<AiHttpResponse>();
        for (var i = 0; i < 3; i++)
        {
            var (res, _, _) = await Http.RequestAsync(Params("/v1"), 10000, w.Ctx);
            await res!.ReadBodyAsync();
            open.Add(res);
        }
        foreach (var r in open) Http.SetKeepalive(r, 60000, 2, w.Ctx);
        Http.PooledConnections(w.Nginx).Should().Be(2);
    }

    [Fact]
    public void Forward_headers_merge_client_and_extra_headers()
    {
        var w = AiUpstreamWorldSync();
        var h = Http.ConstructForwardHeaders(new JsonObject { ["X-Api-Key"] = "k", ["X-Num"] = 3 }, w);
        h.Should().Contain("x-api-key", "k");
        h.Should().Contain("x-num", "3");
        h.Should().Contain("x-client", "yes");
        h["content-type"].Should().Be("application/json");
        h.Keys.Should().NotContain(["host", "content-length", "accept-encoding"]);
    }

    private static Apisix.Core.ApiCtx AiUpstreamWorldSync()
    {
        var client = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        client.Request.Headers["Host"] = "gw";
        client.Request.Headers["Content-Length"] = "5";
        client.Request.Headers["Accept-Encoding"] = "gzip";
        client.Request.Headers["Content-Type"] = "text/plain";
        client.Request.Headers["X-Client"] = "yes";
        var req = new Apisix.Core.OpenResty.NgxRequest(client, new Apisix.Core.OpenResty.Conf.ServerConf(),
            new Apisix.Core.OpenResty.Conf.LocationConf { Modifier = "", Pattern = "/" }, 1);
        return new Apisix.Core.ApiCtx(req);
    }

    [Fact]
    public async Task Params_table_view_and_upstream_state_from_a_real_attempt()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var p = Params("/v1");
        p.ToLuaTable()["port"]!.GetValue<int>().Should().Be(1980);
        var (res, _, _) = await Http.RequestAsync(p, 10000, w.Ctx);
        UpstreamState.Push(w.Ctx, res!.UpstreamAddr, res.Status, res.ConnectTime, res.HeaderTime);
        var (body, _) = await res.ReadBodyAsync();
        UpstreamState.Update(w.Ctx, 12.9, body!.Length);
        res.Close();
        w.Ctx.Var.GetString("upstream_addr").Should().Be("127.0.0.1:1980");
        w.Ctx.Var.GetString("upstream_status").Should().Be("200");
        w.Ctx.Var.GetString("upstream_response_time").Should().Be("0.012");
        w.Ctx.Var.GetString("upstream_response_length").Should().Be("11");
    }
}
