using System.Text;
using Apisix.TestNginx.Checks;

namespace Apisix.TestNginx.Reporting;

/// <summary>How one block went. <see cref="Name"/> is a byte string (as parsed from the .t file).</summary>
public sealed class BlockOutcome
{
    public const string Pass = "pass";
    public const string Fail = "fail";
    public const string Skip = "skip";

    public int Index { get; set; }
    public string Name { get; set; } = "";

    /// <summary><see cref="Pass"/>, <see cref="Fail"/> or <see cref="Skip"/>.</summary>
    public string Status { get; set; } = Pass;

    /// <summary>Failure messages (Test::More style), or the reason for a skip; null for a pass.</summary>
    public string? Message { get; set; }

    public List<string> Warnings { get; set; } = new();

    /// <summary>How many Test::More assertions the block ran (what a `plan tests => N` counts).</summary>
    public int Subtests { get; set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>Of <see cref="Elapsed"/>, the time the block's own sleeps took (`ngx.sleep` on requests, `--- wait`).</summary>
    public TimeSpan Slept { get; set; }

    /// <summary>What each request sent and got back, in order (empty when the block sent none).</summary>
    public List<RequestRecord> Requests { get; set; } = new();

    /// <summary>
    /// The error-log lines at warn and above that each log check saw (one entry per check: after
    /// each request, as Test::Nginx checks), for `diff`; null when the block never reached its checks.
    /// </summary>
    public List<IReadOnlyList<string>>? ErrorLog { get; set; }

    /// <summary>The outcome of a checked block: pass or fail with the checker's messages and warnings.</summary>
    public static BlockOutcome From(int index, string name, BlockCheckResult check, TimeSpan elapsed) => new()
    {
        Index = index,
        Name = name,
        Status = check.Ok ? Pass : Fail,
        Message = check.Message,
        Warnings = [.. check.Warnings],
        Subtests = check.Passed.Count + check.Failures.Count,
        Elapsed = elapsed,
    };
}

/// <summary>
/// One request of a block and its response, as `diff` compares them; every string is a byte string
/// (one char per byte), the shape the Perl capture module writes for the real side.
/// </summary>
public sealed class RequestRecord
{
    /// <summary>The request bytes as sent.</summary>
    public string Request { get; set; } = "";

    /// <summary>The status code, or null when no status line was received.</summary>
    public int? Status { get; set; }

    /// <summary>The status line and header lines as received, up to the CRLF before the empty line.</summary>
    public string RawHeaders { get; set; } = "";

    /// <summary>The body as the checks saw it (chunked-decoded, cut at Content-Length); null when unparsable.</summary>
    public string? Body { get; set; }

    /// <summary>A transport error (the client timed out, the connection failed), or null.</summary>
    public string? Error { get; set; }
}

/// <summary>How one .t file went; <see cref="Error"/> is set when the file could not be loaded or run to the end.</summary>
public sealed class FileOutcome
{
    public string File { get; set; } = "";
    public List<BlockOutcome> Blocks { get; set; } = new();
    public string? Error { get; set; }
}

/// <summary>Pass/fail/skip counts over a run. A file error counts as one failure.</summary>
public readonly record struct RunTotals(int Passed, int Failed, int Skipped)
{
    public static RunTotals Of(IEnumerable<FileOutcome> files)
    {
        int passed = 0, failed = 0, skipped = 0;
        foreach (var file in files)
        {
            if (file.Error != null) failed++;
            foreach (var b in file.Blocks)
            {
                switch (b.Status)
                {
                    case BlockOutcome.Pass: passed++; break;
                    case BlockOutcome.Skip: skipped++; break;
                    default: failed++; break;
                }
            }
        }
        return new RunTotals(passed, failed, skipped);
    }

    /// <summary>Exactly <c>N passed, N failed, N skipped</c>.</summary>
    public override string ToString() => $"{Passed} passed, {Failed} failed, {Skipped} skipped";
}

/// <summary>Turns byte strings (one char per byte) back into text.</summary>
public static class ByteStrings
{
    /// <summary>
    /// Reads the bytes of a byte string as UTF-8 (invalid sequences become U+FFFD). A string holding
    /// chars above U+00FF is not a byte string and is returned unchanged.
    /// </summary>
    public static string ToText(string? s)
    {
        if (string.IsNullOrEmpty(s)) return s ?? "";
        foreach (var c in s)
            if (c > 0xFF) return s;
        return Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(s));
    }
}
