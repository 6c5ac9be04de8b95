using Apisix.TestNginx.Perl;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

// The loops and list builtins that eval sections of plain Test::Nginx files use to build long
// requests and headers (while/foreach, ++, ranges, map, join).
public class PerlLoopsAndListsTests
{
    private static string Eval(string code)
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        return string.Join("|", perl.EvalList(perl.Parse(code, 1)).Select(v => PerlOps.Str(v, 1)));
    }

    [Theory]
    [InlineData("my $i = 1; my $s = ''; while ($i <= 3) { $s .= \"a$i\"; $i++; } $s", "a1a2a3")]
    [InlineData("my $i = 3; until ($i == 0) { --$i; } $i", "0")]
    [InlineData("my $s = ''; for my $x (1, 2, 3) { $s .= $x; } $s", "123")]
    [InlineData("my $s = ''; foreach my $x (2..4) { $s .= \"<$x>\"; } $s", "<2><3><4>")]
    [InlineData("my $i = 5; my $old = $i++; \"$old $i\"", "5 6")]
    [InlineData("my $i = 5; my $new = ++$i; \"$new $i\"", "6 6")]
    [InlineData("my $i = 5; $i--; $i", "4")]
    [InlineData("1..4", "1|2|3|4")]
    [InlineData("3..1", "")]
    [InlineData("map { \"h$_\" } 1..3", "h1|h2|h3")]
    [InlineData("map \"x$_\", 1, 2", "x1|x2")]
    [InlineData("join ', ', map { $_ * 2 } 1..3", "2, 4, 6")]
    [InlineData("CORE::join \"-\", 'a', 'b'", "a-b")]
    [InlineData("int(7.9) . int(-2.5)", "7-2")]
    [InlineData("dirname('/a/b/c.t') . ' ' . basename('/a/b/c.t')", "/a/b c.t")]
    [InlineData("dirname('c.t')", ".")]
    [InlineData("('a', , 'b', , )", "a|b")]
    [InlineData("my $s = 'abc'; (' ' x (6 - length($s))) . $s", "   abc")]
    [InlineData("my $k = 'key42'; if ($k =~ /\\d+/) { $k .= \" = $&\"; } $k", "key42 = 42")]
    // arrays: my @a, push/unshift/pop/shift, element access, list assignment, sort, reverse, scalar()
    [InlineData("my @k; push @k, 'b', 'a'; unshift @k, 'c'; @k", "c|b|a")]
    [InlineData("my @k = (3, 1, 2); @k = sort @k; @k", "1|2|3")]
    [InlineData("my @k = ('a10', 'a9', 'a1'); sort @k", "a1|a10|a9")]
    [InlineData("sort { $a <=> $b } 10, 9, 100", "9|10|100")]
    [InlineData("sort { $b cmp $a } 'x', 'z', 'y'", "z|y|x")]
    [InlineData("reverse 1..3", "3|2|1")]
    [InlineData("my @k = (1, 2, 3); my $n = @k; my $p = pop @k; my $s = shift @k; \"$n $p $s \" . scalar(@k)", "3 3 1 1")]
    [InlineData("my @k = ('x', 'y'); $k[3] = 'z'; $k[-1] . $k[0] . (defined $k[2] ? 'def' : 'undef')", "zxundef")]
    [InlineData("my @k = (1, 2); for my $x (@k) { $x .= '!'; } @k", "1!|2!")]
    [InlineData("my ($first, @rest) = (1, 2, 3); \"$first \" . join(',', @rest)", "1 2,3")]
    [InlineData("join ',', 'a' .. 'e'", "a,b,c,d,e")]
    [InlineData("join ',', 'y' .. 'ab'", "y,z,aa,ab")]
    [InlineData("uc('ab') . lc('CD') . ucfirst('ef') . lcfirst('GH')", "ABcdEfgH")]
    public void Evaluates(string code, string expected) => Eval(code).Should().Be(expected);

    [Fact]
    public void An_undeclared_array_is_a_strict_error()
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var act = () => perl.EvalList(perl.Parse("push @nope, 1;", 1));
        act.Should().Throw<PerlException>().WithMessage("*Global symbol \"@nope\" requires explicit package name*");
    }

    [Fact]
    public void Map_restores_the_outer_topic()
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var printed = new System.Text.StringBuilder();
        perl.Print = s => printed.Append(s);
        perl.Run(perl.Parse("print join(',', map { $_ + 1 } 1..2), ';', defined($_) ? 'set' : 'unset';", 1, strict: false));
        printed.ToString().Should().Be("2,3;unset");
    }

    [Fact]
    public void An_endless_loop_is_stopped_with_a_clear_error()
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var act = () => perl.EvalList(perl.Parse("my $i = 0;\nwhile (1) { $i++; }", 1));
        act.Should().Throw<PerlException>().Where(e => e.Line == 2 && e.Message.StartsWith("'while' loop still running after"));
    }

    [Fact]
    public void Two_argument_open_reads_the_file_named_after_its_mode()
    {
        var dir = Directory.CreateTempSubdirectory();
        File.WriteAllText(Path.Combine(dir.FullName, "cert.pem"), "PEM\n");
        var perl = new PerlInterpreter(dir.FullName);
        var value = perl.EvalList(perl.Parse("open my $in, 'cert.pem' or die; my $a = do { local $/; <$in> }; "
            + "open my $again, '< cert.pem' or die; my $b = <$again>; $a . $b", 1));
        PerlOps.Str(value.Single(), 1).Should().Be("PEM\nPEM\n");
    }

    [Fact]
    public void Two_argument_open_for_writing_is_refused_clearly()
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var act = () => perl.EvalList(perl.Parse("open my $out, '>x.txt'", 1));
        act.Should().Throw<PerlException>().WithMessage("open mode '>' is not supported*");
    }

    [Theory]
    [InlineData("[ qr/abc, 'x' ]", "Search pattern not terminated")]
    [InlineData("'abc", "Can't find string terminator \"'\" anywhere before EOF")]
    [InlineData("my $x = 'a'; $x =~ s/a/b", "Substitution replacement not terminated")]
    public void An_unterminated_quote_is_a_compile_error_as_in_perl(string code, string message)
    {
        var perl = new PerlInterpreter(Path.GetTempPath());
        var act = () => perl.Parse(code, 1);
        act.Should().Throw<PerlException>().Where(e => e.IsPerlError && e.Message == message);
    }
}
