using Apisix.Core.Utils;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class SocketUrlTests
{
    [Fact]
    public void Splits_an_endpoint_with_port_path_and_query()
    {
        var u = SocketUrl.Parse("http://127.0.0.1:1980/v1/chat/completions?some_query=yes")!;
        u.Scheme.Should().Be("http");
        u.Host.Should().Be("127.0.0.1");
        u.Port.Should().Be("1980");
        u.Path.Should().Be("/v1/chat/completions");
        u.Query.Should().Be("some_query=yes");
        u.Authority.Should().Be("127.0.0.1:1980");
    }

    [Fact]
    public void Absent_parts_stay_null()
    {
        var u = SocketUrl.Parse("https://api.example.test")!;
        u.Scheme.Should().Be("https");
        u.Host.Should().Be("api.example.test");
        u.Port.Should().BeNull();
        u.Path.Should().BeNull();
        u.Query.Should().BeNull();
        u.Fragment.Should().BeNull();
    }

    [Fact]
    public void Empty_or_missing_url_is_invalid()
    {
        SocketUrl.Parse("").Should().BeNull();
        SocketUrl.Parse(null).Should().BeNull();
        SocketUrl.TryParse("").Error.Should().Be("invalid url");
    }

    [Fact]
    public void Port_stays_text_even_when_empty()
    {
        SocketUrl.Parse("http://h:/p")!.Port.Should().Be("");
        SocketUrl.Parse("http://h:08/p")!.Port.Should().Be("08");
    }

    [Fact]
    public void Percent_escapes_in_the_path_are_kept()
    {
        var u = SocketUrl.Parse("http://127.0.0.1:1980/model/arn%3Aaws%3Ax%2Fy/converse")!;
        u.Path.Should().Be("/model/arn%3Aaws%3Ax%2Fy/converse");
    }

    [Fact]
    public void Userinfo_ipv6_fragment_and_params()
    {
        var u = SocketUrl.Parse("http://me:secret@[::1]:8080/a;type=x?q=1#frag")!;
        u.Userinfo.Should().Be("me:secret");
        u.User.Should().Be("me");
        u.Password.Should().Be("secret");
        u.Host.Should().Be("::1");
        u.Port.Should().Be("8080");
        u.Path.Should().Be("/a");
        u.Params.Should().Be("type=x");
        u.Query.Should().Be("q=1");
        u.Fragment.Should().Be("frag");
    }

    [Fact]
    public void Authority_runs_to_the_first_slash_as_in_luasocket_3_1()
    {
        // a query right after the authority ends up inside it, and so in the port
        var u = SocketUrl.Parse("http://localhost:7737?delay=true")!;
        u.Authority.Should().Be("localhost:7737?delay=true");
        u.Port.Should().Be("7737?delay=true");
        u.Query.Should().BeNull();
    }

    [Fact]
    public void Without_scheme_or_authority_everything_is_path()
    {
        var u = SocketUrl.Parse("/only/a/path?x")!;
        u.Scheme.Should().BeNull();
        u.Host.Should().BeNull();
        u.Path.Should().Be("/only/a/path");
        u.Query.Should().Be("x");
        SocketUrl.Parse("localhost:8080")!.Scheme.Should().Be("localhost");
    }

    [Fact]
    public void Defaults_fill_what_the_url_lacks()
    {
        var u = SocketUrl.Parse("/p", new ParsedUrl { Scheme = "http", Host = "d.test" })!;
        u.Scheme.Should().Be("http");
        u.Host.Should().Be("d.test");
        u.Path.Should().Be("/p");
    }
}
