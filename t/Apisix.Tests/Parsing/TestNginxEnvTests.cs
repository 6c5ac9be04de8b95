using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

public class TestNginxEnvTests
{
    private static string? Env(string name) => name switch
    {
        "TEST_NGINX_GREETING" => "hi",
        "TEST_NGINX_SERVER_PORT" => "1984",
        _ => null,
    };

    [Fact]
    public void Variables_expand_and_rand_ports_are_stable_per_name()
    {
        TestNginxEnv.Expand("say $TEST_NGINX_GREETING on $TEST_NGINX_SERVER_PORT", "f.t", "TEST 1: x", Env)
            .Should().Be("say hi on 1984");
        var a = TestNginxEnv.Expand("$TEST_NGINX_RAND_PORT_1 $TEST_NGINX_RAND_PORT_2 $TEST_NGINX_RAND_PORT_1", "f.t", "TEST 1: x", Env)
            .Split(' ');
        a[0].Should().Be(a[2]).And.NotBe(a[1]);
        TestNginxEnv.Expand("$NOT_OURS and $test_nginx_lower", "f.t", "TEST 1: x", Env).Should().Be("$NOT_OURS and $test_nginx_lower");
    }

    [Fact]
    public void An_unset_variable_is_Test_Nginx_s_message()
    {
        var act = () => TestNginxEnv.Expand("listen $TEST_NGINX_NOWHERE;", "f.t", "TEST 3: y", Env);
        act.Should().Throw<TestFileException>().WithMessage("f.t: TEST 3: y - No environment TEST_NGINX_NOWHERE defined.");
    }

    [Fact]
    public async Task A_block_configured_with_an_unset_variable_fails_saying_so()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "unset.t");
        await File.WriteAllTextAsync(path, """
            use Test::Nginx::Socket::Lua 'no_plan';
            run_tests();

            __DATA__

            === TEST 1: a config naming an unset variable
            --- config
                location /t {
                    return 200 "$TEST_NGINX_SURELY_UNSET_VARIABLE";
                }
            --- request
            GET /t
            --- response_body
            anything

            """);

        var outcome = await new FileRunner(dir).RunAsync(path);

        outcome.Blocks.Should().ContainSingle().Which.Status.Should().Be(BlockOutcome.Fail);
        outcome.Blocks[0].Message.Should().Contain("No environment TEST_NGINX_SURELY_UNSET_VARIABLE defined.");
    }
}
