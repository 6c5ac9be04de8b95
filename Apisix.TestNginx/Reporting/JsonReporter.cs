using System.Text.Encodings.Web;
using System.Text.Json;

namespace Apisix.TestNginx.Reporting;

/// <summary>
/// A machine-readable report, UTF-8:
/// <code>
/// {"files":[{"file":"t/plugin/x.t","blocks":[
///   {"index":1,"name":"TEST 1: ...","status":"pass|fail|skip","message":null|"...","elapsed_ms":12,"slept_ms":0}]}],
///  "summary":{"passed":1,"failed":0,"skipped":0}}
/// </code>
/// A file with an error also has <c>"error":"..."</c>; a block with warnings also has <c>"warnings":[...]</c>.
/// Names and messages are byte strings; their bytes are decoded as UTF-8.
/// <para>A block that sent requests also has what `diff` compares, in the shape the Perl capture
/// module (tools/perl/TestNginxCapture.pm) writes for the real side:
/// <c>"requests":[{"request":"GET /t HTTP/1.1\r\n...","status":200,"raw_headers":"HTTP/1.1 200 OK\r\n...","body":"...","error":null}]</c>
/// and <c>"error_log":[["... [warn] ...", ...], ...]</c> (the warn-and-above lines each log check saw).
/// These strings are kept as byte strings, one JSON character per byte (the byte 0xE9 is "\u00e9"),
/// so that both sides compare byte for byte.</para>
/// </summary>
public static class JsonReporter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        // Keep non-ASCII text readable in the file (still valid JSON; the report is not embedded in HTML).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write(IEnumerable<FileOutcome> files, string path)
    {
        using var stream = File.Create(path);
        Write(files, stream);
    }

    public static void Write(IEnumerable<FileOutcome> files, Stream stream)
    {
        var list = files.ToList();
        using var json = new Utf8JsonWriter(stream, Options);
        json.WriteStartObject();
        json.WriteStartArray("files");
        foreach (var file in list)
        {
            json.WriteStartObject();
            json.WriteString("file", file.File);
            if (file.Error != null) json.WriteString("error", ByteStrings.ToText(file.Error));
            json.WriteStartArray("blocks");
            foreach (var b in file.Blocks)
            {
                json.WriteStartObject();
                json.WriteNumber("index", b.Index);
                json.WriteString("name", ByteStrings.ToText(b.Name));
                json.WriteString("status", b.Status);
                if (b.Message == null) json.WriteNull("message");
                else json.WriteString("message", ByteStrings.ToText(b.Message));
                json.WriteNumber("elapsed_ms", (long)b.Elapsed.TotalMilliseconds);
                json.WriteNumber("slept_ms", (long)b.Slept.TotalMilliseconds);
                json.WriteNumber("subtests", b.Subtests);
                WriteRecords(json, b);
                if (b.Warnings.Count > 0)
                {
                    json.WriteStartArray("warnings");
                    foreach (var w in b.Warnings) json.WriteStringValue(ByteStrings.ToText(w));
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        var totals = RunTotals.Of(list);
        json.WriteStartObject("summary");
        json.WriteNumber("passed", totals.Passed);
        json.WriteNumber("failed", totals.Failed);
        json.WriteNumber("skipped", totals.Skipped);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteRecords(Utf8JsonWriter json, BlockOutcome b)
    {
        if (b.Requests.Count > 0)
        {
            json.WriteStartArray("requests");
            foreach (var r in b.Requests)
            {
                json.WriteStartObject();
                json.WriteString("request", r.Request);
                if (r.Status is { } status) json.WriteNumber("status", status);
                else json.WriteNull("status");
                json.WriteString("raw_headers", r.RawHeaders);
                if (r.Body == null) json.WriteNull("body");
                else json.WriteString("body", r.Body);
                if (r.Error == null) json.WriteNull("error");
                else json.WriteString("error", r.Error);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        if (b.ErrorLog != null)
        {
            json.WriteStartArray("error_log");
            foreach (var slice in b.ErrorLog)
            {
                json.WriteStartArray();
                foreach (var line in slice) json.WriteStringValue(line);
                json.WriteEndArray();
            }
            json.WriteEndArray();
        }
    }

    public static string ToJson(IEnumerable<FileOutcome> files)
    {
        using var stream = new MemoryStream();
        Write(files, stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
