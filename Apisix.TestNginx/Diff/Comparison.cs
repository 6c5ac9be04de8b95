using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Diff;

/// <summary>What is compared and what is left out, for both sides alike.</summary>
public sealed class CompareOptions
{
    /// <summary>
    /// Response headers that differ between any two runs or servers by nature, never compared:
    /// the clock (<c>Date</c>, <c>Expires</c>, <c>Age</c>, <c>Last-Modified</c>, <c>ETag</c> of a file
    /// written for the run), the server's name and version (<c>Server</c>), and per-request ids
    /// (<c>X-Request-Id</c>, <c>traceparent</c>).
    /// </summary>
    public static readonly string[] DefaultIgnoredHeaders =
        ["Date", "Server", "Expires", "Age", "Last-Modified", "ETag", "X-Request-Id", "traceparent"];

    public HashSet<string> IgnoredHeaders { get; } = new(DefaultIgnoredHeaders, StringComparer.OrdinalIgnoreCase);

    /// <summary>Each side's server root, replaced by <c>$SERVROOT</c> in log lines.</summary>
    public string? RealServroot { get; init; }

    public string? OursServroot { get; init; }

    /// <summary>
    /// Whether log lines keep the position in an APISIX Lua module that ngx.log prefixes
    /// (<c>[lua] plugin.lua:1338: run_plugin(): </c>); off by default, as the port's C# logs the
    /// same messages without one (see <see cref="ErrorLogLines.Normalize"/>).
    /// </summary>
    public bool LuaPositions { get; set; }
}

/// <summary>One header name's values on both sides (several when the header repeats); null when absent.</summary>
public sealed record HeaderDiff(string Name, string? Real, string? Ours);

/// <summary>One response compared: request N of a block (pipelined responses count one each).</summary>
public sealed class RequestDiff
{
    public int Index { get; init; }
    public RequestRecord? Real { get; init; }
    public RequestRecord? Ours { get; init; }
    public bool StatusDiffers { get; set; }
    public List<HeaderDiff> Headers { get; } = new();
    public bool BodyDiffers { get; set; }
    public bool BodyIsJson { get; set; }

    /// <summary>The bodies side by side (JSON bodies pretty-printed with sorted keys); null when equal.</summary>
    public List<DiffRow>? Body { get; set; }

    /// <summary>The request is only on one side.</summary>
    public bool Missing => Real == null || Ours == null;

    public bool Differs => Missing || StatusDiffers || Headers.Count > 0 || BodyDiffers;
}

/// <summary>One block (one repetition of it) on both sides.</summary>
public sealed class BlockDiff
{
    public int Index { get; init; }
    public string Name { get; init; } = "";
    public int Repeat { get; init; }
    public string Real { get; set; } = "?";
    public string Ours { get; set; } = "?";
    public string? RealDetail { get; set; }
    public string? OursDetail { get; set; }
    public double? RealSeconds { get; set; }
    public double? OursSeconds { get; set; }
    public List<RequestDiff> Requests { get; } = new();

    /// <summary>Normalised warn-and-above log messages of the block (a message with its continuation lines), each side (null when that side has no capture).</summary>
    public List<string>? RealLog { get; set; }
    public List<string>? OursLog { get; set; }
    public List<DiffRow>? Log { get; set; }

    /// <summary>A note on the row (e.g. a block not in the file as read).</summary>
    public string? Note { get; set; }

    public bool VerdictAgrees => Real == Ours && Real != "?";

    /// <summary>The differing fields: status, headers, body, requests (count), log.</summary>
    public List<string> Fields
    {
        get
        {
            var f = new List<string>();
            if (Requests.Any(r => r.Missing)) f.Add("requests");
            if (Requests.Any(r => r.StatusDiffers)) f.Add("status");
            if (Requests.Any(r => r.Headers.Count > 0)) f.Add("headers");
            if (Requests.Any(r => r.BodyDiffers)) f.Add("body");
            if (Log != null) f.Add("log");
            return f;
        }
    }

    public bool Agrees => VerdictAgrees && Fields.Count == 0;
}

/// <summary>Compares one block's captures from both sides, response by response.</summary>
public static class BlockComparer
{
    public static void Compare(BlockDiff diff, CapturedBlock? real, CapturedBlock? ours, CompareOptions options)
    {
        var n = Math.Max(real?.Requests.Count ?? 0, ours?.Requests.Count ?? 0);
        // a side that did not run the block (skipped, or nothing captured) has no requests to compare
        if (real != null && ours != null)
            for (var i = 0; i < n; i++)
                diff.Requests.Add(CompareOne(i, i < real.Requests.Count ? real.Requests[i] : null,
                    i < ours.Requests.Count ? ours.Requests[i] : null, options));
        if (real?.ErrorLog != null) diff.RealLog = ErrorLogLines.Messages(real.AllLogLines).Select(l => ErrorLogLines.Normalize(l, options.RealServroot, options.LuaPositions)).ToList();
        if (ours?.ErrorLog != null) diff.OursLog = ErrorLogLines.Messages(ours.AllLogLines).Select(l => ErrorLogLines.Normalize(l, options.OursServroot, options.LuaPositions)).ToList();
        if (diff.RealLog != null && diff.OursLog != null)
        {
            // compared as multisets: a timer may log during one request on one side and the next on the other
            var a = diff.RealLog.Order(StringComparer.Ordinal).ToList();
            var b = diff.OursLog.Order(StringComparer.Ordinal).ToList();
            if (!a.SequenceEqual(b)) diff.Log = LineDiff.Rows(a, b);
        }
    }

    public static RequestDiff CompareOne(int index, RequestRecord? real, RequestRecord? ours, CompareOptions options)
    {
        var d = new RequestDiff { Index = index, Real = real, Ours = ours };
        if (real == null || ours == null) return d;
        d.StatusDiffers = real.Status != ours.Status;
        d.Headers.AddRange(CompareHeaders(real.RawHeaders, ours.RawHeaders, options));
        var (differs, isJson, rows) = CompareBodies(real.Body, ours.Body);
        d.BodyDiffers = differs;
        d.BodyIsJson = isJson;
        d.Body = differs ? rows : null;
        return d;
    }

    /// <summary>Header lines of a raw header block (after the status line): name and value, in order.</summary>
    public static List<(string Name, string Value)> ParseHeaders(string raw)
    {
        var list = new List<(string, string)>();
        var lines = raw.Replace("\r\n", "\n").Split('\n');
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0) continue;
            if ((line[0] == ' ' || line[0] == '\t') && list.Count > 0)
            {
                list[^1] = (list[^1].Item1, list[^1].Item2 + "\n" + line.Trim());
                continue;
            }
            var colon = line.IndexOf(':');
            if (colon <= 0) list.Add((line.Trim(), ""));
            else list.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        return list;
    }

    /// <summary>
    /// Headers compared by name, case-insensitively; a repeated header by its values in order
    /// (joined with ", " for display); the order of different headers is not compared.
    /// </summary>
    public static List<HeaderDiff> CompareHeaders(string realRaw, string oursRaw, CompareOptions options)
    {
        var a = Group(ParseHeaders(realRaw));
        var b = Group(ParseHeaders(oursRaw));
        var diffs = new List<HeaderDiff>();
        var names = a.Keys.Concat(b.Keys.Where(k => !a.ContainsKey(k))).ToList();
        foreach (var key in names)
        {
            if (options.IgnoredHeaders.Contains(key)) continue;
            a.TryGetValue(key, out var x);
            b.TryGetValue(key, out var y);
            if (x != null && y != null && x.Values.SequenceEqual(y.Values)) continue;
            diffs.Add(new HeaderDiff(x?.Name ?? y!.Name, x == null ? null : string.Join(", ", x.Values),
                y == null ? null : string.Join(", ", y.Values)));
        }
        return diffs;
    }

    private sealed record HeaderValues(string Name, List<string> Values);

    private static Dictionary<string, HeaderValues> Group(List<(string Name, string Value)> headers)
    {
        var d = new Dictionary<string, HeaderValues>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            if (!d.TryGetValue(name, out var hv)) d[name] = hv = new HeaderValues(name, new List<string>());
            hv.Values.Add(value);
        }
        return d;
    }

    /// <summary>
    /// Bodies compared as JSON when both parse as JSON (key order and number spelling do not count:
    /// <c>1.0</c> equals <c>1</c>), otherwise byte for byte; the rows are a line diff of the bodies as
    /// shown (JSON pretty-printed with sorted keys, text decoded as UTF-8). UUIDs (a request id an
    /// upstream echoes, ...) and hex addresses (<c>table: 0x...</c>) differ on every run and read as
    /// <c>UUID</c> and <c>0xADDR</c> on both sides, and JSON
    /// objects inside a text body (SSE <c>data:</c> lines) are compared with their keys sorted.
    /// </summary>
    public static (bool Differs, bool IsJson, List<DiffRow> Rows) CompareBodies(string? real, string? ours)
    {
        if (real == ours) return (false, false, []);
        real = real == null ? null : ErrorLogLines.HexAddress().Replace(ErrorLogLines.Uuid().Replace(real, "UUID"), "0xADDR");
        ours = ours == null ? null : ErrorLogLines.HexAddress().Replace(ErrorLogLines.Uuid().Replace(ours, "UUID"), "0xADDR");
        if (real == ours) return (false, false, []);
        var ja = ParseJson(real);
        var jb = ParseJson(ours);
        if (ja.Ok && jb.Ok)
        {
            var ca = Canonical(ja.Node);
            var cb = Canonical(jb.Node);
            if (ca == cb) return (false, true, []);
            return (true, true, LineDiff.Rows(ca.Split('\n'), cb.Split('\n')));
        }
        // JSON objects inside a text body (an SSE stream's `data:` lines): cjson writes a Lua table's
        // keys in hash order, so they are compared with their keys sorted
        if (real != null && ours != null && real.Length < 1 << 20 && ours.Length < 1 << 20)
        {
            var (sa, sb) = (ErrorLogLines.SortJsonObjects(ByteStrings.ToText(real)), ErrorLogLines.SortJsonObjects(ByteStrings.ToText(ours)));
            if (sa == sb) return (false, false, []);
            return (true, false, LineDiff.Rows(sa.Split('\n'), sb.Split('\n')));
        }
        return (true, false, LineDiff.Rows(TextLines(real), TextLines(ours)));
    }

    private static string[] TextLines(string? body) =>
        body == null ? ["(no body: the response could not be parsed)"] : ByteStrings.ToText(body).Split('\n');

    private static (bool Ok, JsonNode? Node) ParseJson(string? body)
    {
        if (body == null) return (false, null);
        var text = ByteStrings.ToText(body).Trim();
        if (text.Length == 0 || (text[0] != '{' && text[0] != '[')) return (false, null);
        try { return (true, JsonNode.Parse(text)); }
        catch (JsonException) { return (false, null); }
    }

    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // the relaxed encoder still writes a quote as \u0022; a reader wants \"
    private static string Quote(string? s) => JsonSerializer.Serialize(s, Readable).Replace("\\u0022", "\\\"");

    /// <summary>Pretty JSON with object keys sorted, and numbers and strings in one spelling.</summary>
    public static string Canonical(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(node, sb, 0);
        return sb.ToString();
    }

    private static void Write(JsonNode? node, StringBuilder sb, int depth)
    {
        var pad = new string(' ', 2 * (depth + 1));
        var end = new string(' ', 2 * depth);
        switch (node)
        {
            case null: sb.Append("null"); break;
            case JsonObject o:
                if (o.Count == 0) { sb.Append("{}"); break; }
                sb.Append("{\n");
                var keys = o.Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
                for (var i = 0; i < keys.Count; i++)
                {
                    sb.Append(pad).Append(Quote(keys[i])).Append(": ");
                    Write(o[keys[i]], sb, depth + 1);
                    sb.Append(i < keys.Count - 1 ? ",\n" : "\n");
                }
                sb.Append(end).Append('}');
                break;
            case JsonArray arr:
                if (arr.Count == 0) { sb.Append("[]"); break; }
                sb.Append("[\n");
                for (var i = 0; i < arr.Count; i++)
                {
                    sb.Append(pad);
                    Write(arr[i], sb, depth + 1);
                    sb.Append(i < arr.Count - 1 ? ",\n" : "\n");
                }
                sb.Append(end).Append(']');
                break;
            case JsonValue v:
                var el = v.GetValue<JsonElement>();
                if (el.ValueKind == JsonValueKind.Number)
                    sb.Append(decimal.TryParse(el.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var dec)
                        ? (dec == Math.Truncate(dec) && Math.Abs(dec) < 1e15m ? ((long)dec).ToString(CultureInfo.InvariantCulture) : dec.ToString("G29", CultureInfo.InvariantCulture))
                        : el.GetRawText());
                else if (el.ValueKind == JsonValueKind.String) sb.Append(Quote(el.GetString()));
                else sb.Append(el.GetRawText());
                break;
        }
    }
}
