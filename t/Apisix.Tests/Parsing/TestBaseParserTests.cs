using Apisix.TestNginx.Parsing;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

public class TestBaseParserTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Splits_blocks_with_names_descriptions_and_lines()
    {
        var file = _files.LoadData("""
            === TEST 1: first
            a few words about it

            --- config
            location /t {}
            === TEST 2b: second
            --- request
            GET /x
            """.ReplaceLineEndings("\n") + "\n");

        file.Blocks.Should().HaveCount(2);
        var (first, second) = (file.Blocks[0], file.Blocks[1]);
        first.Name.Should().Be("TEST 1: first");
        first.Description.Should().Be("a few words about it");
        first.Index.Should().Be(1);
        first.Line.Should().Be(6); // 4 preamble lines, a blank line, then the block
        second.Name.Should().Be("TEST 2b: second");
        second.Description.Should().Be("TEST 2b: second", "a block without description is described by its name");
        second.Line.Should().Be(11);
        second.SectionLines["request"].Should().Be(12);
    }

    [Fact]
    public void Multi_line_sections_end_in_exactly_one_newline()
    {
        var block = _files.LoadData("=== T\n--- response_body\n\n\npassed\n\n   \n\n--- error_log\nkeep spaces   \n  \n").Blocks[0];

        block.Text("response_body").Should().Be("passed\n");
        block.Text("error_log").Should().Be("keep spaces   \n", "trim only drops whitespace after the last newline-terminated line");
    }

    [Fact]
    public void Empty_section_stays_empty_and_crlf_is_normalised()
    {
        var block = _files.LoadData("=== T\n--- empty\n--- body\r\nline one\r\nline two\r\n").Blocks[0];

        block.Sections["empty"].Should().Be(new PerlString(""));
        block.Text("body").Should().Be("line one\nline two\n");
    }

    [Fact]
    public void Inline_sections_have_no_newline()
    {
        var block = _files.LoadData("=== T\n--- error_code: 200\n--- timeout:   10   \n--- response_body_like: .*forbidden.*\n--- empty:\n").Blocks[0];

        block.Text("error_code").Should().Be("200");
        block.Text("timeout").Should().Be("10");
        block.Text("response_body_like").Should().Be(".*forbidden.*");
        block.Text("empty").Should().Be("");
    }

    [Fact]
    public void Colon_without_following_space_is_not_inline()
    {
        var act = () => _files.LoadData("=== T\n--- config a:b\nx\n");

        act.Should().Throw<TestFileException>().WithMessage("*unknown filter 'a:b'*");
    }

    [Fact]
    public void Inline_section_followed_by_text_is_an_error()
    {
        var act = () => _files.LoadData("=== T\n--- error_code: 200\nstray text\n");

        act.Should().Throw<TestFileException>().WithMessage("*sample.t:7:*extra lines*error_code*");
    }

    [Fact]
    public void Chomp_removes_the_final_newline()
    {
        var block = _files.LoadData("=== T\n--- response_body chomp\nsuccess\n\n").Blocks[0];

        block.Text("response_body").Should().Be("success");
        block.Filters["response_body"].Should().Equal("chomp");
    }

    [Fact]
    public void Unknown_sections_are_kept()
    {
        var block = _files.LoadData("=== T\n--- response_body_chomp\nOK\n--- made_up_thing\nx\n").Blocks[0];

        block.Text("response_body_chomp").Should().Be("OK\n");
        block.Text("made_up_thing").Should().Be("x\n");
    }

    [Fact]
    public void Last_duplicate_section_wins()
    {
        var block = _files.LoadData("=== T\n--- request\nGET /one\n--- request\nGET /two\n").Blocks[0];

        block.Text("request").Should().Be("GET /two\n");
    }

    [Fact]
    public void Only_skip_and_last_set_flags_and_drive_selection()
    {
        var file = _files.LoadData("=== A\n--- SKIP\n=== B\n--- LAST\n=== C\n");

        file.Blocks.Should().HaveCount(3);
        file.Blocks[0].Skip.Should().BeTrue();
        file.Blocks[1].Last.Should().BeTrue();
        file.SelectedBlocks().Select(b => b.Name).Should().Equal("B");

        var only = _files.LoadData("=== A\n=== B\n--- ONLY\n=== C\n");
        only.Blocks[1].Only.Should().BeTrue();
        only.SelectedBlocks().Select(b => b.Name).Should().Equal("B");
    }

    [Fact]
    public void Reserved_section_names_are_refused()
    {
        var act = () => _files.LoadData("=== T\n--- name\nx\n");

        act.Should().Throw<TestFileException>().WithMessage("*'name' is a reserved name*");
    }

    [Fact]
    public void Text_between_data_marker_and_first_block_is_ignored()
    {
        var file = _files.Load("run_tests();\n__DATA__\nnot a block\n--- nor a section\n=== only one\n--- x: 1\n");

        file.Blocks.Should().ContainSingle().Which.Text("x").Should().Be("1");
    }

    [Fact]
    public void Bytes_are_kept_one_char_per_byte()
    {
        // "→" as its three UTF-8 bytes, and a trailing 0x85 byte that .NET's Trim would treat as whitespace.
        var file = _files.LoadData("=== TEST 1: a \u00e2\u0086\u0092 b\u00c4\u0085\n--- body\nx\n");

        file.Blocks[0].Name.Should().Be("TEST 1: a \u00e2\u0086\u0092 b\u00c4\u0085");
    }
}
