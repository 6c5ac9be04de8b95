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
        var act = () => _files.Load("use t::APISIX 'no_plan';\n\nmy %map = (1, 2);\n__DATA__\n");

        act.Should().Throw<TestFileException>()
            .Which.Message.Should().MatchRegex(@"sample\.t:3: only scalars and arrays can be declared with 'my' \(found %map\)$");
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

    [Fact]
    public void Server_root_html_dir_and_use_hup()
    {
        var file = _files.Load("""
            use t::APISIX 'no_plan';
            use_hup();
            my $TEST_NGINX_HTML_DIR ||= html_dir();
            print server_root(), "|", $TEST_NGINX_HTML_DIR;
            run_tests();
            __DATA__
            === T
            """);

        file.Settings.UseHup.Should().BeTrue();
        file.Settings.Printed.Should().Equal($"{Path.Combine(_files.Root, "t", "servroot")}|{Path.Combine(_files.Root, "t", "servroot", "html")}");
        TestNginxPaths.HtmlDir(_files.Root).Should().Be(Path.Combine(_files.Root, "t", "servroot", "html"));
    }

    [Fact]
    public void A_skip_all_plan_ends_the_preamble_like_Test_More_exit()
    {
        var file = _files.Load("""
            BEGIN {
                if ($ENV{PARSING_TEST_EVENTS_MODULE_XYZ} ne "lua-resty-events") {
                    $SkipReason = "Only for lua-resty-events events module";
                }
            }

            use Test::Nginx::Socket::Lua $SkipReason ? (skip_all => $SkipReason) : ();
            use t::APISIX 'no_plan';
            print "never\n";
            run_tests();
            __DATA__
            === T
            """);

        file.Settings.Plan.Should().Be("skip_all => Only for lua-resty-events events module");
        file.Settings.Module.Should().Be("Test::Nginx::Socket::Lua");
        file.Settings.Printed.Should().BeEmpty();
    }

    [Fact]
    public void An_unset_skip_reason_leaves_the_plan_alone()
    {
        var file = _files.Load("""
            BEGIN {
                if ($ENV{PARSING_TEST_CHECK_LEAK_XYZ}) {
                    $SkipReason = "unavailable for the hup tests";
                } else {
                    $ENV{TEST_NGINX_USE_HUP} = 1;
                    undef $ENV{TEST_NGINX_USE_STAP};
                }
            }
            use t::APISIX 'no_plan';
            run_tests();
            __DATA__
            === T
            """);

        file.Settings.Plan.Should().Be("no_plan");
        file.Settings.Env.Should().Equal(new Dictionary<string, string?> { ["TEST_NGINX_USE_HUP"] = "1", ["TEST_NGINX_USE_STAP"] = null });
    }

    [Fact]
    public void Cleanup_handlers_are_recorded_newest_first()
    {
        var file = _files.Load("""
            use t::APISIX 'no_plan';
            add_cleanup_handler(sub { print "first\n"; });
            add_cleanup_handler(sub { print "second\n"; });
            add_test_cleanup_handler(sub { my $block = shift; print "after ", $block->name, "\n"; });
            run_tests();
            __DATA__
            === TEST 1: one
            """);

        file.Settings.Printed.Should().BeEmpty();
        file.TestCleanupHandlers.Should().ContainSingle();
        file.TestCleanupHandlers[0](file.Blocks[0]);
        foreach (var handler in file.CleanupHandlers) handler();
        file.Settings.Printed.Should().Equal("after TEST 1: one\n", "second\n", "first\n");
    }

    [Fact]
    public void A_dying_cleanup_handler_names_the_file()
    {
        var file = _files.Load("use t::APISIX 'no_plan';\nadd_cleanup_handler(sub {\n    die \"cleanup failed\";\n});\n__DATA__\n");

        var act = () => file.CleanupHandlers[0]();

        act.Should().Throw<TestFileException>().WithMessage("*sample.t:3: cleanup handler: died: cleanup failed");
    }

    [Fact]
    public void Read_file_and_substitution_prepare_a_debug_config()
    {
        _files.Write("conf/debug.yaml", "basic:\n  enable: false\nhook_conf:\n  enable: false\n");
        var file = _files.Load("""
            use t::APISIX 'no_plan';
            our $debug_config = t::APISIX::read_file("conf/debug.yaml");
            $debug_config =~ s/basic:\n  enable: false/basic:\n  enable: true/;
            run_tests();
            __DATA__
            === T
            --- debug_config eval: $::debug_config

            """);

        file.Blocks[0].Text("debug_config").Should().Be("basic:\n  enable: true\nhook_conf:\n  enable: false\n");
    }

    [Fact]
    public void An_eval_section_Perl_rejects_becomes_the_error_text_as_Test_Base_returns_dollar_at()
    {
        var file = _files.LoadData("""
            === TEST 1: bareword
            --- stream_request eval
            mmm
            --- stream_response
            hello world

            === TEST 2: a request followed by junk
            --- raw_request eval
            "GET / HTTP/1.1\r
            \r
            "
            [error]
            --- error_code: 400

            === TEST 3: dies
            --- request eval
            die "no request\n"

            """);

        file.Blocks[0].Text("stream_request").Should().Be("Bareword \"mmm\" not allowed while \"strict subs\" in use at (eval 1) line 1.\n");
        file.Blocks[1].Text("raw_request").Should().Be("syntax error at (eval 2) line 4, near \"[\"\n");
        file.Blocks[2].Text("request").Should().Be("no request\n");
    }

    [Fact]
    public void An_eval_section_beyond_the_subset_still_fails_the_file()
    {
        var act = () => _files.LoadData("=== T\n--- request eval\nsprintf('GET /%d', 1)\n");

        act.Should().Throw<TestFileException>().WithMessage("*sample.t:8: in the eval of section 'request': unsupported function 'sprintf'");
    }
}
