using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>
/// As Test::Nginx does, the error log is checked after each request of a block against the
/// lines that request added; check_accum_error_log() makes each check see the whole log.
/// </summary>
public class ErrorLogPerRequestTests
{
    private static string FileText(string settings) => $$"""
        use Test::Nginx::Socket::Lua 'no_plan';
        {{settings}}
        run_tests();

        __DATA__

        === TEST 1: every request logs "hit N"
        --- config
            location /t {
                content_by_lua_block {
                    ngx.log(ngx.WARN, "hit ", ngx.var.arg_n)
                    ngx.say("ok")
                }
            }
        --- request eval
        ["GET /t?n=1", "GET /t?n=2"]
        --- response_body eval
        ["ok\n", "ok\n"]
        --- error_log
        hit



        === TEST 2: a line only the first request writes
        --- config
            location /t {
                content_by_lua_block {
                    ngx.log(ngx.WARN, "hit ", ngx.var.arg_n)
                    ngx.say("ok")
                }
            }
        --- request eval
        ["GET /t?n=1", "GET /t?n=2"]
        --- response_body eval
        ["ok\n", "ok\n"]
        --- error_log
        hit 1

        """;

    private static async Task<FileOutcome> Run(string settings)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "per-request.t");
        await File.WriteAllTextAsync(path, FileText(settings));
        return await new FileRunner(dir).RunAsync(path);
    }

    [Fact]
    public async Task Each_request_is_checked_against_its_own_lines()
    {
        var outcome = await Run("");
        outcome.Blocks.Select(b => b.Status).Should().Equal(BlockOutcome.Pass, BlockOutcome.Fail);
        outcome.Blocks[1].Message.Should().Contain("pattern \"hit 1\" should match a line in error.log");
    }

    [Fact]
    public async Task With_check_accum_error_log_each_check_sees_the_whole_log()
    {
        var outcome = await Run("check_accum_error_log();");
        outcome.Blocks.Select(b => b.Status).Should().Equal(BlockOutcome.Pass, BlockOutcome.Pass);
    }
}
