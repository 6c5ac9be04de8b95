using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>A block's <see cref="BlockOutcome.Slept"/>: request sleeps and `--- wait` count, a timer's sleeps do not.</summary>
public class BlockSleepTests
{
    private const string File = """
        use Test::Nginx::Socket::Lua;
        run_tests();

        __DATA__

        === TEST 1: a request that sleeps, and a wait after it
        --- config
            location /t {
                content_by_lua_block {
                    ngx.sleep(0.2)
                    ngx.say("woke")
                }
            }
        --- request
        GET /t
        --- wait: 0.1
        --- response_body
        woke



        === TEST 2: only a timer sleeps
        --- config
            location /t {
                content_by_lua_block {
                    ngx.timer.at(0, function() ngx.sleep(0.3) end)
                    ngx.say("done")
                }
            }
        --- request
        GET /t
        --- response_body
        done

        """;

    [Fact]
    public async Task Request_sleeps_and_waits_are_metered_timer_sleeps_are_not()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "sleeps.t");
        await System.IO.File.WriteAllTextAsync(path, File);

        var outcome = await new FileRunner(dir).RunAsync(path);

        outcome.Blocks.Should().OnlyContain(b => b.Status == BlockOutcome.Pass);
        outcome.Blocks[0].Slept.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(295)).And.BeLessThanOrEqualTo(outcome.Blocks[0].Elapsed);
        outcome.Blocks[1].Slept.Should().Be(TimeSpan.Zero);
    }
}
