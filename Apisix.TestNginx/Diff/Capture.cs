using System.Text.Json;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Diff;

/// <summary>
/// One block's run on one side, as `diff` compares it: from a line of the Perl capture module's
/// JSON-lines file (the real side, tools/perl/TestNginxCapture.pm) or from our runner's
/// <see cref="BlockOutcome"/>. Strings are byte strings (one char per byte).
/// </summary>
public sealed class CapturedBlock
{
    /// <summary>The block's name without the file prefix Test::Nginx adds (<c>TEST 1: name</c>).</summary>
    public string Name { get; init; } = "";

    /// <summary>repeat_each's repetition, from 0.</summary>
    public int Repeat { get; init; }

    /// <summary>The first and last Test::More test numbers the block printed, when known (real side).</summary>
    public (int First, int Last)? Tests { get; init; }

    public double? Seconds { get; init; }

    /// <summary>One entry per response, in order (a pipelined connection gives several).</summary>
    public List<RequestRecord> Requests { get; init; } = new();

    /// <summary>The warn-and-above lines each log check saw; null when unknown.</summary>
    public List<IReadOnlyList<string>>? ErrorLog { get; init; }

    /// <summary>All the log lines the block's checks saw, in order.</summary>
    public IEnumerable<string> AllLogLines => ErrorLog?.SelectMany(s => s) ?? [];

    public static CapturedBlock FromOutcome(BlockOutcome b, int repeat) => new()
    {
        Name = b.Name,
        Repeat = repeat,
        Seconds = b.Elapsed.TotalSeconds,
        Requests = b.Requests,
        ErrorLog = b.ErrorLog,
    };

    /// <summary>
    /// Reads a capture file: one JSON object per line. A line that is not valid JSON (a run killed
    /// while writing) is reported in <paramref name="problems"/> and skipped.
    /// </summary>
    public static List<CapturedBlock> ReadJsonLines(IEnumerable<string> lines, List<string>? problems = null)
    {
        var blocks = new List<CapturedBlock>();
        var n = 0;
        foreach (var line in lines)
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                blocks.Add(FromJson(doc.RootElement));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                problems?.Add($"capture line {n} unreadable: {e.Message}");
            }
        }
        return blocks;
    }

    /// <summary>One capture record (also the shape of a block in our JSON report).</summary>
    public static CapturedBlock FromJson(JsonElement e)
    {
        (int, int)? tests = null;
        if (e.TryGetProperty("tests", out var t) && t.ValueKind == JsonValueKind.Array && t.GetArrayLength() == 2)
            tests = (t[0].GetInt32(), t[1].GetInt32());
        var requests = new List<RequestRecord>();
        if (e.TryGetProperty("requests", out var rs) && rs.ValueKind == JsonValueKind.Array)
        {
            foreach (var r in rs.EnumerateArray())
            {
                var request = Str(r, "request") ?? "";
                if (r.TryGetProperty("responses", out var responses) && responses.ValueKind == JsonValueKind.Array)
                {
                    // the capture module: one connection, what parse_response made of it (several when pipelined)
                    if (responses.GetArrayLength() == 0)
                        requests.Add(new RequestRecord { Request = request, RawHeaders = "", Body = null, Error = NoResponse(Str(r, "raw")) });
                    foreach (var resp in responses.EnumerateArray())
                        requests.Add(new RequestRecord
                        {
                            Request = request,
                            Status = Int(resp, "status"),
                            RawHeaders = Str(resp, "raw_headers") ?? "",
                            Body = Str(resp, "body"),
                            Error = (Str(r, "raw") ?? "").Length == 0 ? "no response" : null,
                        });
                }
                else
                {
                    requests.Add(new RequestRecord
                    {
                        Request = request,
                        Status = Int(r, "status"),
                        RawHeaders = Str(r, "raw_headers") ?? "",
                        Body = Str(r, "body"),
                        Error = Str(r, "error"),
                    });
                }
            }
        }
        List<IReadOnlyList<string>>? log = null;
        if (e.TryGetProperty("error_log", out var l) && l.ValueKind == JsonValueKind.Array)
            log = l.EnumerateArray().Select(slice => (IReadOnlyList<string>)(slice.ValueKind == JsonValueKind.Array
                ? slice.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : [])).ToList();
        var name = Str(e, "block") ?? Str(e, "name") ?? "";
        return new CapturedBlock
        {
            Name = name,
            Repeat = Int(e, "repeat") ?? 0,
            Tests = tests,
            Seconds = Int(e, "elapsed_ms") is { } ms ? ms / 1000.0 : null,
            Requests = requests,
            ErrorLog = log,
        };
    }

    private static string? NoResponse(string? raw) => string.IsNullOrEmpty(raw) ? "no response" : "response not parsed (ignore_response or http09)";

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        !e.TryGetProperty(name, out var v) ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i
        : v.ValueKind == JsonValueKind.String && int.TryParse(v.GetString(), out var j) ? j : null;
}
