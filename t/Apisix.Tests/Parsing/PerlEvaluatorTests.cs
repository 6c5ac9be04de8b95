using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Perl;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

public class PerlEvaluatorTests
{
    private static PerlValue Eval(string code)
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var result = perl.EvalList(perl.Parse(code, 1));
        return result.Count == 1 ? result[0] : new PerlArray(result);
    }

    private static string Run(string code, string? root = null, bool strict = true)
    {
        var perl = new PerlInterpreter(root ?? Path.GetTempPath()) { UseHandler = (_, _, _) => { } };
        var printed = new System.Text.StringBuilder();
        perl.Print = s => printed.Append(s);
        perl.Run(perl.Parse(code, 1, strict));
        return printed.ToString();
    }

    [Theory]
    [InlineData("'a' . \"b\"", "ab")]
    [InlineData("'ab' x 3", "ababab")]
    [InlineData("2 * 3 + 1", "7")]
    [InlineData("undef // 'fallback'", "fallback")]
    [InlineData("'' // 'fallback'", "")]
    [InlineData("'' || 'fallback'", "fallback")]
    [InlineData("'x' && 'y'", "y")]
    [InlineData("!1", "")]
    [InlineData("!0", "1")]
    [InlineData("defined undef", "")]
    [InlineData("defined ''", "1")]
    [InlineData("'a' eq 'a' ? 'same' : 'other'", "same")]
    [InlineData("q{single $x}", "single $x")]
    [InlineData("'it\\'s \\\\ \\n'", "it's \\ \\n")]
    [InlineData("\"tab\\tnl\\n dollar\\$ at\\@ quote\\\" bs\\\\\"", "tab\tnl\n dollar$ at@ quote\" bs\\")]
    public void Expressions(string code, string expected) =>
        Eval(code).ToString().Should().Be(expected);

    [Fact]
    public void Qr_keeps_pattern_text_and_flags()
    {
        Eval(@"qr/a\/b\.c/").Should().Be(new PerlRegex(@"a\/b\.c", ""));
        Eval(@"qr{x{2}\}y}s").Should().Be(new PerlRegex(@"x{2}\}y", "s"));
        Eval("qr/(?s)a.*?b/ms").Should().Be(new PerlRegex("(?s)a.*?b", "ms"));
    }

    [Fact]
    public void Double_quotes_interpolate_scalars_and_env()
    {
        Run("""
            my $name = "world";
            $ENV{PARSING_TEST_GREETING} = "hi";
            print "$ENV{PARSING_TEST_GREETING}, $name! ${name}s\n";
            """).Should().Be("hi, world! worlds\n");
    }

    [Fact]
    public void Heredocs_interpolate_unless_single_quoted()
    {
        var printed = Run("""
            my $v = "V";
            my $a = <<_EOC_;
            x $v \\n \\\\ done
            _EOC_
            my $b = <<'RAW';
            x $v \\n
            RAW
            print $a, $b;
            """);

        printed.Should().Be(@"x V \n \\ done" + "\n" + @"x $v \\n" + "\n");
    }

    [Fact]
    public void Heredoc_backslash_escapes_become_single_backslashes()
    {
        // The Perl source holds '...}\\n\\n' and must yield the Lua text '...}\n\n'.
        Run("print <<_EOC_;\n  ngx.print('data: {}\\\\n\\\\n')\n_EOC_\n")
            .Should().Be("  ngx.print('data: {}\\n\\n')\n");
    }

    [Fact]
    public void Two_heredocs_on_one_line_read_consecutive_bodies()
    {
        Run("print <<A, <<\"B\";\nfirst\nA\nsecond\nB\nprint 'end';\n").Should().Be("first\nsecond\nend");
    }

    [Fact]
    public void Pod_and_comments_are_skipped()
    {
        Run("=encoding utf-8\n\nprint 'not code';\n\n=cut\n\n# print 'comment';\nprint 'code';  # trailing\n")
            .Should().Be("code");
    }

    [Fact]
    public void If_elsif_else_and_unless()
    {
        Run("""
            my $x = 2;
            if ($x == 1) { print "one"; } elsif ($x == 2) { print "two"; } else { print "many"; }
            unless ($x) { print "zero"; } else { print "!"; }
            print " mod" if $x;
            print " never" unless $x;
            """).Should().Be("two! mod");
    }

    [Fact]
    public void Quote_operator_letters_are_plain_method_names_after_an_arrow()
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var block = new TestBlock { Index = 1, Name = "T", Line = 1 };
        block.Set("s", new PerlString("section s"));
        perl.Functions["blk"] = (_, _) => new PerlBlockObject(block);

        perl.EvalList(perl.Parse("blk()->s . '|' . (blk()->y // 'none')", 1))
            .Should().Equal(new PerlString("section s|none"));
    }

    [Fact]
    public void Die_is_a_runtime_error_with_its_message()
    {
        var act = () => Run("my $f = 'x';\ndie \"cannot use '$f'\\n\";");

        act.Should().Throw<PerlException>().Where(e => e.Died && e.Line == 2 && e.Message == "cannot use 'x'");
    }

    [Theory]
    [InlineData("foo(1);", "line 1: unsupported function 'foo'")]
    [InlineData("my %h = ();", "line 1: only scalars and arrays can be declared with 'my'*")]
    [InlineData("my $x = 1;\nfor (my $i = 0; $i < 2; $i++) { }", "line 2: 'for' statements are not supported")]
    [InlineData("my $x = 'a';\n$x =~ tr/a/b/;", "line 2: the transliteration operator tr/// is not supported")]
    [InlineData("my $x = 'a';\nmy $y = 'b';\nprint 1 if $x =~ $y;", "line 3: '=~' must be followed by m//, s/// or qr//*")]
    [InlineData("my $x = 'a';\n$x =~ s/a/uc($&)/e;", "line 2: s///e*")]
    [InlineData("'a' =~ s/a/b/;", "line 1: s/// can only modify a scalar variable*")]
    [InlineData("print $undeclared;", "line 1: Global symbol \"$undeclared\" requires explicit package name*")]
    [InlineData("sub helper;", "line 1: only 'sub helper { ... }' is supported*")]
    [InlineData("my $v = eval 'x';", "line 1: only 'eval { ... }' blocks are supported*")]
    [InlineData("my $x;\ndelete $x;", "line 2: 'delete' is only supported on $ENV{...} elements")]
    [InlineData("my $s = \"@list\";", "line 1: array interpolation (@name) in a string is not supported*")]
    [InlineData("my $r = qr/$pat/;", "line 1: variable interpolation inside qr// is not supported")]
    [InlineData("my $h = {a => 1};", "line 1: anonymous hashes*")]
    [InlineData("print 1;\nreturn 1;", "line 1: Can't return outside a subroutine")]
    [InlineData("print \"\\x{zz}\";", "line 1: bad escape \\x{zz}")]
    public void Unsupported_constructs_name_line_and_construct(string code, string message)
    {
        var act = () => Run(code);

        var e = Assert.Throws<PerlException>(act);
        e.Died.Should().BeFalse();
        $"line {e.Line}: {e.Message}".Should().Match(message);
    }

    // ---- constructs real .t preambles use ----

    [Fact]
    public void Backticks_run_a_shell_command_in_the_root_with_the_changed_environment()
    {
        var root = Directory.CreateTempSubdirectory("perl-backticks-").FullName;
        try
        {
            Run("""
                $ENV{PERL_TEST_BACKTICK} = 'from perl';
                my $out = `printf '%s|' "\$PERL_TEST_BACKTICK"; pwd`;
                print $out;
                """, root)
                .Should().Be($"from perl|{root}\n");
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void Backticks_in_list_context_give_lines_and_set_the_child_status()
    {
        Eval("`printf 'a\\nb\\nc'`").Should().BeOfType<PerlArray>()
            .Which.Items.Select(v => v.ToString()).Should().Equal("a\n", "b\n", "c");
        Run("my $x = `exit 3`; print $?;").Should().Be("768");
        Run("my $x = eval { `perl_test_no_such_command_xyz 2>/dev/null` }; print \"[$x] $?\";").Should().Be("[] 32512");
    }

    [Fact]
    public void Match_and_not_match_with_captures()
    {
        Run("""
            my $v = "nginx version: openresty/1.21.4 (apisix-nginx-module)";
            print "has\n" if $v =~ m/apisix-nginx-module/;
            print "no tongsuo\n" if $v !~ m{tongsuo};
            print "$1\n" if $v =~ /openresty\/([\d.]+)/;
            my $undef;
            print "undef matches nothing\n" if $undef !~ m/./;
            """).Should().Be("has\nno tongsuo\n1.21.4\nundef matches nothing\n");
    }

    [Fact]
    public void Substitution_modifies_the_variable_and_counts()
    {
        Run("""
            my $c = "basic:\n  enable: false\nother:\n  enable: false\n";
            my $n = ($c =~ s/basic:\n  enable: false/basic:\n  enable: true/);
            print "$n|$c";
            my $s = "a-b-c";
            my $all = ($s =~ s/-/+/g);
            my $none = ($s =~ s/x/y/);
            print "$all|$s|[$none]|";
            my $copy = $s =~ s/(\w)\+/$1=/gr;
            print "$copy|$s";
            """).Should().Be("1|basic:\n  enable: true\nother:\n  enable: false\n2|a+b+c|[]|a=b=c|a+b+c");
    }

    [Fact]
    public void File_tests_resolve_against_the_root()
    {
        var root = Directory.CreateTempSubdirectory("perl-filetests-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "plain"), "x");
            File.WriteAllText(Path.Combine(root, "tool"), "");
            File.SetUnixFileMode(Path.Combine(root, "tool"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
            Run("""
                my $missing;
                print join_flags(-e 'plain', -f 'plain', -d 'plain', -x 'plain', -s 'plain'), "\n";
                print join_flags(-x 'tool', -z 'tool', -d '.', -e 'nope', -x $missing), "\n";
                print "skip\n" if ! -x $ENV{PERL_TEST_NO_SUCH_BIN};
                sub join_flags { my ($a, $b, $c, $d, $e) = @_; return "$a,$b,$c,$d,$e"; }
                """, root).Should().Be("1,1,,,1\n1,1,1,,\nskip\n");
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void Undef_and_delete_make_env_elements_undefined_even_when_the_process_has_them()
    {
        Environment.SetEnvironmentVariable("PERL_TEST_DELETE_ME", "process");
        try
        {
            var perl = new PerlInterpreter(Path.GetTempPath());
            var printed = new System.Text.StringBuilder();
            perl.Print = s => printed.Append(s);
            perl.Run(perl.Parse("""
                my $x = 1;
                undef $x;
                $ENV{PERL_TEST_STAP} = 1;
                undef $ENV{PERL_TEST_STAP};
                my $old = delete $ENV{"PERL_TEST_DELETE_ME"};
                print defined $x ? "x" : "-", defined $ENV{PERL_TEST_STAP} ? "s" : "-",
                    defined $ENV{PERL_TEST_DELETE_ME} ? "d" : "-", "|$old";
                """, 1));

            printed.ToString().Should().Be("---|process");
            perl.Env.Should().Contain(new KeyValuePair<string, string?>("PERL_TEST_DELETE_ME", null));
        }
        finally { Environment.SetEnvironmentVariable("PERL_TEST_DELETE_ME", null); }
    }

    [Fact]
    public void Chomp_removes_one_trailing_newline()
    {
        Run("my $s = \"x\\n\\n\"; my $n = chomp($s); my $t = 'y'; my $m = chomp $t; print \"[$s] $n [$t] $m\";")
            .Should().Be("[x\n] 1 [y] 0");
    }

    [Theory]
    [InlineData("\"passed\\n\"x3", "passed\npassed\npassed\n")]
    [InlineData("'-' x 2 . '|'", "--|")]
    [InlineData("my $v ||= 'default'; $v", "default")]
    [InlineData("my $v = 'set'; $v ||= 'default'; $v", "set")]
    [InlineData("my $v = 0; $v //= 'default'; $v", "0")]
    public void Repetition_and_or_assignment(string code, string expected) =>
        Eval(code).ToString().Should().Be(expected);

    [Fact]
    public void Named_subs_are_defined_as_Perl_compiles_them()
    {
        Run("""
            BEGIN {
                sub greet { my ($who) = @_; return "first $who"; }
                print greet('a'), "\n";
            }
            print greet('b'), "\n";
            sub greet { my $who = shift; return "second $who"; }
            """).Should().Be("first a\nsecond b\n"); // BEGIN runs before the later definition is compiled
    }

    [Fact]
    public void Eval_block_catches_die_into_dollar_at()
    {
        Run("""
            my $v = eval { die "boom\n"; 1 };
            print defined $v ? "defined" : "undef", "|$@";
            my $w = eval { 'fine' };
            print "$w|$@|";
            eval { die "no newline" };
            print $@;
            """).Should().Be("undef|boom\nfine||no newline at - line 5.\n");
    }

    [Fact]
    public void Without_strict_an_undeclared_variable_is_the_package_global()
    {
        Run("""
            BEGIN { $SkipReason = "why" if 1; }
            print $SkipReason // 'none';
            our $SkipReason;
            print "|$SkipReason|$::SkipReason";
            """, strict: false).Should().Be("why|why|why");
        var act = () => Run("$Fine = 1;\nuse strict;\n$NotFine = 1;", strict: false);
        act.Should().Throw<PerlException>().Where(e => e.Line == 3 && e.Message.StartsWith("Global symbol \"$NotFine\""));
    }

    [Fact]
    public void Open_without_parentheses_binds_looser_than_or()
    {
        var root = Directory.CreateTempSubdirectory("perl-open-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "cert.pem"), "CERT\n");
            Run("""
                open my $fh, '<', 'cert.pem' or die $!;
                my $content = do { local $/; <$fh> };
                close $fh;
                print $content;
                open my $gone, '<', 'missing.pem' or print "missing: $!";
                """, root).Should().Be("CERT\nmissing: No such file or directory");
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Theory]
    [InlineData("mmm", "Bareword \"mmm\" not allowed while \"strict subs\" in use")]
    [InlineData("\"GET / HTTP/1.1\\r\n\"\n[error]", "syntax error")]
    [InlineData("qr/a/\nqr/b/", "syntax error")]
    public void Code_real_Perl_rejects_is_a_compile_error(string code, string message)
    {
        var act = () => Eval(code);

        var e = Assert.Throws<PerlException>(act);
        (e.CompileError, e.IsPerlError, e.Message).Should().Be((true, true, message));
    }

    [Fact]
    public void Subset_limits_are_not_perl_errors()
    {
        var e = Assert.Throws<PerlException>(() => Eval("sprintf('%d', 1)"));
        e.IsPerlError.Should().BeFalse();
        Assert.Throws<PerlException>(() => Eval("sprintf")).IsPerlError.Should().BeFalse();
    }
}
