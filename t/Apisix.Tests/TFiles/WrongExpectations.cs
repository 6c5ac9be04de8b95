using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.TFiles;

/// <summary>A .t file whose every expectation is wrong: each block must fail, saying what it got.</summary>
public class WrongExpectations
{
    [Fact]
    public async Task Every_wrong_expectation_fails_with_a_readable_message()
    {
        var file = Path.Combine(OurTFiles.RepoRoot, "t", "fixtures", "wrong", "wrong-expectations.t");
        var outcome = await new FileRunner(OurTFiles.RepoRoot).RunAsync(file);

        outcome.Error.Should().BeNull();
        outcome.Blocks.Should().HaveCount(7);
        outcome.Blocks.Should().OnlyContain(b => b.Status == BlockOutcome.Fail);
        string Msg(int i) => outcome.Blocks.Single(b => b.Index == i).Message ?? "";
        Msg(1).Should().Contain("got: '200'").And.Contain("expected: '404'");
        Msg(2).Should().Contain("got: 'actual text").And.Contain("expected: 'expected text");
        Msg(3).Should().Contain("imagined");
        Msg(4).Should().Contain("a line nobody wrote");
        Msg(5).Should().Contain("loud failure");
        Msg(6).Should().Contain("^xyz$");
        Msg(7).Should().Contain("timed out");
    }
}
