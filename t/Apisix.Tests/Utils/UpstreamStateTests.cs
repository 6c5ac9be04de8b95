using Apisix.Core;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Apisix.Core.Upstream;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Apisix.Tests.Utils;

public class UpstreamStateTests
{
    private static ApiCtx NewCtx()
    {
        var nginx = new Nginx(new HttpConf(), new LoopbackNetwork(), new ErrorLog(LogLevel.Debug), new LuaModules(), Path.GetTempPath());
        var req = new NgxRequest(new DefaultHttpContext(), new ServerConf(), new LocationConf { Modifier = "", Pattern = "/" }, 1) { Nginx = nginx };
        return new ApiCtx(req);
    }

    private static string? V(ApiCtx ctx, string name) => ctx.Var.GetString(name);

    [Fact]
    public void Nothing_pushed_means_no_variables()
    {
        var ctx = NewCtx();
        V(ctx, "upstream_addr").Should().BeNull();
        V(ctx, "upstream_status").Should().BeNull();
        UpstreamState.Update(ctx, 5).Should().Be((false, "error while updating upstream state"));
    }

    [Fact]
    public void Attempts_belong_to_their_request()
    {
        // kept on the request itself (nginx's r->upstream_states): another request starts with none,
        // and the request's attempts are what Get lists
        var first = NewCtx();
        var second = NewCtx();
        UpstreamState.Push(first, "127.0.0.1:1980", 200);
        UpstreamState.Get(first.Request).Should().ContainSingle().Which.Peer.Should().Be("127.0.0.1:1980");
        UpstreamState.Get(second.Request).Should().BeEmpty();
        UpstreamState.Update(second, 5).Ok.Should().BeFalse();
        V(second, "upstream_addr").Should().BeNull();
    }

    [Fact]
    public void One_attempt_reads_like_nginx()
    {
        var ctx = NewCtx();
        UpstreamState.Push(ctx, "127.0.0.1:1980", 200, 1.9, 1234.7).Ok.Should().BeTrue();
        V(ctx, "upstream_addr").Should().Be("127.0.0.1:1980");
        V(ctx, "upstream_status").Should().Be("200");
        V(ctx, "upstream_connect_time").Should().Be("0.001", "milliseconds are truncated like the FFI's integer argument");
        V(ctx, "upstream_header_time").Should().Be("1.234");
        V(ctx, "upstream_response_time").Should().Be("-", "not set until update");
        V(ctx, "upstream_response_length").Should().Be("0");

        UpstreamState.Update(ctx, 2500.2, 321).Ok.Should().BeTrue();
        V(ctx, "upstream_response_time").Should().Be("2.500");
        V(ctx, "upstream_response_length").Should().Be("321");
        V(ctx, "upstream_bytes_received").Should().Be("0");
    }

    [Fact]
    public void Retries_are_joined_and_update_touches_the_last()
    {
        var ctx = NewCtx();
        UpstreamState.Push(ctx, "10.0.0.1:80", 504, connectTimeMs: null);
        UpstreamState.Update(ctx, 3000);
        UpstreamState.Push(ctx, "10.0.0.2:443", 200, 2, 40);
        UpstreamState.Update(ctx, 75, 99);
        V(ctx, "upstream_addr").Should().Be("10.0.0.1:80, 10.0.0.2:443");
        V(ctx, "upstream_status").Should().Be("504, 200");
        V(ctx, "upstream_connect_time").Should().Be("-, 0.002");
        V(ctx, "upstream_header_time").Should().Be("-, 0.040");
        V(ctx, "upstream_response_time").Should().Be("3.000, 0.075");
        V(ctx, "upstream_response_length").Should().Be("0, 99");
        UpstreamState.Get(ctx.Request).Should().HaveCount(2);
    }

    [Fact]
    public void Zero_status_and_negative_times_print_as_dashes()
    {
        var ctx = NewCtx();
        UpstreamState.Push(ctx, "h:1", 0, -5, null);
        V(ctx, "upstream_status").Should().Be("-");
        V(ctx, "upstream_connect_time").Should().Be("-");
    }

    [Fact]
    public void An_entry_without_address_is_a_redirect_marker()
    {
        var ctx = NewCtx();
        UpstreamState.Push(ctx, "a:1", 502);
        UpstreamState.Push(ctx, null, 0);
        UpstreamState.Push(ctx, "b:2", 200);
        V(ctx, "upstream_addr").Should().Be("a:1 : b:2");
        V(ctx, "upstream_status").Should().Be("502 : 200");
    }

    [Fact]
    public void Variables_reach_ngx_var_too()
    {
        var ctx = NewCtx();
        UpstreamState.Push(ctx.Request, "127.0.0.1:1980", 429);
        NgxVars.Get(ctx.Request.Nginx, ctx.Request, "upstream_status").Should().Be("429");
    }
}
