using System.Globalization;
using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// The file's Test::More plan: <c>no_plan</c>, <c>tests =&gt; N</c> (the assertions the blocks
/// run must add up to N, or the file fails as prove reports it) or <c>skip_all =&gt; REASON</c>
/// (nothing runs).
/// </summary>
public static class TestPlan
{
    private const string TestsKey = "tests => ", SkipAllKey = "skip_all => ";

    /// <summary>The reason of a <c>skip_all</c> plan, or null.</summary>
    public static string? SkipAll(TestFile file) =>
        file.Settings.Plan is { } plan && plan.StartsWith(SkipAllKey, StringComparison.Ordinal) ? plan[SkipAllKey.Length..] : null;

    /// <summary>
    /// Test::More's complaint when a <c>tests =&gt; N</c> plan does not match what ran, or null.
    /// Not checked when this runner skipped a block Test::Nginx would have run (its assertions are unknown).
    /// </summary>
    public static string? Mismatch(TestFile file, FileOutcome outcome)
    {
        if (file.Settings.Plan is not { } plan || !plan.StartsWith(TestsKey, StringComparison.Ordinal)) return null;
        if (!double.TryParse(plan[TestsKey.Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var planned)) return null;
        if (outcome.Blocks.Any(b => b.Status == BlockOutcome.Skip && b.Message != SkipSection)) return null;
        var ran = outcome.Blocks.Sum(b => b.Subtests);
        return (long)planned == ran ? null : $"Looks like you planned {(long)planned} tests but ran {ran}.";
    }

    /// <summary>The skip message of a block whose `--- SKIP` section Test::Base honours.</summary>
    public const string SkipSection = "SKIP section";
}
