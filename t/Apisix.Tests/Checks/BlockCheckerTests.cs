using Apisix.TestNginx.Checks;
using Apisix.TestNginx.Client;
using Apisix.TestNginx.Parsing;
using FluentAssertions;
using Xunit;
using static Apisix.Tests.Checks.Make;

namespace Apisix.Tests.Checks;

public class BlockCheckerTests : IDisposable
{
    private readonly SnippetFiles _files = new();

    public void Dispose() => _files.Dispose();

    private BlockCheckResult Check(string data, HttpResult response, string[]? errorLog = null, string[]? accessLog = null) =>
        BlockChecker.Run(_files.Block(data), [response], errorLog ?? [], accessLog ?? []);

    private static BlockCheckResult Check(TestBlock block, params HttpResult[] responses) =>
        BlockChecker.Run(block, responses, [], []);

    // ---- status ------------------------------------------------------------------------------

    [Fact]
    public void Status_200_is_expected_when_error_code_is_absent()
    {
        Check("=== TEST 1: ok\n--- request\nGET /t\n", Response(200, "")).Ok.Should().BeTrue();

        var r = Check("=== TEST 2: bad\n--- request\nGET /t\n", Response(500, ""));
        r.Failures.Should().ContainSingle().Which.Message.Should().Be(
            "TEST 2: bad - status code ok\n" +
            "#   Failed test 'TEST 2: bad - status code ok'\n" +
            "#          got: '500'\n" +
            "#     expected: '200'");
    }

    [Fact]
    public void Error_code_is_compared_as_a_string()
    {
        var data = "=== TEST 3: foo\n--- request\nGET /t\n--- error_code: 401\n";
        Check(data, Response(401, "")).Ok.Should().BeTrue();

        var failure = Check(data, Response(200, "")).Failures.Single();
        failure.Name.Should().Be("TEST 3: foo - status code ok");
        failure.Diagnostics.Should().Contain("#   at --- error_code, line 9.")
            .And.Contain("#          got: '200'").And.Contain("#     expected: '401'");
    }

    [Fact]
    public void Error_code_like_is_a_regex()
    {
        var block = Block("T", ("error_code_like", S("^5\\d\\d$")));
        Check(block, Response(502, "")).Ok.Should().BeTrue();
        Check(block, Response(200, "")).Failures.Single().Message.Should().Contain("doesn't match '(?^ms:^5\\d\\d$)'");
    }

    // ---- response_body ------------------------------------------------------------------------

    [Fact]
    public void Response_body_is_exact_and_carries_the_trimmed_newline()
    {
        var data = "=== TEST 1: body\n--- request\nGET /t\n--- response_body\npassed\n\n\n";
        Check(data, Response(200, "passed\n")).Ok.Should().BeTrue();
        Check(data, Response(200, "passed")).Ok.Should().BeFalse("the section is \"passed\\n\"");
    }

    [Fact]
    public void Response_body_failure_shows_both_bodies_line_by_line()
    {
        var data = "=== TEST 4: body\n--- request\nGET /t\n--- response_body\nline one\nline two\n";
        var failure = Check(data, Response(200, "line one\nline 2\n")).Failures.Single();

        failure.Name.Should().Be("TEST 4: body - response_body - response is expected (repeated req 0, req 0)");
        failure.Message.Should().Contain(
            "#          got: 'line one\n" +
            "# line 2\n" +
            "# '\n" +
            "#     expected: 'line one\n" +
            "# line two\n" +
            "# '");
        failure.Message.Should().Contain("first difference at byte 14 (line 2, column 6)");
    }

    [Fact]
    public void Response_body_chomp_filter_drops_the_newline()
    {
        var data = "=== TEST 1: chomp\n--- request\nGET /t\n--- response_body chomp\nsuccess\n";
        Check(data, Response(200, "success")).Ok.Should().BeTrue();
        Check(data, Response(200, "success\n")).Ok.Should().BeFalse();
    }

    [Fact]
    public void Response_body_chomp_section_is_not_a_check()
    {
        // Not a Test::Nginx section: only the status is checked.
        var data = "=== TEST 7: ignored\n--- request\nPOST /anything\n--- response_body_chomp\nsomething else entirely\n";
        var r = Check(data, Response(200, "whatever"));
        r.Ok.Should().BeTrue();
        r.Passed.Should().Equal("TEST 7: ignored - status code ok");
    }

    [Fact]
    public void Response_body_eval_regex_is_a_like_check_with_its_own_flags()
    {
        var data = "=== TEST 1: sse\n--- request\nGET /t\n--- response_body eval\nqr/data: \\[DONE\\]\\n\\n$/\n";
        Check(data, Response(200, "data: {}\n\ndata: [DONE]\n\n")).Ok.Should().BeTrue();

        var failure = Check(data, Response(200, "data: {}\n\n")).Failures.Single();
        failure.Name.Should().Be("TEST 1: sse - response_body - like (repeated req 0, req 0)");
        failure.Message.Should().Contain("#                   'data: {}\n# \n# '\n#     doesn't match '(?^:data: \\[DONE\\]\\n\\n$)'");
    }

    [Fact]
    public void Deprecated_response_body_eval_section_is_evaluated_at_check_time()
    {
        var data = "=== TEST 5: old\n--- request\nGET /t\n--- response_body_eval\nqr/6data: \\[DONE\\]\\n\\n/\n";
        var pass = Check(data, Response(200, "...6data: [DONE]\n\n"));
        pass.Ok.Should().BeTrue();
        pass.Warnings.Should().Contain(w => w.Contains("DEPRECATED"));
        Check(data, Response(200, "data: [DONE]\n\n")).Ok.Should().BeFalse();
    }

    [Fact]
    public void Server_port_is_substituted_in_expected_bodies()
    {
        var block = Block("T", ("response_body", S("port $ServerPort\n")));
        Check(block, Response(200, "port 1984\n")).Ok.Should().BeTrue();
    }

    // ---- response_body_like / unlike (trap 3) ------------------------------------------------

    [Fact]
    public void Multi_line_like_text_gets_s_and_keeps_its_trailing_newline()
    {
        var data = "=== TEST 1: like\n--- request\nGET /t\n--- response_body_like\n^ok, upstream aborted after ~\\d+ chunks$\n";
        Check(data, Response(200, "ok, upstream aborted after ~3 chunks\n")).Ok.Should().BeTrue();
        // The pattern ends in "$\n": the body must really end with a newline.
        var failure = Check(data, Response(200, "ok, upstream aborted after ~3 chunks")).Failures.Single();
        failure.Name.Should().Be("TEST 1: like - response_body_like - response is expected (ok, upstream aborted after ~3 chunks)");
        failure.Message.Should().Contain("doesn't match '(?^s:^ok, upstream aborted after ~\\d+ chunks$\n# )'");
    }

    [Fact]
    public void Inline_like_text_has_no_newline_and_dot_crosses_lines()
    {
        var data = "=== TEST 1: inline\n--- request\nGET /t\n--- response_body_like: .*additional properties forbidden.*\n";
        Check(data, Response(400, "{\n\"error\":\"additional properties forbidden\"\n}\n")).Failures
            .Should().ContainSingle().Which.Name.Should().EndWith("status code ok");
    }

    [Fact]
    public void A_qr_value_keeps_only_its_own_flags()
    {
        // Without /s in the qr, "." must not cross the newline, even though the outer qr has /s.
        var block = Block("T", ("response_body_like", Re("start.*end")));
        Check(block, Response(200, "start\nend")).Ok.Should().BeFalse();
        Check(Block("T", ("response_body_like", Re("start.*end", "s"))), Response(200, "start\nend")).Ok.Should().BeTrue();
        // A plain string in an eval gets the outer /s.
        Check(Block("T", ("response_body_like", S("start.*end"))), Response(200, "start\nend")).Ok.Should().BeTrue();
    }

    [Fact]
    public void Unlike_fails_when_the_pattern_matches()
    {
        var data = "=== TEST 24: no ae\n--- request\nGET /t\n--- response_body_unlike eval\nqr/accept-encoding/\n";
        Check(data, Response(200, "{\"host\":\"x\"}")).Ok.Should().BeTrue();
        var failure = Check(data, Response(200, "{\"accept-encoding\":\"gzip\"}")).Failures.Single();
        failure.Name.Should().StartWith("TEST 24: no ae - response_body_unlike - response is expected (");
        failure.Message.Should().Contain("#           matches '(?^s:(?^:accept-encoding))'");
    }

    // ---- headers -------------------------------------------------------------------------------

    [Fact]
    public void Response_headers_are_exact_with_case_insensitive_names()
    {
        var data = "=== TEST 1: ct\n--- request\nGET /t\n--- response_headers\nContent-Type: application/json\n";
        Check(data, Response(200, "", ("content-type", "application/json"))).Ok.Should().BeTrue();

        var failure = Check(data, Response(200, "", ("Content-Type", "application/json; charset=utf-8"))).Failures.Single();
        failure.Name.Should().Be("TEST 1: ct - header Content-Type ok");
        failure.Message.Should().Contain("got: 'application/json; charset=utf-8'").And.Contain("expected: 'application/json'");
    }

    [Fact]
    public void Bang_name_asserts_a_header_is_absent()
    {
        var block = Block("T", ("response_headers", S("!X-Secret\nX-Kept: yes\n")));
        Check(block, Response(200, "", ("X-Kept", "yes"))).Ok.Should().BeTrue();
        Check(block, Response(200, "", ("X-Kept", "yes"), ("X-Secret", "1"))).Failures.Single().Name
            .Should().Be("T - header X-Secret not present in the raw headers");
    }

    [Fact]
    public void Response_headers_like_is_anchored()
    {
        var data = "=== TEST 1: sse\n--- request\nGET /t\n--- response_headers_like\nContent-Type: text/event-stream\n";
        Check(data, Response(200, "", ("Content-Type", "text/event-stream"))).Ok.Should().BeTrue();
        var failure = Check(data, Response(200, "", ("Content-Type", "text/event-stream; charset=utf-8"))).Failures.Single();
        failure.Name.Should().Be("TEST 1: sse - header Content-Type like ok");
        failure.Message.Should().Contain("doesn't match '(?^:^text/event-stream$)'");
    }

    // ---- logs ----------------------------------------------------------------------------------

    [Fact]
    public void Error_log_lines_are_literal_substrings_including_hash_lines()
    {
        var data = "=== TEST 1: log\n--- request\nGET /t\n--- error_log\nsigned request to [bedrock]\n#vertex-ai-one\n\nupstream status: 200\n";
        var log = new[]
        {
            "2024/01/01 [warn] 1#1: signed request to [bedrock] upstream status: 200",
            "2024/01/01 [info] 1#1: picked #vertex-ai-one",
        };
        Check(data, Response(200, ""), log).Ok.Should().BeTrue();

        var failure = Check(data, Response(200, ""), log[..1]).Failures.Single();
        failure.Name.Should().Be("TEST 1: log - pattern \"#vertex-ai-one\" should match a line in error.log (req 0)");
    }

    [Fact]
    public void Error_log_regex_must_match_a_line()
    {
        var data = "=== TEST 1: log\n--- request\nGET /t\n--- error_log eval\nqr{\\[test\\] received uri: /model/[^/]+/invoke}\n";
        Check(data, Response(200, ""), ["[warn] [test] received uri: /model/claude/invoke\n"]).Ok.Should().BeTrue();
        Check(data, Response(200, ""), ["[warn] [test] received uri: /other\n"]).Failures.Single().Name
            .Should().Contain("pattern \"(?^:\\[test\\] received uri: /model/[^/]+/invoke)\" should match a line in error.log");
    }

    [Fact]
    public void No_error_log_fails_on_each_matching_line_and_shows_it()
    {
        var data = "=== TEST 1: clean\n--- request\nGET /t\n--- no_error_log\n[error]\n";
        Check(data, Response(200, ""), ["[info] fine\n"]).Ok.Should().BeTrue();

        var failure = Check(data, Response(200, ""), ["[error] boom \"x\"\n", "[info] after\n", "[info] last\n"]).Failures.Single();
        failure.Name.Should().Be("TEST 1: clean - pattern \"[error]\" should not match any line in error.log but matches line \"[error] boom \\\"x\\\"\" (req 0)");
        failure.Message.Should().Contain("#     [info] after");
    }

    [Fact]
    public void Grep_error_log_collects_every_match()
    {
        var data = "=== TEST 2: flush\n--- request\nGET /t\n--- grep_error_log eval\nqr/flushing chunk to client/\n"
                   + "--- grep_error_log_out\nflushing chunk to client\nflushing chunk to client\n";
        string[] Log(int n) => Enumerable.Range(0, n).Select(i => $"[debug] lua_response_filter: flushing chunk to client, {i}").ToArray();

        Check(data, Response(200, ""), Log(2)).Ok.Should().BeTrue();
        var failure = Check(data, Response(200, ""), Log(3)).Failures.Single();
        failure.Name.Should().Be("TEST 2: flush - grep_error_log_out (req 0)");
        failure.Message.Should().Contain("got: 'flushing chunk to client\n# flushing chunk to client\n# flushing chunk to client\n# '");
    }

    [Fact]
    public void Access_log_uses_the_same_rules_over_the_access_log()
    {
        var data = "=== TEST 1: acc\n--- request\nGET /t\n--- access_log eval\nqr/\"POST \\/anything HTTP\\/1.1\" 200 \\d+ [\\d.]+ /\n";
        Check(data, Response(200, ""), [], ["127.0.0.1 - - [x] localhost \"POST /anything HTTP/1.1\" 200 12 0.2 \"-\"\n"]).Ok.Should().BeTrue();
        Check(data, Response(200, ""), ["\"POST /anything HTTP/1.1\" 200 12 0.2 in the error log"], []).Failures.Single().Name
            .Should().Contain("should match a line in access.log");
    }

    [Fact]
    public void Assertion_lines_fail_and_alert_lines_warn()
    {
        var r = Check("=== TEST 1: x\n--- request\nGET /t\n", Response(200, ""),
            ["[alert] 1#1: worker went away\n", "nginx: ngx_foo.c:12: Assertion `p != NULL' failed.\n"]);
        r.Failures.Single().Name.Should().Be("TEST 1: x - nginx: ngx_foo.c:12: Assertion `p != NULL' failed.");
        r.Warnings.Should().Equal("WARNING: TEST 1: x - [alert] 1#1: worker went away");
    }

    [Fact]
    public void An_alert_named_in_a_log_section_does_not_warn()
    {
        var r = Check("=== TEST 1: x\n--- request\nGET /t\n--- error_log\n[alert]\n", Response(200, ""), ["[alert] expected\n"]);
        r.Ok.Should().BeTrue();
        r.Warnings.Should().BeEmpty();
    }

    // ---- transport, abort, ignore_response, several requests ------------------------------------

    private static HttpResult TimedOut(string partial = "") => new()
    {
        Error = HttpResult.TimeoutError, TimedOut = true, Raw = partial,
    };

    [Fact]
    public void A_timeout_fails_the_block()
    {
        var r = Check(Block("TEST 8: slow"), TimedOut());
        r.Failures.Select(f => f.Name).Should().Equal("ERROR: client socket timed out - TEST 8: slow", "TEST 8: slow - status code ok");
    }

    [Fact]
    public void With_abort_a_timeout_is_not_a_failure()
    {
        var partial = HttpResponseParser.Parse("HTTP/1.1 200 OK\r\n\r\npart");
        partial.Error = HttpResult.TimeoutError;
        partial.TimedOut = true;
        Check(Block("T", ("abort", S(""))), partial).Ok.Should().BeTrue();
    }

    [Fact]
    public void A_parse_error_fails_and_the_response_counts_as_missing()
    {
        var broken = HttpResponseParser.Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
        var r = Check(Block("T", ("response_body", S("ab"))), broken);
        r.Failures.Select(f => f.Name).Should().Equal(
            "T - invalid chunked data received (not enough octets for the data section)",
            "T - status code ok",
            "T - response_body - response is expected (repeated req 0, req 0)");
        r.Failures[2].Message.Should().Contain("got: undef");
    }

    [Fact]
    public void Ignore_response_skips_status_headers_and_body()
    {
        Check(Block("T", ("ignore_response", S("")), ("response_body", S("x"))), Response(500, "y")).Ok.Should().BeTrue();
    }

    [Fact]
    public void Several_requests_take_array_expectations()
    {
        var block = Block("T", ("error_code", A(S("200"), S("404"))), ("response_body", A(S("a"), S("b"))));
        Check(block, Response(200, "a"), Response(404, "b")).Ok.Should().BeTrue();

        var r = Check(block, Response(200, "a"), Response(404, "c"));
        r.Failures.Single().Name.Should().Be("T - response_body - response is expected (repeated req 0, req 1)");
    }

    [Fact]
    public void Several_requests_with_a_scalar_expectation_fail()
    {
        var r = Check(Block("T", ("response_body", S("a"))), Response(200, "a"), Response(200, "a"));
        r.Failures.Should().HaveCount(2).And.OnlyContain(f =>
            f.Name == "T - You asked for many requests, the expected results should be arrays as well.");
    }

    [Fact]
    public void A_bad_regex_fails_readably()
    {
        var r = Check(Block("T", ("response_body_like", Re("a(b"))), Response(200, "ab"));
        r.Failures.Single().Message.Should().Contain("can't compile /a(b/");
    }
}
