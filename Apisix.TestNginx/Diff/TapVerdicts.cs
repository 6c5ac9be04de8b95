using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Diff;

/// <summary>One TAP test line (<c>ok 3 - name</c>, <c>not ok 4 - name # TODO x</c>) and the <c>#</c> lines under it.</summary>
public sealed record TapTest(int Number, bool Ok, string? Directive, string Text, List<string> Diagnostics)
{
    /// <summary>pass, fail or skip, as prove counts it (a failing TODO test is not a failure).</summary>
    public string Kind => Directive == "skip" ? "skip" : Ok || Directive == "todo" ? "pass" : "fail";
}

/// <summary>What the real side's prove printed, read into tests, a skip_all reason, a bail-out and the plan.</summary>
public sealed partial class TapOutput
{
    public List<TapTest> Tests { get; } = new();

    /// <summary><c>1..0 # SKIP reason</c>: the file skipped every block.</summary>
    public string? SkipAll { get; private set; }

    public string? BailOut { get; private set; }

    /// <summary>"ok", or "planned N, ran M" when Test::More says the plan was not met.</summary>
    public string Plan { get; private set; } = "ok";

    public List<string> Lines { get; } = new();

    /// <summary>
    /// Reads prove's merged output. Test::More prints a failure's <c>#</c> lines on stderr, which
    /// reaches the merged stream before or after the <c>not ok</c> line on stdout; so each
    /// <c>#   Failed test 'NAME'</c> group goes to the first failed test of that name.
    /// </summary>
    public static TapOutput Parse(IEnumerable<string> lines)
    {
        var tap = new TapOutput();
        var groups = new List<(string Name, bool Complete, List<string> Lines)>();
        List<string>? group = null;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            tap.Lines.Add(line);
            var m = TestLine().Match(line);
            if (m.Success)
            {
                var directive = m.Groups[4].Success ? m.Groups[4].Value.ToLowerInvariant() : null;
                var text = m.Groups[3].Success ? m.Groups[3].Value : "";
                if (directive == "skip" && m.Groups[5].Value.Length > 0 && text.Length == 0) text = m.Groups[5].Value;
                tap.Tests.Add(new TapTest(int.Parse(m.Groups[2].Value), !m.Groups[1].Success, directive, text, []));
                continue;
            }
            if (SkipAllLine().Match(line) is { Success: true } s) { tap.SkipAll = s.Groups[1].Value.Trim(); continue; }
            if (line.StartsWith("Bail out!", StringComparison.Ordinal)) { tap.BailOut = line; group = null; continue; }
            if (PlanLine().Match(line) is { Success: true } p) tap.Plan = $"planned {p.Groups[1].Value}, ran {p.Groups[2].Value}";
            if (FailedLine().Match(line) is { Success: true } f)
            {
                var name = f.Groups[1].Value;
                var complete = name.EndsWith('\'');
                group = new List<string> { line };
                groups.Add((complete ? name[..^1] : name, complete, group));
                continue;
            }
            if (line.StartsWith('#') && group != null) group.Add(line);
            else if (!line.StartsWith('#')) group = null;
        }
        var used = new bool[groups.Count];
        foreach (var t in tap.Tests.Where(t => !t.Ok))
        {
            var i = groups.FindIndex(g => !used[groups.IndexOf(g)] && (g.Complete ? g.Name == t.Text : t.Text.StartsWith(g.Name, StringComparison.Ordinal)));
            if (i < 0) continue;
            used[i] = true;
            t.Diagnostics.AddRange(groups[i].Lines);
        }
        return tap;
    }

    [GeneratedRegex(@"^#\s+Failed (?:\(TODO\) )?test '(.*)$")]
    private static partial Regex FailedLine();

    [GeneratedRegex(@"^(not )?ok (\d+)(?: - (.*?))?(?:\s*(?<!\\)#\s*(skip|SKIP|TODO|todo)\b\s*(.*))?\s*$")]
    private static partial Regex TestLine();

    [GeneratedRegex(@"^1\.\.0\s*#\s*(?i:skip)\b(.*)$")]
    private static partial Regex SkipAllLine();

    [GeneratedRegex(@"Looks like you planned (\d+) tests? but ran (\d+)")]
    private static partial Regex PlanLine();
}

/// <summary>A block's verdict on one side: pass, fail, skip; "?" when the side printed nothing for it, "-" when it was not run.</summary>
public sealed record Verdict(string Value, string? Detail)
{
    public static Verdict Of(IReadOnlyList<TapTest> tests)
    {
        if (tests.Count == 0) return new Verdict("?", null);
        var failed = tests.Where(t => t.Kind == "fail").ToList();
        if (failed.Count > 0)
        {
            var lines = new List<string>();
            foreach (var t in failed.Take(6))
            {
                lines.Add("not ok " + t.Number + " - " + t.Text);
                lines.AddRange(t.Diagnostics.Take(20));
            }
            if (failed.Count > 6) lines.Add($"... and {failed.Count - 6} more failed tests");
            return new Verdict("fail", string.Join("\n", lines));
        }
        if (tests.All(t => t.Kind == "skip")) return new Verdict("skip", tests[0].Text);
        return new Verdict("pass", null);
    }
}
