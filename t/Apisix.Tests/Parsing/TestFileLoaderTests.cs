using Apisix.TestNginx.Parsing;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

public class TestFileLoaderTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Preamble_settings_are_recorded()
    {
        var file = _files.Load("""
            # a comment
            BEGIN {
                $ENV{PARSING_TEST_FLAG} = "0";
            }

            use t::APISIX 'no_plan';

            log_level('warn');
            repeat_each(2);
            workers(4);
            worker_connections(128);
            no_long_string();
            no_shuffle();
            no_root_location();
            master_on();
            env_to_nginx("PATH", "X=1");
            run_tests();

            __DATA__
            === T
            """);

        var s = file.Settings;
        s.Module.Should().Be("t::APISIX");
        s.Plan.Should().Be("no_plan");
        s.LogLevel.Should().Be("warn");
        s.RepeatEach.Should().Be(2);
        s.Workers.Should().Be(4);
        s.WorkerConnections.Should().Be(128);
        (s.NoLongString, s.NoShuffle, s.NoRootLocation, s.RunTestsCalled).Should().Be((true, true, true, true));
        s.MasterOn.Should().BeTrue();
        s.EnvToNginx.Should().Equal("PATH", "X=1");
        s.Env.Should().Equal(new Dictionary<string, string> { ["PARSING_TEST_FLAG"] = "0" });
    }

    [Fact]
    public void Plan_with_a_test_count_can_use_blocks()
    {
        var file = _files.Load("use Test::Nginx::Socket::Lua;\nplan tests => repeat_each() * (2 * blocks());\nrun_tests();\n__DATA__\n=== A\n=== B\n=== C\n--- SKIP\n");

        file.Settings.Module.Should().Be("Test::Nginx::Socket::Lua");
        file.Settings.Plan.Should().Be("tests => 4");
    }

    [Fact]
    public void Preprocessors_run_last_registered_first()
    {
        var file = _files.Load("""
            use t::APISIX 'no_plan';

            add_block_preprocessor(sub {
                my ($block) = @_;
                # registered first, so it runs second: it sees what the other one did
                $block->set_value("order", $block->order . "first;");
                if (!defined $block->request) {
                    $block->set_value("request", "GET /t");
                }
            });

            add_block_preprocessor(sub {
                my $block = shift;
                $block->set_value("order", "second;");
            });

            run_tests();

            __DATA__

            === TEST 1: gets the default
            --- config
            x
            === TEST 2: keeps its own
            --- request
            POST /own

            """);

        file.Blocks[0].Text("order").Should().Be("second;first;");
        file.Blocks[0].Text("request").Should().Be("GET /t");
        file.Blocks[1].Text("request").Should().Be("POST /own\n");
    }

    [Fact]
    public void Defined_or_with_a_heredoc_keeps_a_block_value()
    {
        var file = _files.Load("""
            use t::APISIX 'no_plan';
            add_block_preprocessor(sub {
                my ($block) = @_;
                my $main_config = $block->main_config // <<_EOC_;
                    env FROM_FILE=true;
            _EOC_
                $block->set_value("main_config", $main_config);
                my $yaml = <<_EOC_;
            plugins:
              - ai-proxy
            _EOC_
                $block->set_value("extra_yaml_config", $yaml);
            });
            run_tests();
            __DATA__
            === default
            === own
            --- main_config
            env OWN=1;

            """);

        file.Blocks[0].Text("main_config").Should().Be("        env FROM_FILE=true;\n");
        file.Blocks[1].Text("main_config").Should().Be("env OWN=1;\n");
        file.Blocks[1].Text("extra_yaml_config").Should().Be("plugins:\n  - ai-proxy\n");
    }

    [Fact]
    public void Slurp_idiom_reads_relative_to_root_and_prints()
    {
        _files.Write("t/assets/resp.json", "{\"ok\":true}\n");
        var file = _files.Load("""
            use t::APISIX 'no_plan';
            my $resp_file = 't/assets/resp.json';
            open(my $fh, '<', $resp_file) or die "Could not open file '$resp_file' $!";
            my $resp = do { local $/; <$fh> };
            close($fh);
            print "Hello\n";
            print $resp;
            run_tests();
            __DATA__
            === T
            """);

        file.Settings.Printed.Should().Equal("Hello\n", "{\"ok\":true}\n");
    }

    [Fact]
    public void Slurp_idiom_dies_when_the_file_is_missing()
    {
        var act = () => _files.Load("""
            use t::APISIX 'no_plan';

            my $resp_file = 't/assets/missing.json';
            open(my $fh, '<', $resp_file) or die "Could not open file '$resp_file' $!";
            __DATA__
            """);

        act.Should().Throw<TestFileException>()
            .WithMessage("*sample.t:4: died: Could not open file 't/assets/missing.json' No such file or directory");
    }

    [Fact]
    public void Pod_in_the_preamble_is_ignored()
    {
        var file = _files.Load("=encoding utf-8\n\nFree text, even with code-like words: die();\n\n=cut\n\nuse t::APISIX 'no_plan';\nrun_tests();\n__DATA__\n=== T\n");

        file.Blocks.Should().ContainSingle();
    }

    [Fact]
    public void Unsupported_preamble_construct_names_file_and_line()
    {
        var act = () => _files.Load("use t::APISIX 'no_plan';\n\nmy @list = (1, 2);\n__DATA__\n");

        act.Should().Throw<TestFileException>()
            .Which.Message.Should().MatchRegex(@"sample\.t:3: only scalars can be declared with 'my' \(found @list\)$");
    }

    [Fact]
    public void Unknown_settings_function_is_an_error()
    {
        var act = () => _files.Load("use t::APISIX 'no_plan';\nsome_new_setting(1);\n__DATA__\n");

        act.Should().Throw<TestFileException>().WithMessage("*sample.t:2: unsupported function 'some_new_setting'");
    }

    [Fact]
    public void Error_inside_a_preprocessor_names_the_block()
    {
        var act = () => _files.Load("""
            use t::APISIX 'no_plan';
            add_block_preprocessor(sub {
                my ($block) = @_;
                die "no config" unless defined $block->config;
            });
            run_tests();
            __DATA__
            === TEST 1: ok
            --- config
            x
            === TEST 2: broken
            """);

        act.Should().Throw<TestFileException>()
            .WithMessage("*sample.t:4: block preprocessor, for block 'TEST 2: broken' (line 11): died: no config");
    }

    [Fact]
    public void Unknown_module_is_an_error()
    {
        var act = () => _files.Load("use Some::Other::Module;\n__DATA__\n");

        act.Should().Throw<TestFileException>().WithMessage("*sample.t:1: unsupported module 'use Some::Other::Module'");
    }

    [Fact]
    public void Env_reads_fall_back_to_the_process_environment()
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        var file = _files.Load("$ENV{PARSING_TEST_SET} = \"set\";\nprint $ENV{PARSING_TEST_SET} . '|' . ($ENV{PATH} // 'none') . '|' . ($ENV{PARSING_TEST_UNSET_XYZ} // 'none');\n__DATA__\n");

        file.Settings.Printed.Should().Equal($"set|{path ?? "none"}|none");
    }
}
