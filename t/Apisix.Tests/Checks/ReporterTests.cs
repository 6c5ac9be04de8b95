using System.Text;
using System.Text.Json;
using Apisix.TestNginx.Checks;
using Apisix.TestNginx.Reporting;
using FluentAssertions;
using Xunit;
using static Apisix.Tests.Checks.Make;

namespace Apisix.Tests.Checks;

public class ReporterTests
{
    // "TEST 2: a → b" as the loader holds it: the arrow's three UTF-8 bytes, one char each.
    private static readonly string ArrowName = "TEST 2: a " + Encoding.Latin1.GetString(Encoding.UTF8.GetBytes("→")) + " b";

    private static List<FileOutcome> SampleRun()
    {
        var failing = BlockChecker.Run(Block(ArrowName), [Response(500, "")], [], []);
        return
        [
            new FileOutcome
            {
                File = "t/plugin/ai-proxy.t",
                Blocks =
                [
                    new BlockOutcome { Index = 1, Name = "TEST 1: set route", Status = BlockOutcome.Pass, Elapsed = TimeSpan.FromMilliseconds(12) },
                    BlockOutcome.From(2, ArrowName, failing, TimeSpan.FromMilliseconds(30)),
                    new BlockOutcome { Index = 3, Name = "TEST 3: later", Status = BlockOutcome.Skip, Message = "needs etcd" },
                ],
            },
            new FileOutcome { File = "t/plugin/broken.t", Error = "t/plugin/broken.t:4: 'while' statements are not supported" },
        ];
    }

    [Fact]
    public void Tap_output_is_prove_like_with_a_summary()
    {
        var output = new StringWriter();
        var totals = new TapReporter(output).Write(SampleRun());

        totals.Should().Be(new RunTotals(1, 2, 1));
        output.ToString().Replace("\r\n", "\n").Should().Be(
            "# t/plugin/ai-proxy.t\n" +
            "ok 1 - t/plugin/ai-proxy.t TEST 1: set route\n" +
            "not ok 2 - t/plugin/ai-proxy.t TEST 2: a → b\n" +
            "#   Failed test 'TEST 2: a → b - status code ok'\n" +
            "#          got: '500'\n" +
            "#     expected: '200'\n" +
            "ok 3 - t/plugin/ai-proxy.t TEST 3: later # SKIP needs etcd\n" +
            "# t/plugin/broken.t\n" +
            "not ok 4 - t/plugin/broken.t # file error\n" +
            "# t/plugin/broken.t:4: 'while' statements are not supported\n" +
            "1..4\n" +
            "1 passed, 2 failed, 1 skipped\n");
    }

    [Fact]
    public void Tap_prints_warnings_and_escapes_hash_in_names()
    {
        var output = new StringWriter();
        var reporter = new TapReporter(output);
        reporter.Block("t/x.t", new BlockOutcome { Index = 1, Name = "TEST 1: issue #42", Warnings = ["WARNING: TEST 1: issue #42 - [alert] x"] });
        reporter.Finish();
        output.ToString().Should().Contain("ok 1 - t/x.t TEST 1: issue \\#42\n".Replace("\n", Environment.NewLine))
            .And.Contain("# WARNING: TEST 1: issue #42 - [alert] x");
    }

    [Fact]
    public void Summary_line_format()
    {
        new RunTotals(3, 0, 2).ToString().Should().Be("3 passed, 0 failed, 2 skipped");
    }

    [Fact]
    public void Json_report_has_files_blocks_and_utf8_names()
    {
        var path = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.json");
        try
        {
            JsonReporter.Write(SampleRun(), path);
            var bytes = File.ReadAllBytes(path);
            Encoding.UTF8.GetString(bytes).Should().Contain("TEST 2: a → b", "the name is written as real UTF-8, not escaped or mojibake");

            using var doc = JsonDocument.Parse(bytes);
            var files = doc.RootElement.GetProperty("files");
            files.GetArrayLength().Should().Be(2);
            var blocks = files[0].GetProperty("blocks");
            blocks[0].GetProperty("index").GetInt32().Should().Be(1);
            blocks[0].GetProperty("status").GetString().Should().Be("pass");
            blocks[0].GetProperty("message").ValueKind.Should().Be(JsonValueKind.Null);
            blocks[1].GetProperty("name").GetString().Should().Be("TEST 2: a → b");
            blocks[1].GetProperty("status").GetString().Should().Be("fail");
            blocks[1].GetProperty("message").GetString().Should().Contain("#     expected: '200'");
            blocks[2].GetProperty("status").GetString().Should().Be("skip");
            files[1].GetProperty("error").GetString().Should().Contain("not supported");
            files[1].GetProperty("blocks").GetArrayLength().Should().Be(0);
            doc.RootElement.GetProperty("summary").GetProperty("failed").GetInt32().Should().Be(2);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Byte_strings_decode_as_utf8_and_text_stays_text()
    {
        ByteStrings.ToText(ArrowName).Should().Be("TEST 2: a → b");
        ByteStrings.ToText("already → text").Should().Be("already → text");
        ByteStrings.ToText(null).Should().Be("");
    }
}
