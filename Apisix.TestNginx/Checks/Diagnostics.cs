using System.Globalization;
using System.Text;

namespace Apisix.TestNginx.Checks;

/// <summary>Test::More's failure diagnostics (<c>is</c>, <c>like</c>, <c>unlike</c>, <c>fail</c>), as <c>#</c> lines.</summary>
internal static class Diagnostics
{
    public static List<string> FailedTest(string name, string? where)
    {
        var lines = new List<string> { $"#   Failed test '{name}'" };
        if (where != null) lines.Add($"#   at {where}.");
        return lines;
    }

    /// <summary><c>is(got, expected)</c>: aligned got/expected, plus where the strings first differ.</summary>
    public static IEnumerable<string> Is(string? got, string? expected, int max)
    {
        var text = $"{"got",12}: {Quote(got, max)}\n{"expected",12}: {Quote(expected, max)}";
        foreach (var line in Comment(text)) yield return line;
        if (got != null && expected != null && (got.Contains('\n') || expected.Contains('\n') || got.Length > 60 || expected.Length > 60))
            yield return "#   " + FirstDifference(got, expected);
    }

    /// <summary><c>like</c> / <c>unlike</c>: the string, then "doesn't match" or "matches" and the regex.</summary>
    public static IEnumerable<string> Like(string? got, string shownRegex, bool negated, int max)
    {
        var verb = negated ? "matches" : "doesn't match";
        return Comment($"{"",18}{Quote(got, max)}\n    {verb,13} '{Escape(shownRegex, max)}'");
    }

    /// <summary>Prefixes every line with "# ", as Test::More's diag does.</summary>
    public static IEnumerable<string> Comment(string text) => text.Split('\n').Select(l => "# " + l);

    public static string Quote(string? s, int max) => s == null ? "undef" : $"'{Escape(s, max)}'";

    /// <summary>
    /// Keeps newlines and tabs (so multi-line bodies stay diffable), shows CR as \r and other control
    /// bytes as \x{hh}, and cuts very long strings.
    /// </summary>
    public static string Escape(string s, int max)
    {
        var sb = new StringBuilder(Math.Min(s.Length, max) + 16);
        var n = Math.Min(s.Length, max);
        for (var i = 0; i < n; i++)
        {
            var c = s[i];
            if (c == '\r') sb.Append(@"\r");
            else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                sb.Append(@"\x{").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)).Append('}');
            else sb.Append(c);
        }
        if (s.Length > max) sb.Append($"... ({s.Length - max} more bytes)");
        return sb.ToString();
    }

    /// <summary>Test::Nginx's fmt_str: chomp, then escape double quotes, CR and LF.</summary>
    public static string FmtStr(string s)
    {
        if (s.EndsWith('\n')) s = s[..^1];
        return s.Replace("\"", "\\\"").Replace("\r", @"\r").Replace("\n", @"\n");
    }

    private static string FirstDifference(string got, string expected)
    {
        var i = 0;
        while (i < got.Length && i < expected.Length && got[i] == expected[i]) i++;
        var line = 1 + got.AsSpan(0, i).Count('\n');
        var lineStart = i == 0 ? 0 : got.LastIndexOf('\n', i - 1) + 1;
        var column = i - lineStart + 1;
        var what = i >= got.Length ? "got ends there" : i >= expected.Length ? "expected ends there" : "bytes differ";
        return $"first difference at byte {i} (line {line}, column {column}): {what}; got {got.Length} bytes, expected {expected.Length}";
    }
}
