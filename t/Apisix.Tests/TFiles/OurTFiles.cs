using System.Collections.Concurrent;
using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Reporting;
using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.TFiles;

/// <summary>
/// Every block of our own .t files under t/ (except t/fixtures) is one test case. A file runs
/// once, in order (later blocks can depend on earlier ones), and each case reports its block.
/// </summary>
public class OurTFiles
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<FileOutcome>>> Runs = new();

    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "Apisix.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("cannot find the repository root (Apisix.sln)");
    }

    public static IEnumerable<object[]> Blocks()
    {
        var tdir = Path.Combine(RepoRoot, "t");
        foreach (var file in Directory.GetFiles(tdir, "*.t", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(RepoRoot, file);
            if (rel.StartsWith(Path.Combine("t", "fixtures"), StringComparison.Ordinal)) continue;
            var parsed = TestFileLoader.Load(file, RepoRoot);
            foreach (var b in parsed.SelectedBlocks())
                yield return [rel, b.Index, ByteStrings.ToText(b.Name)];
        }
    }

    internal static Task<FileOutcome> Run(string rel) =>
        Runs.GetOrAdd(rel, r => new Lazy<Task<FileOutcome>>(() => new FileRunner(RepoRoot).RunAsync(Path.Combine(RepoRoot, r)))).Value;

    [Theory]
    [MemberData(nameof(Blocks))]
    public async Task Block_passes(string file, int index, string name)
    {
        var outcome = await Run(file);
        outcome.Error.Should().BeNull();
        var block = outcome.Blocks.FirstOrDefault(b => b.Index == index);
        block.Should().NotBeNull($"block {index} ({name}) of {file} should have run");
        block!.Status.Should().Be(BlockOutcome.Pass, block.Message);
    }
}
