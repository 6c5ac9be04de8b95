using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>
/// repeat_each(N): as Test::Nginx, one nginx serves all the repetitions of a block (its Lua state
/// and timers carry over), each repetition checks the log lines written since the previous check,
/// and the shutdown log is checked once, after the last repetition.
/// </summary>
public class RepeatEachTests
{
    private static async Task<FileOutcome> Run(string text)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "repeat.t");
        await File.WriteAllTextAsync(path, text);
        return await new FileRunner(dir).RunAsync(path);
    }

    [Fact]
    public async Task The_repetitions_of_a_block_share_one_nginx()
    {
        var outcome = await Run("""
            use Test::Nginx::Socket::Lua 'no_plan';
            repeat_each(3);
            run_tests();

            __DATA__

            === TEST 1: a worker-level counter
            --- config
                location /t {
                    content_by_lua_block {
                        local m = package.loaded.visits or { n = 0 }
                        package.loaded.visits = m
                        m.n = m.n + 1
                        ngx.log(ngx.WARN, "visit ", m.n)
                        ngx.say("visit ", m.n)
                    }
                }
            --- request
            GET /t
            --- response_body
            visit 1
            --- grep_error_log eval: qr/visit \d+/
            --- grep_error_log_out
            visit 1

            """);
        outcome.Blocks.Select(b => b.Status).Should().Equal(BlockOutcome.Pass, BlockOutcome.Fail, BlockOutcome.Fail);
        outcome.Blocks[1].Message.Should().Contain("visit 2");
        // each repetition's log check sees its own lines only
        outcome.Blocks[2].Message.Should().Contain("visit 3").And.NotContain("visit 2\n");
    }

    [Fact]
    public async Task The_shutdown_log_is_checked_once_per_block()
    {
        var outcome = await Run("""
            use Test::Nginx::Socket::Lua;
            repeat_each(2);
            plan tests => repeat_each() * (blocks() * 2) + 1;
            run_tests();

            __DATA__

            === TEST 1: a line written when the worker exits
            --- config
                location /t {
                    content_by_lua_block { ngx.say("ok") }
                }
            --- request
            GET /t
            --- response_body
            ok
            --- no_shutdown_error_log
            [alert]

            """);
        outcome.Blocks.Select(b => b.Status).Should().Equal(BlockOutcome.Pass, BlockOutcome.Pass);
        outcome.Blocks.Sum(b => b.Subtests).Should().Be(5);
        outcome.Error.Should().BeNull();
    }
}
