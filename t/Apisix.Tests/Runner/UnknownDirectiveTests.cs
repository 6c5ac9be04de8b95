using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

/// <summary>
/// A directive the emulation does not have: nginx would refuse to start, so the block fails with
/// nginx's message, never a silent 404; TEST_NGINX_IGNORE_MISSING_DIRECTIVES turns that into a skip.
/// </summary>
public class UnknownDirectiveTests
{
    private static async Task<FileOutcome> Run(string preamble, string config)
    {
        var dir = Directory.CreateTempSubdirectory("unknown-directive-").FullName;
        var path = Path.Combine(dir, "unknown.t");
        await File.WriteAllTextAsync(path, $$"""
            use Test::Nginx::Socket::Lua 'no_plan';
            {{preamble}}
            run_tests();

            __DATA__

            === TEST 1: a location with a directive nobody implements
            --- config
            {{config}}
            --- request
            GET /t
            --- response_body
            ok

            """);
        try { return await new FileRunner(dir).RunAsync(path); }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private const string Unknown = """
            location /t {
                content_by_lua_block { ngx.say("ok") }
                make_coffee strong;
            }
        """;

    [Fact]
    public async Task The_block_fails_with_nginxs_message_and_line()
    {
        var outcome = await Run("", Unknown);
        var block = outcome.Blocks.Single();
        block.Status.Should().Be(BlockOutcome.Fail);
        block.Message.Should().Contain("Cannot start nginx")
            .And.MatchRegex(@"unknown directive ""make_coffee"" in .*t/servroot/conf/nginx\.conf:41");
    }

    [Fact]
    public async Task Ignoring_missing_directives_skips_the_block()
    {
        var outcome = await Run("$ENV{TEST_NGINX_IGNORE_MISSING_DIRECTIVES} = 1;", Unknown);
        var block = outcome.Blocks.Single();
        block.Status.Should().Be(BlockOutcome.Skip);
        block.Message.Should().Be("the lack of directive make_coffee");
    }

    [Fact]
    public async Task A_directive_with_no_effect_here_is_accepted()
    {
        var outcome = await Run("", """
                location /t {
                    lua_code_cache off;
                    content_by_lua_block { ngx.say("ok") }
                }
            """);
        outcome.Blocks.Single().Status.Should().Be(BlockOutcome.Pass);
    }

    [Fact]
    public async Task A_block_sending_its_request_with_curl_is_skipped_with_the_reason()
    {
        var outcome = await Run("", "    location /t { echo ok; }\n--- curl");
        var block = outcome.Blocks.Single();
        block.Status.Should().Be(BlockOutcome.Skip);
        block.Message.Should().Contain("--- curl").And.Contain("not supported");
    }
}
