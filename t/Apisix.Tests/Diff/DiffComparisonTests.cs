using System.Text.Json;
using Apisix.TestNginx.Diff;
using Apisix.TestNginx.Reporting;
using Apisix.Tests.TFiles;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Diff;

/// <summary>
/// The `diff` command's comparison and reports, against captures of our own making:
/// t/fixtures/diff/sample.real.jsonl and sample.real.tap were recorded with the capture module on
/// Debian's nginx running t/fixtures/diff/sample.t; "ours" is built here, with chosen differences.
/// </summary>
public class DiffComparisonTests
{
    private static string Fixture(string name) => Path.Combine(OurTFiles.RepoRoot, "t", "fixtures", "diff", name);

    private const string OursServroot = "/work/t/servroot";

    private static RequestRecord Rec(string request, int status, string headers, string body) => new()
    {
        Request = request,
        Status = status,
        RawHeaders = $"HTTP/1.1 {status} X\r\nServer: openresty\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n" + headers,
        Body = body,
    };

    /// <summary>Ours: TEST 1 the same JSON in another key order plus one header of its own, TEST 2 the same
    /// failure and log lines (other pids, times, connections), TEST 3 another 404 page, TEST 4 a pass.</summary>
    private static FileOutcome Ours() => new()
    {
        File = "t/sample.t",
        Blocks =
        [
            new BlockOutcome
            {
                Index = 1, Name = "TEST 1: a JSON body and a header of our own", Status = "pass",
                Requests = [Rec("GET /fruit HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 200,
                    "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nx-fixture: pear\r\nX-Ours: 1\r\n",
                    "{\"ripe\":true,\"sizes\":[1,2,3.0],\"name\":\"pear\"}\n")],
                ErrorLog = [[]],
            },
            new BlockOutcome
            {
                Index = 2, Name = "TEST 2: two requests that each write a warning", Status = "fail",
                Message = "TEST 2: two requests that each write a warning - pattern \"fixture counting 2\" should match a line in error.log (req 0)",
                Requests =
                [
                    Rec("GET /count?n=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 200,
                        "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n", "n=1\n"),
                    Rec("GET /count?n=2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 200,
                        "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n", "n=2\n"),
                ],
                ErrorLog =
                [
                    ["2026/01/01 10:00:00 [debug] 7#7: *3 not compared", "2026/01/01 10:00:00 [warn] 7#7: *3 [lua] content_by_lua(nginx.conf:40):2: fixture counting 1, client: 127.0.0.1, server: localhost, request: \"GET /count?n=1 HTTP/1.1\", host: \"localhost\""],
                    ["2026/01/01 10:00:01 [warn] 7#7: *4 [lua] content_by_lua(nginx.conf:40):2: fixture counting 2, client: 127.0.0.1, server: localhost, request: \"GET /count?n=2 HTTP/1.1\", host: \"localhost\""],
                ],
            },
            new BlockOutcome
            {
                Index = 3, Name = "TEST 3: not found", Status = "pass",
                Requests = [Rec("GET /elsewhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 404,
                    "Content-Type: text/html\r\nContent-Length: 153\r\nConnection: close\r\n",
                    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n")],
                ErrorLog = [["2026/01/01 10:00:02 [error] 9#9: *1 open() \"/work/t/servroot/html/elsewhere\" failed (2: No such file or directory), client: 127.0.0.1, server: localhost, request: \"GET /elsewhere HTTP/1.1\", host: \"localhost\""]],
            },
            new BlockOutcome
            {
                Index = 4, Name = "TEST 4: a wrong expectation, on purpose", Status = "pass",
                Requests = [Rec("GET /plain HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 200,
                    "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n", "plain text")],
                ErrorLog = [[]],
            },
        ],
    };

    private static FileDiff CompareFixture()
    {
        var captures = CapturedBlock.ReadJsonLines(File.ReadAllLines(Fixture("sample.real.jsonl")));
        var tap = TapOutput.Parse(File.ReadAllLines(Fixture("sample.real.tap")));
        var options = new CompareOptions { RealServroot = "/tmp/servroot-real", OursServroot = OursServroot };
        return FileComparer.Compare("t/sample.t", "default", "nginx + Lua module", FileBlocks.Read(Fixture("sample.t")),
            tap, captures, Ours(), options);
    }

    [Fact]
    public void The_fixture_file_has_four_blocks_all_selected()
    {
        FileBlocks.Read(Fixture("sample.t")).Select(e => (e.Index, e.Selected)).Should().Equal((1, true), (2, true), (3, true), (4, true));
    }

    [Fact]
    public void Verdicts_come_from_the_tap_tests_in_each_captured_range()
    {
        var diff = CompareFixture();
        diff.Blocks.Select(b => (b.Real, b.Ours)).Should().Equal(("pass", "pass"), ("fail", "fail"), ("pass", "pass"), ("fail", "pass"));
        diff.Blocks[1].RealDetail.Should().Contain("not ok 6 - t/sample.t TEST 2").And.Contain("#   Failed test");
        diff.Blocks[3].RealDetail.Should().Contain("expected: \"not what the server says\"");
        diff.Blocks.Select(b => b.VerdictAgrees).Should().Equal(true, true, true, false);
        diff.Notes.Should().BeEmpty();
    }

    /// <summary>
    /// A must_die block run <paramref name="repeats"/> times: the real side's TAP lines (numbered
    /// from 1, one capture record holding them all, as Test::Nginx repeats such a block inside one
    /// run_test call), ours passing each repetition.
    /// </summary>
    private static FileDiff CompareMustDie(int repeats, params string[] tests)
    {
        var dir = Directory.CreateTempSubdirectory("must-die-").FullName;
        try
        {
            var file = Path.Combine(dir, "m.t");
            File.WriteAllText(file, $"use Test::Nginx::Socket;\nrepeat_each({repeats});\nrun_tests();\n__DATA__\n\n=== TEST 1: bad config\n--- config\n    bogus;\n--- must_die\n");
            var tap = TapOutput.Parse([.. tests.Select((t, i) => t.Replace("#", $"{i + 1} - t/m.t TEST 1: bad config")), $"1..{tests.Length}"]);
            var logs = string.Join(",", Enumerable.Repeat("[]", repeats));
            var captures = CapturedBlock.ReadJsonLines([$"{{\"block\":\"TEST 1: bad config\",\"repeat\":0,\"tests\":[1,{tests.Length}],\"requests\":[],\"error_log\":[{logs}]}}"]);
            var pass = new BlockOutcome { Index = 1, Name = "TEST 1: bad config", Status = "pass" };
            var ours = new FileOutcome { File = "t/m.t", Blocks = [.. Enumerable.Repeat(pass, repeats)] };
            return FileComparer.Compare("t/m.t", "default", "nginx + Lua module", FileBlocks.Read(file), tap, captures, ours, new CompareOptions());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_must_die_blocks_one_capture_record_gives_each_repetition_its_own_tests()
    {
        // each repetition's tests start with "die as expected"
        var diff = CompareMustDie(2,
            "ok # - die as expected",
            "ok # - pattern \"x\" matches a line in error.log (req 0)",
            "ok # - die as expected",
            "not ok # - pattern \"x\" matches a line in error.log (req 1)");
        diff.Blocks.Select(b => (b.Repeat, b.Real, b.Ours)).Should().Equal((0, "pass", "pass"), (1, "fail", "pass"));
    }

    [Fact]
    public void A_must_die_record_splits_at_each_start_even_a_failed_one_and_the_shutdown_checks_go_with_the_last()
    {
        // a repetition's first test may be a failure in place of "die as expected" (nginx did not
        // start at all), and the block's shutdown log checks follow the last repetition's tests
        var diff = CompareMustDie(3,
            "ok # - die with the expected exit code",
            "ok # - pattern \"x\" matches a line in error.log (req 0)",
            "not ok # - nginx core dumped",
            "ok # - pattern \"x\" matches a line in error.log (req 1)",
            "ok # - die with the expected exit code",
            "ok # - pattern \"x\" matches a line in error.log (req 2)",
            "not ok # - pattern \"y\" matches a line in error.log");
        diff.Blocks.Select(b => (b.Repeat, b.Real, b.Ours)).Should().Equal((0, "pass", "pass"), (1, "fail", "pass"), (2, "fail", "pass"));
        diff.Blocks[1].RealDetail.Should().Contain("nginx core dumped");
        diff.Blocks[2].RealDetail.Should().Contain("pattern \"y\"");
        diff.Notes.Should().BeEmpty();
    }

    [Fact]
    public void Json_bodies_compare_as_json_and_headers_by_name_without_the_ones_that_vary_by_nature()
    {
        var b1 = CompareFixture().Blocks[0];
        b1.Requests.Should().ContainSingle();
        var q = b1.Requests[0];
        q.StatusDiffers.Should().BeFalse();
        q.BodyDiffers.Should().BeFalse("key order and 3.0 vs 3 do not count in JSON");
        q.BodyIsJson.Should().BeTrue();
        // Server and Date differ but are not compared; X-Fixture matches whatever its case
        q.Headers.Should().Equal(new HeaderDiff("X-Ours", null, "1"));
        b1.Fields.Should().Equal("headers");
        b1.Agrees.Should().BeFalse();
    }

    [Fact]
    public void Log_lines_compare_after_normalising_and_only_at_warn_and_above()
    {
        var diff = CompareFixture();
        diff.Blocks[1].Log.Should().BeNull("the same two warnings, other pids, times and connection numbers");
        diff.Blocks[1].OursLog.Should().HaveCount(2).And.AllSatisfy(l => l.Should().StartWith("[warn]#: *N [lua]"));
        // the server roots differ: both become $SERVROOT
        diff.Blocks[2].Log.Should().BeNull();
        diff.Blocks[2].RealLog.Should().ContainSingle().Which.Should().Contain("\"$SERVROOT/html/elsewhere\"");
    }

    [Fact]
    public void A_text_body_difference_is_a_line_diff()
    {
        var q = CompareFixture().Blocks[2].Requests[0];
        q.BodyDiffers.Should().BeTrue();
        q.BodyIsJson.Should().BeFalse();
        q.Body!.Where(r => r.Kind != DiffRow.Same).Should().Equal(new DiffRow(DiffRow.Changed, "<hr><center>nginx/1.22.1</center>\r", "<hr><center>openresty</center>\r"));
    }

    [Fact]
    public void Json_body_differences_show_the_changed_field()
    {
        var (differs, isJson, rows) = BlockComparer.CompareBodies("{\"a\":1,\"b\":{\"c\":\"x\"}}", "{\"b\":{\"c\":\"y\"},\"a\":1.0}");
        differs.Should().BeTrue();
        isJson.Should().BeTrue();
        rows.Where(r => r.Kind != DiffRow.Same).Should().Equal(new DiffRow(DiffRow.Changed, "    \"c\": \"x\"", "    \"c\": \"y\""));
    }

    [Fact]
    public void Canonical_json_keeps_strings_readable()
    {
        BlockComparer.Canonical(System.Text.Json.Nodes.JsonNode.Parse("{\"b\":\"say \\\"hi\\\" é\",\"a\":[]}"))
            .Should().Be("{\n  \"a\": [],\n  \"b\": \"say \\\"hi\\\" é\"\n}");
    }

    [Fact]
    public void Repeated_headers_compare_by_their_values_in_order()
    {
        var d = BlockComparer.CompareHeaders("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n",
            "HTTP/1.1 200 OK\r\nset-cookie: b=2\r\nset-cookie: a=1\r\n", new CompareOptions());
        d.Should().Equal(new HeaderDiff("Set-Cookie", "a=1, b=2", "b=2, a=1"));
    }

    [Fact]
    public void Error_log_lines_keep_warn_and_above_and_their_continuation_lines()
    {
        var kept = ErrorLogLines.AtLeastWarn([
            "2026/01/01 00:00:00 [notice] 1#1: start",
            "2026/01/01 00:00:00 [error] 1#1: *5 lua entry thread aborted: runtime error: x",
            "stack traceback:",
            "\tcoroutine 0:",
            "2026/01/01 00:00:00 [info] 1#1: *5 client closed",
            "also info's continuation",
            "2026/01/01 00:00:00 [] 1#1: *5 [lua] stderr line",
        ]);
        kept.Should().Equal(
            "2026/01/01 00:00:00 [error] 1#1: *5 lua entry thread aborted: runtime error: x", "stack traceback:", "\tcoroutine 0:",
            "2026/01/01 00:00:00 [] 1#1: *5 [lua] stderr line");
        ErrorLogLines.Messages(kept).Should().Equal(
            "2026/01/01 00:00:00 [error] 1#1: *5 lua entry thread aborted: runtime error: x\nstack traceback:\n\tcoroutine 0:",
            "2026/01/01 00:00:00 [] 1#1: *5 [lua] stderr line");
        ErrorLogLines.Normalize("2026/12/06 19:52:24 [warn] 4706#4706: *12 table: 0x7f3a2c0d1e40 seen, client: 127.0.0.1:53422")
            .Should().Be("[warn]#: *N table: 0xADDR seen, client: 127.0.0.1:PORT");
    }

    [Fact]
    public void A_block_only_one_side_ran_has_no_requests_to_compare_and_a_missing_response_is_flagged()
    {
        var diff = new BlockDiff { Name = "TEST 9: x" };
        BlockComparer.Compare(diff, null, new CapturedBlock { Requests = [new RequestRecord { Request = "GET / HTTP/1.1\r\n", Status = 200 }] }, new CompareOptions());
        diff.Requests.Should().BeEmpty();

        var two = new BlockDiff { Name = "TEST 9: x" };
        BlockComparer.Compare(two, new CapturedBlock { Requests = [new RequestRecord { Request = "a", Status = 200 }] },
            new CapturedBlock { Requests = [new RequestRecord { Request = "a", Status = 200 }, new RequestRecord { Request = "b", Status = 500 }] }, new CompareOptions());
        two.Requests.Select(r => r.Missing).Should().Equal(false, true);
        two.Fields.Should().Equal("requests");
    }

    [Fact]
    public void A_skip_all_file_skips_every_block_on_the_real_side()
    {
        var tap = TapOutput.Parse(["t/x.t .. ", "1..0 # SKIP no redis here"]);
        tap.SkipAll.Should().Be("no redis here");
        var diff = FileComparer.Compare("t/x.t", "default", "nginx", [new FileBlocks.Entry(1, "TEST 1: a", true)], tap, [],
            new FileOutcome { File = "t/x.t", Blocks = [new BlockOutcome { Index = 1, Name = "TEST 1: a", Status = "skip", Message = "no redis here" }] },
            new CompareOptions());
        diff.Blocks.Should().ContainSingle().Which.VerdictAgrees.Should().BeTrue();
    }

    [Fact]
    public void Tap_lines_without_a_capture_are_matched_by_block_name()
    {
        var tap = TapOutput.Parse(["ok 1 - t/x.t TEST 1: a - status code ok", "not ok 2 - t/x.t TEST 1: a - response_body", "#   Failed test 'x'"]);
        var diff = FileComparer.Compare("t/x.t", "default", "nginx", [new FileBlocks.Entry(1, "TEST 1: a", true)], tap, [],
            new FileOutcome { File = "t/x.t" }, new CompareOptions());
        diff.Blocks[0].Real.Should().Be("fail");
        diff.Blocks[0].Ours.Should().Be("?");
        diff.Blocks[0].VerdictAgrees.Should().BeFalse();
    }

    [Fact]
    public void The_terminal_table_names_both_verdicts_and_what_differs()
    {
        var diff = CompareFixture();
        var o = new StringWriter();
        TextReport.WriteFile(o, diff, 60);
        TextReport.WriteSummary(o, [diff]);
        var text = o.ToString();
        text.Should().Contain("== t/sample.t (default mode; real: nginx + Lua module)");
        text.Should().MatchRegex(@"TEST 1: a JSON body and a header of our own\s+pass\s+pass\s+yes\s+headers");
        text.Should().MatchRegex(@"TEST 4: a wrong expectation, on purpose\s+fail\s+pass\s+NO\s+-");
        text.Should().Contain("header X-Ours: real (absent), ours \"1\"");
        text.Should().Contain("- <hr><center>nginx/1.22.1</center>");
        text.Should().Contain("t/sample.t [default]: 4 blocks, 3 verdicts agree, 1 disagree; of 2 passing on real, 2 pass on ours (100.0%); 1 pass on ours only; "
                              + "5 requests compared, 2 differ (status 0, headers 1, body 1, only on one side 0); 0 blocks with log differences");
    }

    [Fact]
    public void The_json_report_holds_every_block_and_request_and_the_totals()
    {
        using var doc = JsonDocument.Parse(JsonDiffReport.ToJson([CompareFixture()]));
        var root = doc.RootElement;
        root.GetProperty("summary").GetProperty("verdicts_disagree").GetInt32().Should().Be(1);
        root.GetProperty("summary").GetProperty("requests").GetInt32().Should().Be(5);
        var blocks = root.GetProperty("files")[0].GetProperty("blocks");
        blocks.GetArrayLength().Should().Be(4);
        blocks[0].GetProperty("differs")[0].GetString().Should().Be("headers");
        blocks[0].GetProperty("requests")[0].GetProperty("real").GetProperty("status").GetInt32().Should().Be(200);
        blocks[2].GetProperty("requests")[0].GetProperty("body_diff").GetString().Should().Contain("+ <hr><center>openresty</center>");
        blocks[3].GetProperty("verdicts_agree").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public void The_html_page_is_self_contained_with_one_coloured_row_per_block()
    {
        var html = HtmlReport.Render([CompareFixture()], "diff <test>", "Debian nginx");
        html.Should().StartWith("<!DOCTYPE html>");
        html.Should().Contain("<title>diff &lt;test&gt;</title>");
        html.Should().NotMatchRegex("(src|href)=\"(https?:)?//", "the page loads nothing from elsewhere");
        System.Text.RegularExpressions.Regex.Matches(html, "<details class=\"blk ").Count.Should().Be(4);
        html.Should().Contain("<details class=\"blk fields\">").And.Contain("<details class=\"blk verdict\">").And.Contain("<details class=\"blk ok\">");
        html.Should().Contain("&lt;hr&gt;&lt;center&gt;openresty&lt;/center&gt;", "bodies are escaped");
        html.Should().Contain("<tr class=\"chg\"><td>X-Ours</td>");
    }

    [Fact]
    public void Our_json_report_records_requests_and_log_lines_as_byte_strings()
    {
        var outcome = new FileOutcome
        {
            File = "t/a.t",
            Blocks = [new BlockOutcome
            {
                Index = 1, Name = "TEST 1: a",
                Requests = [new RequestRecord { Request = "GET / HTTP/1.1\r\n\r\n", Status = 200, RawHeaders = "HTTP/1.1 200 OK\r\n", Body = "caf\u00c3\u00a9" }],
                ErrorLog = [["2026/01/01 00:00:00 [warn] 1#1: x"]],
            }],
        };
        using var doc = JsonDocument.Parse(JsonReporter.ToJson([outcome]));
        var block = doc.RootElement.GetProperty("files")[0].GetProperty("blocks")[0];
        var captured = CapturedBlock.FromJson(block);
        captured.Requests.Should().ContainSingle().Which.Body.Should().Be("caf\u00c3\u00a9", "one char per byte, as the Perl capture writes it");
        captured.Requests[0].Status.Should().Be(200);
        captured.ErrorLog.Should().ContainSingle().Which.Should().Equal("2026/01/01 00:00:00 [warn] 1#1: x");
    }
    [Fact]
    public void Log_lines_lose_request_ids_uuids_and_the_key_order_of_Lua_tables()
    {
        ErrorLogLines.Normalize("2026/12/06 21:15:32 [warn] 18260#18260: *3 exits, client: 127.0.0.1, host: \"localhost\", request_id: \"d156b49352c048fded090fa5419cb473\"")
            .Should().Be("[warn]#: *N exits, client: 127.0.0.1, host: \"localhost\", request_id: \"ID\"");
        ErrorLogLines.Normalize("2026/12/06 21:15:32 [error] 1#1: *3 id 3badcc94-51e8-423a-9e44-518fb47e4b78 gone")
            .Should().Be("[error]#: *N id UUID gone");
        // cjson writes a Lua table's keys in hash order, which differs from run to run
        var a = ErrorLogLines.Normalize("2026/12/06 21:15:25 [warn] 1#1: *1 new plugins: {\"syslog\":true,\"a\":{\"z\":1,\"b\":[2,{\"y\":1,\"x\":2}]}}, context: init_worker_by_lua*");
        var b = ErrorLogLines.Normalize("2026/12/06 21:15:26 [warn] 2#2: *2 new plugins: {\"a\":{\"b\":[2,{\"x\":2,\"y\":1}],\"z\":1},\"syslog\":true}, context: init_worker_by_lua*");
        a.Should().Be(b).And.Be("[warn]#: *N new plugins: {\"a\":{\"b\":[2,{\"x\":2,\"y\":1}],\"z\":1},\"syslog\":true}, context: init_worker_by_lua*");
        ErrorLogLines.SortJsonObjects("not json {here} and {\"b\":1,\"a\":\"}\"} end").Should().Be("not json {here} and {\"a\":\"}\",\"b\":1} end");
    }

    [Fact]
    public void Positions_in_APISIX_Lua_modules_are_dropped_unless_asked_for_and_a_block_s_own_Lua_keeps_its()
    {
        const string real = "2026/12/06 21:15:32 [warn] 1#1: *3 [lua] plugin.lua:1338: run_plugin(): ai-proxy exits with http status code 400, client: 127.0.0.1";
        const string ours = "2026/12/06 21:15:33 [warn] 7#7: *9 ai-proxy exits with http status code 400, client: 127.0.0.1";
        ErrorLogLines.Normalize(real, luaPositions: false).Should().Be(ErrorLogLines.Normalize(ours, luaPositions: false));
        ErrorLogLines.Normalize(real).Should().Contain("[lua] plugin.lua:1338: run_plugin(): ");
        ErrorLogLines.Normalize("2026/12/06 21:15:32 [warn] 1#1: *3 [lua] base.lua:390: failed", luaPositions: false).Should().Be("[warn]#: *N failed");
        ErrorLogLines.Normalize("2026/12/06 21:15:32 [warn] 1#1: *3 [lua] content_by_lua(nginx.conf:40):3: hi", luaPositions: false)
            .Should().Be("[warn]#: *N [lua] content_by_lua(nginx.conf:40):3: hi");
        ErrorLogLines.Normalize("2026/12/06 21:15:32 [error] 1#1: *3 lua entry thread aborted: runtime error: x\nstack traceback:\ncoroutine 0:\n\t[C]: in function 'error'", luaPositions: false)
            .Should().Be("[error]#: *N lua entry thread aborted: runtime error: x\nstack traceback: (frames not compared)");

        var diff = new BlockDiff { Name = "TEST 1: x" };
        BlockComparer.Compare(diff, new CapturedBlock { ErrorLog = [[real]] }, new CapturedBlock { ErrorLog = [[ours]] }, new CompareOptions());
        diff.Log.Should().BeNull("by default the module position is not compared");
        var strict = new BlockDiff { Name = "TEST 1: x" };
        BlockComparer.Compare(strict, new CapturedBlock { ErrorLog = [[real]] }, new CapturedBlock { ErrorLog = [[ours]] }, new CompareOptions { LuaPositions = true });
        strict.Log.Should().NotBeNull();
    }

    [Fact]
    public void Uuids_in_bodies_compare_equal_and_other_differences_still_show()
    {
        BlockComparer.CompareBodies("{\"x-request-id\":\"3badcc94-51e8-423a-9e44-518fb47e4b78\"}", "{\"x-request-id\":\"4bd88919-dd40-4bc9-bf03-28ebf886d337\"}")
            .Differs.Should().BeFalse();
        BlockComparer.CompareBodies("id 3badcc94-51e8-423a-9e44-518fb47e4b78\n", "id 4bd88919-dd40-4bc9-bf03-28ebf886d337\n").Differs.Should().BeFalse();
        BlockComparer.CompareBodies("encode: {\"fun\":\"function: 0x7f57cb8e6d10\"}\n", "encode: {\"fun\":\"function: 0x7f38bc04dc20\"}\n").Differs.Should().BeFalse();
        var (differs, isJson, _) = BlockComparer.CompareBodies("{\"ua\":\"ngx_lua/10031\",\"id\":\"3badcc94-51e8-423a-9e44-518fb47e4b78\"}",
            "{\"ua\":\"ngx_lua/10026\",\"id\":\"4bd88919-dd40-4bc9-bf03-28ebf886d337\"}");
        differs.Should().BeTrue();
        isJson.Should().BeTrue();

        // an SSE stream: each data line's object in Lua's hash order on one side, insertion order on the other
        BlockComparer.CompareBodies("event: a\ndata: {\"type\":\"x\",\"index\":0}\n\n", "event: a\ndata: {\"index\":0,\"type\":\"x\"}\n\n")
            .Differs.Should().BeFalse();
        BlockComparer.CompareBodies("data: {\"content\":{}}\n", "data: {\"content\":[]}\n").Differs.Should().BeTrue();
    }
}
