using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using Apisix.Tests.TFiles;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>
/// Which error-log level a block runs at: a block's `--- log_level`, then log_level() calls (the
/// file's, then t::APISIX's own `info`), then TEST_NGINX_LOG_LEVEL, then debug.
/// </summary>
public class LogLevelTests
{
    private static async Task<BlockOutcome> Run(string module, string preamble)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "levels.t");
        await File.WriteAllTextAsync(path, $$"""
            use {{module}} 'no_plan';
            {{preamble}}
            run_tests();

            __DATA__

            === TEST 1: is a debug line written?
            --- config
                location /t {
                    content_by_lua_block {
                        ngx.log(ngx.DEBUG, "a debug line")
                        ngx.say("ok")
                    }
                }
            --- request
            GET /t
            --- no_error_log
            a debug line

            """);
        var outcome = await new FileRunner(OurTFiles.RepoRoot).RunAsync(path);
        return outcome.Blocks.Single();
    }

    [Fact]
    public async Task Plain_Test_Nginx_logs_at_debug_by_default_and_follows_the_environment()
    {
        (await Run("Test::Nginx::Socket::Lua", "")).Status.Should().Be(BlockOutcome.Fail);
        (await Run("Test::Nginx::Socket::Lua", "$ENV{TEST_NGINX_LOG_LEVEL} = 'info';")).Status.Should().Be(BlockOutcome.Pass);
    }

    [Fact]
    public async Task T_APISIX_s_own_log_level_call_wins_over_the_environment_and_the_file_s_wins_over_it()
    {
        (await Run("t::APISIX", "$ENV{TEST_NGINX_LOG_LEVEL} = 'debug';")).Status.Should().Be(BlockOutcome.Pass);
        (await Run("t::APISIX", "log_level('debug');")).Status.Should().Be(BlockOutcome.Fail);
    }
}
