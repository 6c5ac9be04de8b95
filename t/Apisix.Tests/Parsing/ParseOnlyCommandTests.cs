using Apisix.TestNginx.Parsing;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

public class ParseOnlyCommandTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Reports_each_file_and_a_summary()
    {
        _files.Write("t/b/good.t", "use t::APISIX 'no_plan';\nrun_tests();\n__DATA__\n=== one\n=== two\n");
        _files.Write("t/a/bad.t", "use t::APISIX 'no_plan';\nfor (my $i = 0; $i < 1; $i++) { }\n__DATA__\n=== one\n");
        _files.Write("t/a/notes.txt", "not a test");
        var output = new StringWriter();

        var rc = ParseOnlyCommand.Run(_files.Root, [Path.Combine(_files.Root, "t")], output);

        rc.Should().Be(1);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(3);
        lines[0].Should().Match("*t/a/bad.t: ERROR 'for' statements are not supported (line 2)");
        lines[1].Should().Match("*t/b/good.t: 2 blocks");
        lines[2].Should().Be("parsed 2 files, 2 blocks, 1 errors");
    }

    [Fact]
    public void Returns_zero_when_everything_loads()
    {
        _files.Write("t/ok.t", "run_tests();\n__DATA__\n=== one\n");
        var output = new StringWriter();

        ParseOnlyCommand.Run(_files.Root, [Path.Combine(_files.Root, "t/ok.t")], output).Should().Be(0);
        output.ToString().Should().EndWith("parsed 1 files, 1 blocks, 0 errors" + Environment.NewLine);
    }
}
