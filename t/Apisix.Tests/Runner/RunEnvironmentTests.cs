using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>
/// The diff tool gives our side the real side's variables through <see cref="RunEnvironment"/>:
/// they reach that run (Perl's %ENV, nginx's server port, Lua's os.getenv) and no other run in the
/// process. Setting them on the process had let a diff test's port into a parallel file's blocks.
/// </summary>
public class RunEnvironmentTests
{
    private const string File = """
        use Test::Nginx::Socket::Lua 'no_plan';
        run_tests();

        __DATA__

        === TEST 1: what this run sees
        --- config
            location /t {
                content_by_lua_block {
                    ngx.say(ngx.var.server_port, " ", os.getenv("RUN_ENV_PROBE") or "unset")
                }
            }
        --- request
        GET /t
        --- response_body eval
        "$ENV{RUN_ENV_EXPECT}\n"
        """;

    private static async Task<FileOutcome> RunWith(IReadOnlyDictionary<string, string?>? overlay)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "env.t");
        await System.IO.File.WriteAllTextAsync(path, File);
        if (overlay != null) RunEnvironment.Set(overlay);
        return await new FileRunner(dir).RunAsync(path);
    }

    [Fact]
    public async Task An_overlay_reaches_its_run_and_no_other()
    {
        Environment.GetEnvironmentVariable("RUN_ENV_PROBE").Should().BeNull();
        var overlaid = RunWith(new Dictionary<string, string?>
        {
            ["TEST_NGINX_SERVER_PORT"] = "4321",
            ["RUN_ENV_PROBE"] = "seen",
            ["RUN_ENV_EXPECT"] = "4321 seen",
        });
        var plain = RunWith(new Dictionary<string, string?> { ["RUN_ENV_EXPECT"] = "1984 unset" });
        var outcomes = await Task.WhenAll(overlaid, plain);

        outcomes.Select(o => o.Blocks.Single().Status).Should().Equal(BlockOutcome.Pass, BlockOutcome.Pass);
        // the caller's flow and the process never saw either overlay
        RunEnvironment.Get("RUN_ENV_PROBE").Should().BeNull();
        Environment.GetEnvironmentVariable("TEST_NGINX_SERVER_PORT").Should().NotBe("4321");
    }

    [Fact]
    public async Task A_captured_view_answers_on_another_thread()
    {
        Func<string, string?>? view = null;
        async Task Inner()
        {
            RunEnvironment.Set(new Dictionary<string, string?> { ["RUN_ENV_PROBE"] = "captured" });
            await Task.Yield();
            view = RunEnvironment.Capture();
        }
        await Inner();
        string? seen = null;
        var thread = new Thread(() => seen = view!("RUN_ENV_PROBE"));
        thread.UnsafeStart(); // no flow of the caller's context: only the capture carries the overlay
        thread.Join();
        seen.Should().Be("captured");
        RunEnvironment.Get("RUN_ENV_PROBE").Should().BeNull();
    }
}
