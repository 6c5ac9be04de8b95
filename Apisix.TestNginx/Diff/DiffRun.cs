using System.Text.RegularExpressions;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Diff;

/// <summary>The `diff` command's settings.</summary>
public sealed class DiffOptions
{
    public string Root { get; set; } = Directory.GetCurrentDirectory();
    public string? TestNginxLib { get; set; }
    public string? Prove { get; set; }
    public string? Nginx { get; set; }
    public List<string> Modules { get; set; } = new();
    public List<string> LuaPaths { get; } = new();
    public int Port { get; set; } = 1994;

    /// <summary>null: plain files in both modes, APISIX files in default mode only.</summary>
    public bool? Hup { get; set; }
    public string? RealCache { get; set; }
    /// <summary>--real-cache-only: take the real side from the cache only; a file not cached there is not run on it.</summary>
    public bool RealCacheOnly { get; set; }
    public double Timeout { get; set; } = 900;
    public bool Keep { get; set; }
    public int Width { get; set; } = 60;
    public CompareOptions Compare { get; set; } = new();
}

/// <summary>One file compared in one mode (default, or HUP: nginx reloaded between blocks).</summary>
public sealed class FileDiff
{
    public string File { get; init; } = "";
    public string Mode { get; init; } = "default";
    public string RealKind { get; init; } = "nginx";
    public List<BlockDiff> Blocks { get; } = new();
    public double RealWall { get; set; }
    public double OursWall { get; set; }
    public bool RealFromCache { get; set; }

    /// <summary>File-level notes: a bail-out, a timeout, a file error, TAP lines no block claimed.</summary>
    public List<string> Notes { get; } = new();
    public string PlanReal { get; set; } = "ok";
    public string PlanOurs { get; set; } = "ok";
    public bool PlanAgrees => PlanReal == PlanOurs;

    public int RequestsCompared => Blocks.Sum(b => b.Requests.Count);
    public int Count(Func<RequestDiff, bool> f) => Blocks.Sum(b => b.Requests.Count(f));
}

/// <summary>The blocks of a .t file as Test::Base reads them: names in order, and which run (--- ONLY, --- SKIP, --- LAST).</summary>
public static partial class FileBlocks
{
    public sealed record Entry(int Index, string Name, bool Selected);

    public static List<Entry> Read(string path)
    {
        var text = System.Text.Encoding.Latin1.GetString(System.IO.File.ReadAllBytes(path));
        var lines = text.Split('\n');
        var start = Array.FindIndex(lines, l => l.Trim() is "__DATA__" or "__END__") + 1;
        var names = new List<(string Name, HashSet<string> Flags)>();
        foreach (var raw in lines.Skip(start))
        {
            var line = raw.TrimEnd('\r');
            if (BlockLine().Match(line) is { Success: true } m) { names.Add((m.Groups[1].Value, new HashSet<string>())); continue; }
            if (FlagLine().Match(line) is { Success: true } f && names.Count > 0) names[^1].Flags.Add(f.Groups[1].Value);
        }
        // Test::Base: the first ONLY block alone; SKIP blocks dropped; nothing after LAST
        var chosen = new HashSet<int>();
        var only = names.FindIndex(n => n.Flags.Contains("ONLY"));
        if (only >= 0) chosen.Add(only);
        else
            for (var i = 0; i < names.Count; i++)
            {
                if (names[i].Flags.Contains("SKIP")) continue;
                chosen.Add(i);
                if (names[i].Flags.Contains("LAST")) break;
            }
        return names.Select((n, i) => new Entry(i + 1, ByteStrings.ToText(n.Name), chosen.Contains(i))).ToList();
    }

    [GeneratedRegex(@"^===\s+(.*?)\s*$")]
    private static partial Regex BlockLine();

    [GeneratedRegex(@"^---\s+(ONLY|SKIP|LAST)\s*$")]
    private static partial Regex FlagLine();
}

/// <summary>Builds a <see cref="FileDiff"/> from both sides' results: rows, verdicts, and the comparison of each block.</summary>
public static partial class FileComparer
{
    public static FileDiff Compare(string file, string mode, string realKind, IReadOnlyList<FileBlocks.Entry> entries,
        TapOutput tap, List<CapturedBlock> realCaptures, FileOutcome ours, CompareOptions options)
    {
        var diff = new FileDiff { File = file, Mode = mode, RealKind = realKind };
        if (tap.BailOut != null) diff.Notes.Add("real: " + tap.BailOut);
        if (ours.Error != null) diff.Notes.Add("ours: file error: " + Clip(ByteStrings.ToText(ours.Error), 2000));
        diff.PlanReal = tap.Plan;
        diff.PlanOurs = PlanOf(ours.Error);

        // our outcomes with their repetition number (repeat_each runs a block several times in a row)
        var oursBy = new Dictionary<(string, int, int), BlockOutcome>();
        var occurrence = new Dictionary<(string, int), int>();
        BlockOutcome? previous = null;
        var rep = 0;
        var seen = new Dictionary<string, int>();
        foreach (var b in ours.Blocks)
        {
            rep = previous != null && previous.Index == b.Index && previous.Name == b.Name ? rep + 1 : 0;
            var name = ByteStrings.ToText(b.Name);
            var occ = rep == 0 ? (seen[name] = seen.GetValueOrDefault(name) + 1) - 1 : seen[name] - 1;
            oursBy[(name, rep, occ)] = b;
            previous = b;
        }
        var realBy = new Dictionary<(string, int, int), CapturedBlock>();
        var realSeen = new Dictionary<(string, int), int>();
        foreach (var c in SplitMustDie(realCaptures, tap))
        {
            var name = ByteStrings.ToText(c.Name);
            var occ = realSeen.GetValueOrDefault((name, c.Repeat));
            realSeen[(name, c.Repeat)] = occ + 1;
            realBy[(name, c.Repeat, occ)] = c;
        }

        // TAP tests by number; those in a captured block's range are that block's
        var claimed = new HashSet<int>();
        var nameOcc = new Dictionary<string, int>();
        var keys = new List<(FileBlocks.Entry Entry, string Name, int Occ)>();
        foreach (var e in entries)
        {
            var occ = nameOcc.GetValueOrDefault(e.Name);
            nameOcc[e.Name] = occ + 1;
            keys.Add((e, e.Name, occ));
        }
        // names present on a side but not in the file as read (changed under us): rows of their own
        foreach (var k in oursBy.Keys.Concat(realBy.Keys).Where(k => k.Item2 == 0).Distinct().ToList())
            if (!keys.Any(x => x.Name == k.Item1 && x.Occ == k.Item3))
                keys.Add((new FileBlocks.Entry(entries.Count + keys.Count + 1, k.Item1, true), k.Item1, k.Item3));

        foreach (var (entry, name, occ) in keys)
        {
            var repeats = Math.Max(1, Math.Max(oursBy.Keys.Count(k => k.Item1 == name && k.Item3 == occ),
                realBy.Keys.Count(k => k.Item1 == name && k.Item3 == occ)));
            for (var r = 0; r < repeats; r++)
            {
                realBy.TryGetValue((name, r, occ), out var real);
                oursBy.TryGetValue((name, r, occ), out var ourOutcome);
                var row = new BlockDiff { Index = entry.Index, Name = name + (repeats > 1 ? $" (repeat {r})" : ""), Repeat = r };
                if (entry.Index > entries.Count) row.Note = "not in the file as read";

                // the real verdict: its TAP tests, by the captured range, else by name
                List<TapTest> tests;
                if (real?.Tests is { } range)
                    tests = tap.Tests.Where(t => t.Number >= range.First && t.Number <= range.Last).ToList();
                else tests = [];
                foreach (var t in tests) claimed.Add(t.Number);
                var v = Verdict.Of(tests);
                row.Real = tap.SkipAll != null ? "skip" : v.Value;
                row.RealDetail = tap.SkipAll ?? v.Detail;
                row.RealSeconds = real?.Seconds;

                if (ourOutcome != null)
                {
                    row.Ours = ourOutcome.Status;
                    row.OursDetail = ourOutcome.Message == null ? null : ByteStrings.ToText(ourOutcome.Message);
                    row.OursSeconds = ourOutcome.Elapsed.TotalSeconds;
                }
                if (!entry.Selected)
                {
                    if (row.Real == "?") row.Real = "-";
                    if (row.Ours == "?") row.Ours = "-";
                }
                // a block skipped on either side has nothing to compare but its verdict
                if (row.Real != "skip" && row.Ours != "skip")
                    BlockComparer.Compare(row, real, ourOutcome == null ? null : CapturedBlock.FromOutcome(ourOutcome, r), options);
                diff.Blocks.Add(row);
            }
        }

        // TAP tests outside every captured range (a block that died before its record was written,
        // a run without captures): by the block name they print
        // (a must_die block's runs print no record: their tests name the repetition, "(req N)"; a
        // test that names none, "die as expected", goes with the next one of its block that does)
        var loose = new Dictionary<BlockDiff, List<TapTest>>();
        var looseTests = tap.Tests.Where(t => !claimed.Contains(t.Number)).ToList();
        int? RepeatNamed(TapTest t) => ReqSuffix().Match(t.Text) is { Success: true } m ? int.Parse(m.Groups[1].Value) : null;
        for (var ti = 0; ti < looseTests.Count; ti++)
        {
            var t = looseTests[ti];
            var text = FilePrefix().Replace(t.Text, "");
            var first = diff.Blocks.Where(b => b.Repeat == 0 && (text == BaseName(b.Name) || text.StartsWith(BaseName(b.Name) + " ", StringComparison.Ordinal)))
                .OrderByDescending(b => b.Name.Length).FirstOrDefault();
            var named = RepeatNamed(t);
            if (named == null && first != null)
                for (var tj = ti + 1; tj < looseTests.Count && named == null; tj++)
                {
                    var next = FilePrefix().Replace(looseTests[tj].Text, "");
                    if (!next.StartsWith(BaseName(first.Name) + " ", StringComparison.Ordinal)) break;
                    named = RepeatNamed(looseTests[tj]);
                }
            // none after it either (a shutdown_error_log check, printed when the block's last
            // repetition is over): the last repetition, when the earlier ones have their record
            if (named == null && first != null && first.Real is not ("?" or "-"))
                named = diff.Blocks.Where(b => b.Index == first.Index).Max(b => b.Repeat);
            var row = first == null || named is null or 0 ? first
                : diff.Blocks.FirstOrDefault(b => b.Index == first.Index && b.Repeat == named) ?? first;
            if (row == null)
            {
                diff.Notes.Add($"real: TAP line not matched to a block: {(t.Ok ? "ok" : "not ok")} {t.Number} - {t.Text}");
                continue;
            }
            if (!loose.TryGetValue(row, out var list)) loose[row] = list = new List<TapTest>();
            list.Add(t);
        }
        foreach (var (row, list) in loose)
        {
            var v = Verdict.Of(list);
            if (row.Real is "?" or "-") (row.Real, row.RealDetail) = (v.Value, v.Detail);
            else if (v.Value == "fail")
            {
                row.Real = "fail";
                row.RealDetail = (row.RealDetail == null ? "" : row.RealDetail + "\n") + v.Detail;
            }
        }
        return diff;
    }

    /// <summary>
    /// A `--- must_die` block repeats inside one run_test call (Test::Nginx's RUN_AGAIN), so the
    /// capture writes one record for all its repetitions. Each repetition's tests begin with the one
    /// that says how starting nginx went ("die as expected", "die with the expected exit code", or
    /// the failures that replace it); its error log checks follow, naming the repetition ("(req N)"),
    /// and the block's shutdown log checks come after the last. Such a record is split at those
    /// first tests into one per repetition (its log checks shared out in order).
    /// </summary>
    private static IEnumerable<CapturedBlock> SplitMustDie(IEnumerable<CapturedBlock> captures, TapOutput tap)
    {
        foreach (var c in captures)
        {
            if (c.Repeat != 0 || c.Tests is not { } range) { yield return c; continue; }
            var starts = tap.Tests.Where(t => t.Number >= range.First && t.Number <= range.Last && MustDieStart().IsMatch(t.Text))
                .Select(t => t.Number).ToList();
            if (starts.Count < 2) { yield return c; continue; }
            for (var i = 0; i < starts.Count; i++)
            {
                var last = i + 1 < starts.Count ? starts[i + 1] - 1 : range.Last;
                yield return new CapturedBlock
                {
                    Name = c.Name,
                    Repeat = i,
                    Tests = (i == 0 ? range.First : starts[i], last),
                    Seconds = i == 0 ? c.Seconds : null,
                    Requests = i == 0 ? c.Requests : new(),
                    ErrorLog = c.ErrorLog is { } logs && logs.Count == starts.Count ? [logs[i]] : i == 0 ? c.ErrorLog : null,
                };
            }
        }
    }

    private static string BaseName(string rowName) => RepeatSuffix().Replace(rowName, "");

    private static string PlanOf(string? error)
    {
        var m = error == null ? null : PlanRegex().Match(error);
        return m is { Success: true } ? $"planned {m.Groups[1].Value}, ran {m.Groups[2].Value}" : "ok";
    }

    private static string Clip(string s, int n) => s.Length <= n ? s : s[..n] + "...";

    [GeneratedRegex(@"^\S+\.t\s+")]
    private static partial Regex FilePrefix();

    [GeneratedRegex(@" \(repeat \d+\)$")]
    private static partial Regex RepeatSuffix();

    [GeneratedRegex(@"\((?:repeated )?req (\d+)(?:, req \d+)?\)$")]
    private static partial Regex ReqSuffix();

    // Test::Nginx's first test of each run of a must_die block (Util.pm, RUN_AGAIN)
    [GeneratedRegex(@" - (?:die as expected|die with the expected exit code|failed to execute the nginx command line|nginx core dumped)$")]
    private static partial Regex MustDieStart();

    [GeneratedRegex(@"planned (\d+) tests? but ran (\d+)")]
    private static partial Regex PlanRegex();
}
