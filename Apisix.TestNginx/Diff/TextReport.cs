using System.Globalization;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Diff;

/// <summary>Counts over files (or one file): blocks, verdict agreement, pass shares, requests and what differs.</summary>
public sealed record DiffTotals(int Blocks, int VerdictsAgree, int RealPass, int RealPassOursPass, int OursPassOnly,
    int Requests, int RequestsDiffer, int Status, int Headers, int Body, int Missing, int LogBlocks, double RealWall, double OursWall)
{
    public int VerdictsDisagree => Blocks - VerdictsAgree;

    public static DiffTotals Of(IEnumerable<FileDiff> files)
    {
        var list = files.ToList();
        var blocks = list.SelectMany(f => f.Blocks).ToList();
        var plansDisagree = list.Count(f => !f.PlanAgrees);
        var realPass = blocks.Where(b => b.Real == "pass").ToList();
        return new DiffTotals(
            blocks.Count + plansDisagree,
            blocks.Count(b => b.VerdictAgrees || (b.Real == "-" && b.Ours == "-")),
            realPass.Count, realPass.Count(b => b.Ours == "pass"),
            blocks.Count(b => b.Ours == "pass" && b.Real is "fail" or "?"),
            list.Sum(f => f.RequestsCompared), list.Sum(f => f.Count(r => r.Differs)),
            list.Sum(f => f.Count(r => r.StatusDiffers)), list.Sum(f => f.Count(r => r.Headers.Count > 0)),
            list.Sum(f => f.Count(r => r.BodyDiffers)), list.Sum(f => f.Count(r => r.Missing)),
            blocks.Count(b => b.Log != null), list.Sum(f => f.RealWall), list.Sum(f => f.OursWall));
    }

    public string ShareText()
    {
        var pct = RealPass == 0 ? 100.0 : 100.0 * RealPassOursPass / RealPass;
        return string.Create(CultureInfo.InvariantCulture,
            $"of {RealPass} passing on real, {RealPassOursPass} pass on ours ({pct:0.0}%); {OursPassOnly} pass on ours only");
    }

    public string Line(string label) => string.Create(CultureInfo.InvariantCulture,
        $"{label}: {Blocks} blocks, {VerdictsAgree} verdicts agree, {VerdictsDisagree} disagree; {ShareText()}; "
        + $"{Requests} requests compared, {RequestsDiffer} differ (status {Status}, headers {Headers}, body {Body}, only on one side {Missing}); "
        + $"{LogBlocks} blocks with log differences; real {RealWall:0.00} s, ours {OursWall:0.00} s");
}

/// <summary>
/// The terminal report: per file and mode a table (block, both verdicts, whether they agree, the
/// fields that differ, each side's time), then what differs, then one summary line per file and overall.
/// </summary>
public static class TextReport
{
    public static void WriteFile(TextWriter o, FileDiff f, int width, bool details = true)
    {
        var rows = f.Blocks;
        var namew = Math.Min(width, Math.Max(5, rows.Select(r => r.Name.Length).DefaultIfEmpty(5).Max()));
        string Row(string name, string real, string ours, string agree, string fields, string rs, string os) =>
            $"{Pad(name, namew)}  {real,-5} {ours,-5} {agree,-6} {fields,-24} {rs,8} {os,8}";
        var head = Row("block", "real", "ours", "agree", "differs", "real s", "ours s");
        o.WriteLine();
        o.WriteLine($"== {f.File} ({f.Mode} mode; real: {f.RealKind}{(f.RealFromCache ? ", from the cache" : "")})");
        o.WriteLine(head);
        o.WriteLine(new string('-', head.Length));
        foreach (var r in rows)
            o.WriteLine(Row(Clip(r.Name + (r.Note != null ? $" ({r.Note})" : ""), namew), r.Real, r.Ours,
                r.VerdictAgrees || (r.Real == "-" && r.Ours == "-") ? "yes" : "NO",
                r.Fields.Count == 0 ? "-" : string.Join(" ", r.Fields), T(r.RealSeconds), T(r.OursSeconds)));
        o.WriteLine(new string('-', head.Length));
        o.WriteLine(Row("total (wall)", "", "", "", "", T(f.RealWall), T(f.OursWall)));
        if (!f.PlanAgrees) o.WriteLine($"plan: real {f.PlanReal}, ours {f.PlanOurs}: disagree");
        if (!details) return;
        var notes = new List<string>(f.Notes.Take(10));
        foreach (var r in rows.Where(r => !r.Agrees && !(r.Real == "-" && r.Ours == "-")))
        {
            notes.Add($"{r.Name}:");
            if (!r.VerdictAgrees)
            {
                notes.Add($"    verdicts: real {r.Real}, ours {r.Ours}");
                if (r.RealDetail != null) notes.AddRange(Indent("real: ", r.RealDetail, 12));
                if (r.OursDetail != null) notes.AddRange(Indent("ours: ", r.OursDetail, 12));
            }
            foreach (var q in r.Requests.Where(q => q.Differs))
                notes.AddRange(RequestLines(q).Select(l => "    " + l));
            if (r.Log != null)
            {
                notes.Add("    error log (warn and above, normalised; - real, + ours):");
                foreach (var x in r.Log.Where(x => x.Kind != DiffRow.Same).Take(8))
                {
                    if (x.Real != null && x.Kind != DiffRow.OursOnly) notes.Add("      - " + x.Real.Replace("\n", "\n        "));
                    if (x.Ours != null && x.Kind != DiffRow.RealOnly) notes.Add("      + " + x.Ours.Replace("\n", "\n        "));
                }
            }
        }
        if (notes.Count == 0) return;
        o.WriteLine();
        foreach (var n in notes) o.WriteLine(n);
    }

    /// <summary>One request's differences, a few lines.</summary>
    public static IEnumerable<string> RequestLines(RequestDiff q)
    {
        var label = $"req {q.Index + 1} ({FirstLine(q.Real?.Request ?? q.Ours?.Request)})";
        if (q.Real == null) { yield return $"{label}: only on ours"; yield break; }
        if (q.Ours == null) { yield return $"{label}: only on real"; yield break; }
        yield return label + ":";
        if (q.StatusDiffers) yield return $"  status: real {q.Real.Status?.ToString() ?? "none"}, ours {q.Ours.Status?.ToString() ?? "none"}";
        foreach (var h in q.Headers)
            yield return $"  header {h.Name}: real {Show(h.Real)}, ours {Show(h.Ours)}";
        if (q.BodyDiffers && q.Body != null)
        {
            yield return $"  body{(q.BodyIsJson ? " (JSON)" : "")}, - real + ours:";
            foreach (var l in LineDiff.Unified(q.Body, 1, 12).Split('\n')) yield return "    " + l;
        }
    }

    public static void WriteSummary(TextWriter o, IReadOnlyList<FileDiff> files)
    {
        o.WriteLine();
        foreach (var f in files) o.WriteLine(DiffTotals.Of([f]).Line($"{f.File} [{f.Mode}]"));
        if (files.Count > 1) o.WriteLine(DiffTotals.Of(files).Line("overall"));
    }

    private static IEnumerable<string> Indent(string label, string text, int max)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < Math.Min(max, lines.Length); i++) yield return "    " + (i == 0 ? label : "      ") + lines[i];
        if (lines.Length > max) yield return $"          ... ({lines.Length - max} more lines)";
    }

    private static string FirstLine(string? s) => s == null ? "" : ByteStrings.ToText(s).Split('\n')[0].TrimEnd('\r');

    private static string Show(string? v) => v == null ? "(absent)" : "\"" + ByteStrings.ToText(v) + "\"";

    private static string T(double? s) => s == null ? "-" : s.Value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Pad(string s, int n) => s.Length >= n ? s : s + new string(' ', n - s.Length);

    private static string Clip(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
