namespace Apisix.TestNginx.Diff;

/// <summary>One row of a side-by-side diff: both sides equal, only on one side, or changed (both, different).</summary>
public sealed record DiffRow(char Kind, string? Real, string? Ours)
{
    public const char Same = '=', RealOnly = '-', OursOnly = '+', Changed = '~';
}

/// <summary>A line diff (longest common subsequence), as rows for a side-by-side view and as unified text.</summary>
public static class LineDiff
{
    /// <summary>Above this many lines on a side the middle is not aligned line by line (cost is quadratic).</summary>
    public const int MaxLines = 3000;

    public static List<DiffRow> Rows(IReadOnlyList<string> real, IReadOnlyList<string> ours)
    {
        // common head and tail first: bodies that differ in one place stay cheap
        int head = 0;
        while (head < real.Count && head < ours.Count && real[head] == ours[head]) head++;
        int tail = 0;
        while (tail < real.Count - head && tail < ours.Count - head && real[real.Count - 1 - tail] == ours[ours.Count - 1 - tail]) tail++;
        var rows = new List<DiffRow>();
        for (var i = 0; i < head; i++) rows.Add(new DiffRow(DiffRow.Same, real[i], ours[i]));
        var a = real.Skip(head).Take(real.Count - head - tail).ToList();
        var b = ours.Skip(head).Take(ours.Count - head - tail).ToList();
        rows.AddRange(a.Count > MaxLines || b.Count > MaxLines ? Unaligned(a, b) : Aligned(a, b));
        for (var i = real.Count - tail; i < real.Count; i++) rows.Add(new DiffRow(DiffRow.Same, real[i], ours[i - real.Count + ours.Count]));
        return rows;
    }

    private static IEnumerable<DiffRow> Unaligned(List<string> a, List<string> b)
    {
        for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            var x = i < a.Count ? a[i] : null;
            var y = i < b.Count ? b[i] : null;
            yield return new DiffRow(x == y ? DiffRow.Same : x == null ? DiffRow.OursOnly : y == null ? DiffRow.RealOnly : DiffRow.Changed, x, y);
        }
    }

    private static List<DiffRow> Aligned(List<string> a, List<string> b)
    {
        var lcs = new int[a.Count + 1, b.Count + 1];
        for (var i = a.Count - 1; i >= 0; i--)
            for (var j = b.Count - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        var rows = new List<DiffRow>();
        var dels = new List<string>();
        var adds = new List<string>();
        void FlushRun()
        {
            // a run of removed and added lines: pair them as changed lines, side by side
            for (var k = 0; k < Math.Max(dels.Count, adds.Count); k++)
            {
                var x = k < dels.Count ? dels[k] : null;
                var y = k < adds.Count ? adds[k] : null;
                rows.Add(new DiffRow(x == null ? DiffRow.OursOnly : y == null ? DiffRow.RealOnly : DiffRow.Changed, x, y));
            }
            dels.Clear();
            adds.Clear();
        }
        int p = 0, q = 0;
        while (p < a.Count || q < b.Count)
        {
            if (p < a.Count && q < b.Count && a[p] == b[q])
            {
                FlushRun();
                rows.Add(new DiffRow(DiffRow.Same, a[p], b[q]));
                p++;
                q++;
            }
            else if (q >= b.Count || (p < a.Count && lcs[p + 1, q] >= lcs[p, q + 1])) dels.Add(a[p++]);
            else adds.Add(b[q++]);
        }
        FlushRun();
        return rows;
    }

    /// <summary>The rows as unified-diff text (<c>-</c> real, <c>+</c> ours), with <paramref name="context"/> equal lines around changes.</summary>
    public static string Unified(IReadOnlyList<DiffRow> rows, int context = 2, int maxLines = 40)
    {
        var show = new bool[rows.Count];
        for (var i = 0; i < rows.Count; i++)
            if (rows[i].Kind != DiffRow.Same)
                for (var k = Math.Max(0, i - context); k <= Math.Min(rows.Count - 1, i + context); k++) show[k] = true;
        var lines = new List<string>();
        var gap = false;
        for (var i = 0; i < rows.Count; i++)
        {
            if (!show[i]) { gap = true; continue; }
            if (gap && lines.Count > 0) lines.Add("  ...");
            gap = false;
            var r = rows[i];
            switch (r.Kind)
            {
                case DiffRow.Same: lines.Add("  " + r.Real); break;
                case DiffRow.RealOnly: lines.Add("- " + r.Real); break;
                case DiffRow.OursOnly: lines.Add("+ " + r.Ours); break;
                default: lines.Add("- " + r.Real); lines.Add("+ " + r.Ours); break;
            }
        }
        if (lines.Count > maxLines) lines = [.. lines.Take(maxLines), $"  ... ({lines.Count - maxLines} more diff lines)"];
        return string.Join("\n", lines);
    }
}
