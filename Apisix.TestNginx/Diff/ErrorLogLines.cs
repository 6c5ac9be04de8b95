using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Diff;

/// <summary>
/// Error-log lines as `diff` compares them: only lines at <c>warn</c> and above (nginx's
/// <c>[warn]</c>, <c>[error]</c>, <c>[crit]</c>, <c>[alert]</c>, <c>[emerg]</c> and ngx.STDERR's <c>[]</c>,
/// plus the lines that continue such a message, e.g. a Lua traceback), each with what varies from run
/// to run by nature replaced:
/// <list type="bullet">
/// <item>the timestamp (<c>2026/01/02 03:04:05 </c>) is dropped;</item>
/// <item>the pid and thread id (<c>123#123:</c>) become <c>#:</c>;</item>
/// <item>connection numbers (<c>*42 </c>) become <c>*N </c>;</item>
/// <item>hex addresses (<c>0x55d4c0a8</c>, as in <c>table: 0x...</c>) become <c>0xADDR</c>;</item>
/// <item>client ports (<c>127.0.0.1:53422</c> after <c>client: </c> or in <c>accept: </c>) become <c>127.0.0.1:PORT</c>;</item>
/// <item>each side's server root (Test::Nginx's <c>TEST_NGINX_SERVROOT</c>) becomes <c>$SERVROOT</c>.</item>
/// </list>
/// The Perl capture module keeps the same lines with <see cref="AtLeastWarn"/>'s rule.
/// </summary>
public static partial class ErrorLogLines
{
    private static readonly HashSet<string> Kept = new(StringComparer.Ordinal) { "warn", "error", "crit", "alert", "emerg", "" };

    /// <summary>The lines at warn and above, and the unprefixed lines that continue them.</summary>
    public static List<string> AtLeastWarn(IEnumerable<string> lines)
    {
        var kept = new List<string>();
        var keeping = false;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\n');
            var m = Prefix().Match(line);
            if (m.Success) keeping = Kept.Contains(m.Groups[1].Value);
            if (keeping) kept.Add(line);
        }
        return kept;
    }

    /// <summary>
    /// The lines at warn and above as messages: a line with nginx's prefix and the unprefixed lines
    /// that continue it (a Lua traceback), joined with "\n", so a sorted list keeps them together.
    /// </summary>
    public static List<string> Messages(IEnumerable<string> lines)
    {
        var messages = new List<string>();
        foreach (var line in AtLeastWarn(lines))
        {
            if (Prefix().IsMatch(line) || messages.Count == 0) messages.Add(line);
            else messages[^1] += "\n" + line;
        }
        return messages;
    }

    /// <summary>One line with its run-to-run parts replaced (see the class summary).</summary>
    public static string Normalize(string line, string? servroot = null)
    {
        line = line.TrimEnd('\n', '\r');
        if (!string.IsNullOrEmpty(servroot)) line = line.Replace(servroot.TrimEnd('/'), "$SERVROOT", StringComparison.Ordinal);
        line = Timestamp().Replace(line, "");
        line = PidTid().Replace(line, "$1#:");
        line = Connection().Replace(line, "*N ");
        line = HexAddress().Replace(line, "0xADDR");
        line = ClientPort().Replace(line, "$1:PORT");
        return line;
    }

    [GeneratedRegex(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w*)\]")]
    private static partial Regex Prefix();

    [GeneratedRegex(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"^(\[\w*\]) \d+#\d+:")]
    private static partial Regex PidTid();

    [GeneratedRegex(@"(?<=: )\*\d+ ")]
    private static partial Regex Connection();

    [GeneratedRegex(@"\b0x[0-9a-fA-F]{4,}\b")]
    private static partial Regex HexAddress();

    [GeneratedRegex(@"((?:client: |accept: )(?:\d{1,3}\.){3}\d{1,3}):\d+")]
    private static partial Regex ClientPort();
}
