using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>TEST_NGINX_USE_HUP=1: nginx is reloaded between blocks, so shared dicts keep their contents; Lua globals do not.</summary>
public class HupModeTests
{
    private static string FileText(string preamble) => $$"""
        use Test::Nginx::Socket::Lua 'no_plan';
        {{preamble}}
        run_tests();

        __DATA__

        === TEST 1: leave a value in a shared dict and a Lua global
        --- http_config
            lua_shared_dict marks 1m;
        --- config
            location /t {
                content_by_lua_block {
                    ngx.shared.marks:set("left", "by block 1")
                    _G.left_global = "by block 1"
                    ngx.say("set")
                }
            }
        --- request
        GET /t
        --- response_body
        set



        === TEST 2: the next block looks for both
        --- http_config
            lua_shared_dict marks 1m;
        --- config
            location /t {
                content_by_lua_block {
                    ngx.say("dict: ", ngx.shared.marks:get("left") or "empty", "; global: ", _G.left_global or "none")
                }
            }
        --- request
        GET /t
        --- response_body
        dict: empty; global: none

        """;

    private static async Task<FileOutcome> Run(string preamble) => (await RunIn(preamble)).Outcome;

    private static async Task<(FileOutcome Outcome, string Dir)> RunIn(string preamble)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "hup.t");
        await File.WriteAllTextAsync(path, FileText(preamble));
        return (await new FileRunner(dir).RunAsync(path), dir);
    }

    [Fact]
    public async Task A_restart_starts_every_block_empty()
    {
        var outcome = await Run("$ENV{TEST_NGINX_USE_HUP} = 0;");
        outcome.Blocks.Select(b => b.Status).Should().Equal(BlockOutcome.Pass, BlockOutcome.Pass);
    }

    [Fact]
    public async Task A_reload_keeps_the_shared_dict_but_not_the_Lua_state()
    {
        var outcome = await Run("$ENV{TEST_NGINX_USE_HUP} = 1;");
        outcome.Blocks[1].Status.Should().Be(BlockOutcome.Fail);
        outcome.Blocks[1].Message.Should().Contain("dict: by block 1; global: none");
    }

    [Fact]
    public async Task Use_hup_turns_on_reloading_for_the_file()
    {
        var outcome = await Run("$ENV{TEST_NGINX_USE_HUP} = 0;\nuse_hup();");
        outcome.Blocks[1].Status.Should().Be(BlockOutcome.Fail);
        outcome.Blocks[1].Message.Should().Contain("dict: by block 1; global: none");
    }

    [Fact]
    public async Task Cleanup_handlers_run_after_each_block_and_after_the_file()
    {
        var (outcome, dir) = await RunIn("""
            $ENV{TEST_NGINX_USE_HUP} = 0;
            add_test_cleanup_handler(sub { my $block = shift; system("echo '" . $block->name . "' >> cleanup.log"); });
            add_cleanup_handler(sub { system("echo done >> cleanup.log"); });
            """);

        outcome.Blocks.Should().HaveCount(2);
        File.ReadAllText(Path.Combine(dir, "cleanup.log")).Should().Be(
            "TEST 1: leave a value in a shared dict and a Lua global\nTEST 2: the next block looks for both\ndone\n");
    }
}
