using System.Diagnostics;
using Apisix.TestNginx.Parsing;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

public class EmulatedNginxBinaryTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static (int Code, string Stderr, string Stdout) RunScript(params string[] args)
    {
        var psi = new ProcessStartInfo(EmulatedNginxBinary.Path!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, err, output);
    }

    [Fact]
    public void The_script_ships_beside_the_runner_and_describes_the_emulated_build_on_stderr()
    {
        EmulatedNginxBinary.Path.Should().NotBeNull().And.EndWith(Path.Combine("tools", "emulated-nginx"));
        var (code, err, output) = RunScript("-V");
        code.Should().Be(0);
        output.Should().BeEmpty("nginx prints -V to stderr");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().MatchRegex(@"^nginx version: openresty/\d+\.\d+\.\d+\.\d+$");
        err.Should().Contain("configure arguments:")
            .And.Contain("/lua-nginx-module").And.Contain("/apisix-nginx-module")
            .And.NotContain("mod_dubbo", "the emulation has no dubbo module");
    }

    [Fact]
    public void The_script_answers_dash_v_with_the_version_line_and_refuses_anything_else()
    {
        var (code, err, _) = RunScript("-v");
        code.Should().Be(0);
        err.Trim().Should().StartWith("nginx version: openresty/").And.NotContain("configure arguments");

        var (badCode, badErr, _) = RunScript("-p", "/tmp", "-c", "nginx.conf");
        badCode.Should().NotBe(0);
        badErr.Should().Contain("only -v and -V");
    }

    // The check upstream APISIX files make before any block (t/node/upstream-keepalive-pool.t and
    // some 40 others), in our words: they skip unless the runtime's module is built in.
    private const string RuntimeCheck = """
        use t::APISIX;
        my $binary = $ENV{'TEST_NGINX_BINARY'} || 'nginx';
        my $v = eval { `$binary -V 2>&1` };
        if ($v !~ m/\/apisix-nginx-module/) {
            plan(skip_all => "no runtime module");
        } else {
            plan('no_plan');
        }
        run_tests();
        __DATA__
        === A
        """;

    [Fact]
    public void A_file_asking_the_binary_for_the_runtime_module_runs_instead_of_skipping()
    {
        if (Environment.GetEnvironmentVariable(EmulatedNginxBinary.Variable) != null) return; // the user's binary answers
        var file = _files.Load(RuntimeCheck);
        file.Settings.Plan.Should().Be("no_plan");
        file.Settings.Env.Should().NotContainKey(EmulatedNginxBinary.Variable, "the default is not a change the file made");
    }

    [Fact]
    public void A_file_that_sets_the_binary_itself_asks_that_one()
    {
        var file = _files.Load("BEGIN { $ENV{TEST_NGINX_BINARY} = '/bin/true'; }\n" + RuntimeCheck);
        file.Settings.Plan.Should().Be("skip_all => no runtime module");
    }
}
