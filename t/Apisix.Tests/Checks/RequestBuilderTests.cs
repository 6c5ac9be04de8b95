using Apisix.TestNginx.Client;
using FluentAssertions;
using Xunit;
using static Apisix.Tests.Checks.Make;

namespace Apisix.Tests.Checks;

public class RequestBuilderTests : IDisposable
{
    private readonly SnippetFiles _files = new();

    public void Dispose() => _files.Dispose();

    private IReadOnlyList<string> Requests(string data) => RequestBuilder.BuildText(_files.Block(data));

    [Fact]
    public void Get_gets_version_host_and_connection_and_no_length()
    {
        Requests("=== TEST 1: plain get\n--- request\nGET /t\n")
            .Should().Equal("GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }

    [Fact]
    public void Post_without_a_body_has_no_content_length()
    {
        Requests("=== TEST 1: empty post\n--- request\nPOST /anything\n--- more_headers\nContent-Type: application/json\n")
            .Should().Equal("POST /anything HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n");
    }

    [Fact]
    public void Body_is_trimmed_before_its_length_is_counted()
    {
        // The section's trailing newline (and any surrounding blanks) are not sent.
        var req = Requests("=== TEST 1: post\n--- request\nPOST /chat\n\n  {\"a\":1}  \n\n\n--- error_code: 200\n")[0];
        req.Should().Be("POST /chat HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
    }

    [Fact]
    public void Multi_line_body_keeps_its_inner_newlines()
    {
        var req = Requests("=== TEST 1: post\n--- request\nPOST /chat\n{\n  \"x\": 1\n}\n")[0];
        req.Should().EndWith("Content-Length: 12\r\n\r\n{\n  \"x\": 1\n}");
    }

    [Fact]
    public void Content_length_counts_bytes_not_characters()
    {
        // "é" is two UTF-8 bytes in the file, and stays two bytes.
        var req = Requests("=== TEST 1: utf8\n--- request\nPOST /x\n\u00c3\u00a9\n")[0];
        req.Should().Contain("Content-Length: 2\r\n");
    }

    [Fact]
    public void Host_from_more_headers_replaces_the_default()
    {
        var req = Requests("=== TEST 1: host\n--- request\nGET /x\n--- more_headers\nhost: openai_internal_error\n")[0];
        req.Should().Be("GET /x HTTP/1.1\r\nConnection: close\r\nhost: openai_internal_error\r\n\r\n");
    }

    [Fact]
    public void More_headers_keep_order_and_skip_comments_and_blank_lines()
    {
        var req = Requests("=== TEST 1: hdrs\n--- request\nGET /x\n--- more_headers\n# a note\nX-AI-Fixture: openai/chat.json\n\n\nAuthorization:Bearer token\n   # indented note\nX-Empty\n")[0];
        req.Should().Be("GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                        + "X-AI-Fixture: openai/chat.json\r\nAuthorization: Bearer token\r\nX-Empty: \r\n\r\n");
    }

    [Fact]
    public void Given_connection_and_content_length_are_not_repeated()
    {
        var req = Requests("=== TEST 1: given\n--- request\nPOST /x\nabc\n--- more_headers\nConnection: keep-alive\nContent-Length: 3\n")[0];
        // With Content-Length given, the body goes out as the section holds it (not trimmed).
        req.Should().Be("POST /x HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc\n");
    }

    [Fact]
    public void Chunked_requests_get_no_content_length()
    {
        var req = Requests("=== TEST 1: chunked\n--- request\nPOST /x\n3\r\nabc\r\n0\r\n\r\n--- more_headers\nTransfer-Encoding: chunked\n")[0];
        req.Should().NotContain("Content-Length").And.Contain("Transfer-Encoding: chunked\r\n");
    }

    [Fact]
    public void Leading_comments_and_whitespace_are_dropped_and_version_kept()
    {
        var req = Requests("=== TEST 1: comments\n--- request\n# first a comment\n  # and another\n   GET   /status   HTTP/1.0\n")[0];
        req.Should().Be("GET /status HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }

    [Fact]
    public void Missing_uri_defaults_to_slash()
    {
        RequestBuilder.BuildOne("GET", "").Should().StartWith("GET / HTTP/1.1\r\n");
    }

    [Fact]
    public void Request_eval_array_gives_one_request_per_connection()
    {
        var reqs = Requests("=== TEST 1: two\n--- request eval\n[\"GET /a\", \"POST /b\\nhello\"]\n");
        reqs.Should().Equal(
            "GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "POST /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
    }

    [Fact]
    public void More_headers_array_goes_with_each_request()
    {
        var block = Block("T", ("request", A(S("GET /a"), S("GET /b"))), ("more_headers", A(S("X-N: 1"), S("X-N: 2"))));
        var reqs = RequestBuilder.BuildText(block);
        reqs[0].Should().Contain("X-N: 1\r\n");
        reqs[1].Should().Contain("X-N: 2\r\n");
    }

    [Fact]
    public void Pipelined_requests_expand_test_nginx_variables_but_a_plain_request_does_not()
    {
        static string? Env(string n) => n == "TEST_NGINX_WHERE" ? "here" : null;
        var block = Block("T", ("pipelined_requests", A(S("GET /$TEST_NGINX_WHERE"), S("GET /b"))));
        RequestBuilder.BuildText(block, environment: Env)[0].Should().StartWith("GET /here HTTP/1.1\r\n");
        var unset = () => RequestBuilder.BuildText(Block("T", ("pipelined_requests", A(S("GET /$TEST_NGINX_NOPE")))), environment: Env);
        unset.Should().Throw<RequestBuildException>().WithMessage("T - No environment TEST_NGINX_NOPE defined.");
        // Test::Nginx leaves `--- request` as written
        RequestBuilder.BuildText(Block("T", ("request", S("GET /$TEST_NGINX_WHERE"))), environment: Env)[0]
            .Should().StartWith("GET /$TEST_NGINX_WHERE HTTP/1.1\r\n");
    }

    [Fact]
    public void Pipelined_requests_share_one_connection()
    {
        var block = Block("T", ("pipelined_requests", A(S("GET /a"), S("GET /b"))));
        RequestBuilder.BuildText(block).Should().Equal(
            "GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"
            + "GET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }

    [Fact]
    public void Raw_request_is_sent_verbatim()
    {
        var block = Block("T", ("raw_request", S("GET / HTTP/1.0\r\n\r\n")), ("request", S("GET /ignored")));
        RequestBuilder.BuildText(block).Should().Equal("GET / HTTP/1.0\r\n\r\n");
    }

    [Fact]
    public void No_request_or_a_bad_request_line_is_an_error()
    {
        var act = () => RequestBuilder.BuildText(Block("TEST 9: none"));
        act.Should().Throw<RequestBuildException>().WithMessage("TEST 9: none - Request line should be non-empty");

        var bad = () => RequestBuilder.BuildText(Block("T", ("request", S("GET /a HTTP/1.1 extra"))));
        bad.Should().Throw<RequestBuildException>().WithMessage("*Request line is not valid*");
    }

    [Theory]
    [InlineData("10", 10.0)]
    [InlineData("1.5", 1.5)]
    [InlineData("500ms", 0.5)]
    [InlineData("2s", 2.0)]
    public void Timeout_section_in_seconds(string text, double seconds)
    {
        RequestBuilder.TimeoutOf(Block("T", ("timeout", S(text))), TimeSpan.FromSeconds(3))
            .Should().Be(TimeSpan.FromSeconds(seconds));
        RequestBuilder.TimeoutOf(Block("T"), TimeSpan.FromSeconds(5)).Should().Be(TimeSpan.FromSeconds(5));
    }
}
