using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>`plan tests => N` must match the assertions the blocks ran; `plan skip_all => R` runs nothing.</summary>
public class TestPlanTests
{
    private static async Task<FileOutcome> Run(string plan)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "plan.t");
        await File.WriteAllTextAsync(path, $$"""
            use Test::Nginx::Socket::Lua;

            repeat_each(2);
            {{plan}}

            run_tests();

            __DATA__

            === TEST 1: one
            --- config
                location /t {
                    content_by_lua_block { ngx.say("one") }
                }
            --- request
            GET /t
            --- response_body
            one



            === TEST 2: two, with an error_log pattern (a third assertion)
            --- config
                location /t {
                    content_by_lua_block { ngx.log(ngx.WARN, "two was here") ngx.say("two") }
                }
            --- request
            GET /t
            --- response_body
            two
            --- error_log
            two was here

            """);
        return await new FileRunner(dir).RunAsync(path);
    }

    [Fact]
    public async Task A_plan_that_matches_the_assertions_run_passes()
    {
        // status + body per block, plus one error_log pattern in block 2; each block twice
        var outcome = await Run("plan tests => repeat_each() * (blocks() * 2 + 1);");
        outcome.Error.Should().BeNull();
        outcome.Blocks.Should().HaveCount(4).And.OnlyContain(b => b.Status == BlockOutcome.Pass);
        outcome.Blocks.Sum(b => b.Subtests).Should().Be(10);
    }

    [Fact]
    public async Task A_plan_off_by_one_fails_the_file_with_Test_More_s_words()
    {
        var outcome = await Run("plan tests => repeat_each() * (blocks() * 2 + 1) + 1;");
        outcome.Blocks.Should().OnlyContain(b => b.Status == BlockOutcome.Pass);
        outcome.Error.Should().Be("Looks like you planned 11 tests but ran 10.");
    }

    [Fact]
    public async Task Skip_all_runs_no_block_and_says_why()
    {
        var outcome = await Run("plan skip_all => 'not on this machine';");
        outcome.Error.Should().BeNull();
        outcome.Blocks.Should().HaveCount(4).And.OnlyContain(b => b.Status == BlockOutcome.Skip && b.Message == "not on this machine");
    }
}
