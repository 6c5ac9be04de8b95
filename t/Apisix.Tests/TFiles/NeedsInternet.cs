using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.TFiles;

/// <summary>Blocks that fail because the gateway called a public provider are skipped with the reason; others still fail.</summary>
public class NeedsInternet
{
    [Fact]
    public async Task A_failure_after_calling_a_public_provider_is_a_skip_and_only_that_one()
    {
        var file = Path.Combine(OurTFiles.RepoRoot, "t", "fixtures", "internet", "gateway-calls-public-provider.t");
        var outcome = await new FileRunner(OurTFiles.RepoRoot).RunAsync(file);

        outcome.Error.Should().BeNull();
        outcome.Blocks.Select(b => b.Status).Should().Equal(BlockOutcome.Pass, BlockOutcome.Skip, BlockOutcome.Fail);
        outcome.Blocks[1].Message.Should().Be("needs the real internet (the gateway called api.openai.com:443)");
        outcome.Blocks[2].Message.Should().Contain("expected: '200'");
    }
}
