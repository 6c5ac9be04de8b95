using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using Apisix.Tests.TFiles;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>As Test::Nginx does, the access log is checked after each request against everything logged so far.</summary>
public class AccessLogPerRequestTests
{
    private static async Task<BlockOutcome> Run(string pattern)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "access.t");
        await File.WriteAllTextAsync(path, $$"""
            use t::APISIX 'no_plan';
            run_tests();

            __DATA__

            === TEST 1: two requests, no route for either
            --- request eval
            ["GET /first-path", "GET /second-path"]
            --- error_code eval
            [404, 404]
            --- access_log
            {{pattern}}

            """);
        var outcome = await new FileRunner(OurTFiles.RepoRoot).RunAsync(path);
        return outcome.Blocks.Single();
    }

    [Fact]
    public async Task A_line_of_the_first_request_is_there_at_both_checks()
    {
        var block = await Run("GET /first-path");
        block.Status.Should().Be(BlockOutcome.Pass, block.Message);
        // per request: its status code, t::APISIX's default no_error_log [error], and the access_log pattern
        block.Subtests.Should().Be(6);
    }

    [Fact]
    public async Task A_line_of_the_second_request_is_missing_at_the_first_check()
    {
        var block = await Run("GET /second-path");
        block.Status.Should().Be(BlockOutcome.Fail);
        block.Message.Should().Contain("GET /second-path");
    }
}
