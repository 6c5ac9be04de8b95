using Apisix.TestNginx.Parsing;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

public class SectionFilterTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private TestBlock Block(string sections) => _files.LoadData("=== T\n" + sections).Blocks[0];

    [Fact]
    public void Eval_of_a_qr_literal_gives_a_regex_with_its_flags()
    {
        var block = Block("--- response_body eval\nqr/data: \\[DONE\\]\\n/\n--- error_log eval\nqr{\\[test\\] uri: /model/\\d+}s\n");

        block.Sections["response_body"].Should().Be(new PerlRegex(@"data: \[DONE\]\n", ""));
        block.Sections["error_log"].Should().Be(new PerlRegex(@"\[test\] uri: /model/\d+", "s"));
        block.Sections["error_log"].ToString().Should().Be(@"(?^s:\[test\] uri: /model/\d+)");
    }

    [Fact]
    public void Eval_returning_several_values_gives_an_array()
    {
        var block = Block("--- request eval\n(\"GET /a\", \"GET /b\")\n--- list eval\n[\"x\" x 3, 'y']\n");

        block.Sections["request"].Should().BeOfType<PerlArray>()
            .Which.Items.Should().Equal(new PerlString("GET /a"), new PerlString("GET /b"));
        block.Sections["list"].Should().BeOfType<PerlArray>()
            .Which.Items.Should().Equal(new PerlString("xxx"), new PerlString("y"));
    }

    [Fact]
    public void Eval_keeps_digit_and_empty_results()
    {
        // Test::Base only reverts lone digit/empty results for filters defined in main::, never for eval.
        var block = Block("--- sum eval\n1 + 1\n--- nothing eval\n\"\"\n");

        block.Text("sum").Should().Be("2");
        block.Text("nothing").Should().Be("");
    }

    [Fact]
    public void Eval_sees_env_set_by_the_preamble_but_not_its_lexicals()
    {
        var file = _files.Load("BEGIN { $ENV{PARSING_TEST_X} = 'from-begin'; }\nmy $hidden = 1;\n__DATA__\n=== T\n--- a eval\n\"[$ENV{PARSING_TEST_X}]\"\n");
        file.Blocks[0].Text("a").Should().Be("[from-begin]");

        // under strict that is a compile error, which Test::Base's eval filter returns as the value ($@)
        var hidden = _files.Load("my $hidden = 1;\n__DATA__\n=== T\n--- a eval\n$hidden\n");
        hidden.Blocks[0].Text("a").Should().Be(
            "Global symbol \"$hidden\" requires explicit package name (did you forget to declare \"my $hidden\"?) at (eval 1) line 1.\n");
    }

    [Fact]
    public void Filters_run_left_to_right_with_arguments()
    {
        var block = Block("--- a lines chomp\none\ntwo\n--- b lines chomp join=,\none\ntwo\n--- c lines chomp join=\\s\none\ntwo\n");

        block.Sections["a"].Should().BeOfType<PerlArray>().Which.Items.Should().Equal(new PerlString("one"), new PerlString("two"));
        block.Text("b").Should().Be("one,two");
        block.Text("c").Should().Be("one two");
    }

    [Fact]
    public void Minus_removes_a_default_filter()
    {
        var block = Block("--- raw -trim\n\n  spaced  \n\n");

        block.Text("raw").Should().Be("\n  spaced  \n\n");
    }

    [Fact]
    public void Regexp_filter_compiles_the_text()
    {
        var block = Block("--- one regexp\nab+c\n--- two regexp=i\nx\n");

        block.Sections["one"].Should().Be(new PerlRegex("ab+c", ""));
        block.Sections["two"].Should().Be(new PerlRegex("x", "i"));
    }

    [Fact]
    public void Unknown_filter_is_an_error()
    {
        var act = () => Block("--- body frobnicate\nx\n");

        act.Should().Throw<TestFileException>().WithMessage("*sample.t:7: unknown filter 'frobnicate' in section 'body'");
    }

    [Fact]
    public void Trim_is_test_base_trim()
    {
        SectionFilters.Trim("  \n\t\nabc \n \n\n", out var dropped).Should().Be("abc \n");
        dropped.Should().Be(2);
        SectionFilters.Trim("no newline  ", out _).Should().Be("no newline  ");
        SectionFilters.Trim("", out _).Should().Be("");
        SectionFilters.Trim("\n\n", out _).Should().Be("");
    }
}
