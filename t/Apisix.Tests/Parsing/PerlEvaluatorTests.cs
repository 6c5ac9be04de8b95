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

    private static string Run(string code)
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var printed = new System.Text.StringBuilder();
        perl.Print = s => printed.Append(s);
        perl.Run(perl.Parse(code, 1));
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
    [InlineData("my %h = ();", "line 1: only scalars can be declared with 'my'*")]
    [InlineData("my $x = 1;\nfor my $i (1) { }", "line 2: 'for' statements are not supported")]
    [InlineData("my $x = 'a';\n$x =~ s/a/b/;", "line 2: regex operator s// is not supported*")]
    [InlineData("my $x = 'a';\nprint \"$x\" if $x =~ /a/;", "line 2: regex matching ('=~') is not supported")]
    [InlineData("print $undeclared;", "line 1: Global symbol \"$undeclared\" requires explicit package name*")]
    [InlineData("sub helper { 1 }", "line 1: named subroutine 'sub helper' is not supported*")]
    [InlineData("my $s = \"@list\";", "line 1: array interpolation (@name) in a string is not supported*")]
    [InlineData("my $r = qr/$pat/;", "line 1: variable interpolation inside qr// is not supported")]
    [InlineData("print `ls`;", "line 1: backticks*")]
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
}
