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

    public static string ToJson(IEnumerable<FileOutcome> files)
    {
        using var stream = new MemoryStream();
        Write(files, stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
