using Apisix.TestNginx.Reporting;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

public class BenchReportTests
{
    private static BlockOutcome Block(double elapsed, double slept) =>
        new() { Elapsed = TimeSpan.FromSeconds(elapsed), Slept = TimeSpan.FromSeconds(slept) };

    [Fact]
    public void Prints_wall_rate_sleeps_overhead_and_the_longest_file()
    {
        var files = new List<FileOutcome>
        {
            new() { File = "a.t", Blocks = { Block(1.0, 0.9), Block(0.1, 0) } },
            new() { File = "b.t", Blocks = { Block(3.0, 2.8), Block(0.2, 0) } },
        };
        var output = new StringWriter();
        BenchReport.Write(output, files, TimeSpan.FromSeconds(4), jobs: 2);

        output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(
            "bench: 4 blocks in 2 files, 2 jobs",
            "bench: wall time 4.00 s, 1.0 blocks/s",
            "bench: tests' own sleeps 3.70 s (summed over blocks; blocks' own time 4.30 s)",
            "bench: runner overhead outside sleeps 150.0 ms/block",
            "bench: longest file b.t: 3.20 s, of which sleeps 2.80 s");
    }
}
