namespace Apisix.TestNginx.Reporting;

/// <summary>
/// The `--bench` figures: wall time and blocks per second for the run, the time the tests' own
/// sleeps took (summed over blocks), and what is left per block once those sleeps are taken out
/// of the blocks' times, which is the runner's cost. With files in parallel, wall time cannot go
/// below the longest file, so that file is printed too.
/// </summary>
public static class BenchReport
{
    public static void Write(TextWriter output, IReadOnlyList<FileOutcome> files, TimeSpan wall, int jobs)
    {
        var blocks = files.Sum(f => f.Blocks.Count);
        var elapsed = Seconds(files.SelectMany(f => f.Blocks), b => b.Elapsed);
        var slept = Seconds(files.SelectMany(f => f.Blocks), b => b.Slept);
        var perBlock = blocks > 0 ? (elapsed - slept) / blocks * 1000 : 0;
        output.WriteLine($"bench: {blocks} blocks in {files.Count} files, {jobs} jobs");
        output.WriteLine($"bench: wall time {wall.TotalSeconds:0.00} s, {blocks / Math.Max(wall.TotalSeconds, 1e-9):0.0} blocks/s");
        output.WriteLine($"bench: tests' own sleeps {slept:0.00} s (summed over blocks; blocks' own time {elapsed:0.00} s)");
        output.WriteLine($"bench: runner overhead outside sleeps {perBlock:0.0} ms/block");
        if (files.MaxBy(f => Seconds(f.Blocks, b => b.Elapsed)) is { } longest)
            output.WriteLine($"bench: longest file {longest.File}: {Seconds(longest.Blocks, b => b.Elapsed):0.00} s, of which sleeps {Seconds(longest.Blocks, b => b.Slept):0.00} s");
    }

    private static double Seconds(IEnumerable<BlockOutcome> blocks, Func<BlockOutcome, TimeSpan> of) =>
        blocks.Sum(b => of(b).TotalSeconds);
}
