using System.Diagnostics;
using System.Text.Json;
using Apisix.TestNginx.Diff;
using Apisix.Tests.TFiles;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Diff;

/// <summary>
/// Runs only where the real side is installed: a Test::Nginx checkout ($TEST_NGINX_LIB, or the one
/// at /tmp/lead-test-nginx), prove, and an nginx with the Lua module (Debian's nginx and
/// libnginx-mod-http-lua). CI has none of them, so these tests skip there, saying why.
/// </summary>
public sealed class RealTestNginxFactAttribute : FactAttribute
{
    public static readonly string? Lib = FindLib();

    /// <summary>The real nginx's port in these tests ($DIFF_TEST_PORT, default 3994).</summary>
    public static int Port => int.TryParse(Environment.GetEnvironmentVariable("DIFF_TEST_PORT"), out var p) ? p : 3994;

    public RealTestNginxFactAttribute()
    {
        if (Lib == null) Skip = "Test::Nginx not found (set TEST_NGINX_LIB to a checkout of openresty/test-nginx): the capture module runs inside it";
        else if (!File.Exists("/usr/sbin/nginx") || !RealSide.DebianModules.All(File.Exists))
            Skip = "Debian's nginx with libnginx-mod-http-lua is not installed: no real nginx to capture";
        else if (!File.Exists("/usr/bin/prove")) Skip = "prove (Perl) is not installed";
    }

    private static string? FindLib()
    {
        foreach (var cand in new[] { Environment.GetEnvironmentVariable("TEST_NGINX_LIB"), "/tmp/lead-test-nginx" })
        {
            if (string.IsNullOrEmpty(cand)) continue;
            foreach (var lib in new[] { Path.Combine(cand, "lib"), cand })
                if (File.Exists(Path.Combine(lib, "Test", "Nginx", "Socket", "Lua.pm"))) return lib;
        }
        return null;
    }
}

[Collection("real nginx port")]
public class CaptureModuleTests
{
    private static readonly string ModuleDir = Path.Combine(OurTFiles.RepoRoot, "Apisix.TestNginx", "tools", "perl");

    private static (List<string> Tap, int Code) Prove(string dir, string? capture)
    {
        var servroot = Directory.CreateTempSubdirectory("capture-test-servroot-").FullName;
        try
        {
            var psi = new ProcessStartInfo("/bin/sh") { WorkingDirectory = dir, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "-c", "exec prove -v --nocolor -I\"$1\" t/sample.t 2>&1", "sh", RealTestNginxFactAttribute.Lib! })
                psi.ArgumentList.Add(a);
            psi.Environment["TEST_NGINX_BINARY"] = "/usr/sbin/nginx";
            psi.Environment["TEST_NGINX_LOAD_MODULES"] = string.Join(" ", RealSide.DebianModules);
            psi.Environment["TEST_NGINX_PORT"] = RealTestNginxFactAttribute.Port.ToString();
            psi.Environment["TEST_NGINX_SERVER_PORT"] = RealTestNginxFactAttribute.Port.ToString();
            psi.Environment["TEST_NGINX_SERVROOT"] = servroot;
            psi.Environment["TEST_NGINX_NO_SHUFFLE"] = "1";
            psi.Environment.Remove("TEST_NGINX_USE_HUP");
            psi.Environment.Remove("TEST_NGINX_CAPTURE");
            psi.Environment.Remove("PERL5OPT");
            if (capture != null)
            {
                psi.Environment["TEST_NGINX_CAPTURE"] = capture;
                psi.Environment["PERL5OPT"] = $"-I{ModuleDir} -MTestNginxCapture";
            }
            using var p = Process.Start(psi)!;
            var lines = p.StandardOutput.ReadToEnd().Split('\n').ToList();
            p.WaitForExit();
            return (lines, p.ExitCode);
        }
        finally { Directory.Delete(servroot, true); }
    }

    private static string CopyFixture()
    {
        var dir = Directory.CreateTempSubdirectory("capture-test-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "t"));
        File.Copy(Path.Combine(OurTFiles.RepoRoot, "t", "fixtures", "diff", "sample.t"), Path.Combine(dir, "t", "sample.t"));
        return dir;
    }

    [RealTestNginxFact]
    public void The_capture_changes_no_verdict_and_records_every_request_and_log_check()
    {
        var dir = CopyFixture();
        try
        {
            var capture = Path.Combine(dir, "capture.jsonl");
            var plain = Prove(dir, null);
            var captured = Prove(dir, capture);

            // prove's timing line differs from run to run; everything else is the same TAP
            static List<string> Tap(List<string> lines) => lines.Where(l => !l.StartsWith("Files=", StringComparison.Ordinal)).ToList();
            Tap(captured.Tap).Should().Equal(Tap(plain.Tap));
            captured.Code.Should().Be(plain.Code);
            plain.Tap.Should().Contain(l => l.StartsWith("not ok 13 - t/sample.t TEST 4", StringComparison.Ordinal), "TEST 4 fails on purpose");

            var blocks = CapturedBlock.ReadJsonLines(File.ReadAllLines(capture));
            blocks.Select(b => b.Name).Should().Equal("TEST 1: a JSON body and a header of our own", "TEST 2: two requests that each write a warning",
                "TEST 3: not found", "TEST 4: a wrong expectation, on purpose");
            blocks.Select(b => b.Tests!.Value).Should().Equal((1, 3), (4, 9), (10, 11), (12, 13));
            blocks[0].Requests.Should().ContainSingle().Which.Body.Should().Be("{\"name\":\"pear\",\"sizes\":[1,2,3],\"ripe\":true}\n");
            blocks[0].Requests[0].RawHeaders.Should().Contain("X-Fixture: pear\r\n");
            blocks[1].Requests.Select(r => r.Request.Split("\r\n")[0]).Should().Equal("GET /count?n=1 HTTP/1.1", "GET /count?n=2 HTTP/1.1");
            // one log check after each request, each with the line that request wrote
            blocks[1].ErrorLog.Should().HaveCount(2);
            blocks[1].ErrorLog![0].Should().ContainSingle().Which.Should().Contain("[warn]").And.Contain("fixture counting 1");
            blocks[1].ErrorLog![1].Should().ContainSingle().Which.Should().Contain("fixture counting 2");
            blocks[2].Requests[0].Status.Should().Be(404);
        }
        finally { Directory.Delete(dir, true); }
    }

    [RealTestNginxFact]
    public async Task The_diff_command_compares_the_fixture_file_against_real_nginx()
    {
        var dir = CopyFixture();
        try
        {
            var json = Path.Combine(dir, "diff.json");
            var html = Path.Combine(dir, "diff.html");
            var output = new StringWriter();
            var error = new StringWriter();
            await DiffCommand.MainAsync(["--root", dir, "--test-nginx", RealTestNginxFactAttribute.Lib!, "--nginx", "/usr/sbin/nginx",
                "--port", RealTestNginxFactAttribute.Port.ToString(), "--no-hup", "--json", json, "--html", html, "t/sample.t"], output, error);
            error.ToString().Should().NotContain("diff:");
            output.ToString().Should().Contain("== t/sample.t (default mode; real: nginx + Lua module)");

            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var blocks = doc.RootElement.GetProperty("files")[0].GetProperty("blocks");
            blocks.GetArrayLength().Should().Be(4);
            blocks[0].GetProperty("real").GetString().Should().Be("pass");
            blocks[3].GetProperty("real").GetString().Should().Be("fail");
            blocks[1].GetProperty("requests").GetArrayLength().Should().Be(2);
            File.ReadAllText(html).Should().Contain("<details class=\"blk ");
        }
        finally { Directory.Delete(dir, true); }
    }
}
