namespace Apisix.TestNginx.Client;

/// <summary>
/// What one request got back, parsed the way Test::Nginx parses it (HTTP::Response, then its own
/// chunked decoder). Every string is a byte string: one char per byte (Latin-1), never decoded.
/// </summary>
public sealed class HttpResult
{
    public const string TimeoutError = "ERROR: client socket timed out";

    /// <summary>The status code, or 0 when no status line with a numeric code was received.</summary>
    public int Status { get; set; }

    /// <summary>The first line of the response without its line end ("" when nothing was received).</summary>
    public string StatusLine { get; set; } = "";

    /// <summary>Response headers in order, with their case and duplicates; continuation lines are joined with "\n".</summary>
    public List<(string Name, string Value)> Headers { get; } = new();

    /// <summary>The body: chunked-decoded, cut at Content-Length, or everything up to EOF.</summary>
    public string Body { get; set; } = "";

    /// <summary>The data of each chunk of a chunked body, in order (empty for other bodies).</summary>
    public List<string> Chunks { get; } = new();

    /// <summary>
    /// A transport error: <see cref="TimeoutError"/> when the idle timeout fired, otherwise a connect,
    /// write or read failure. Whatever arrived before it is still parsed into the other fields.
    /// </summary>
    public string? Error { get; set; }

    /// <summary>True when <see cref="Error"/> is the idle timeout.</summary>
    public bool TimedOut { get; set; }

    /// <summary>
    /// The response could not be parsed (bad chunked framing, no last chunk). Test::Nginx then checks
    /// the block as if there were no response at all.
    /// </summary>
    public string? ParseError { get; set; }

    /// <summary>Non-fatal oddities (truncated body, bytes after the last chunk, read errors); no block name prefix.</summary>
    public List<string> Warnings { get; } = new();

    /// <summary>Time from connecting (or writing) until EOF, timeout or error.</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>Everything received, unparsed.</summary>
    public string Raw { get; set; } = "";

    /// <summary>The status line and header lines as received, up to and including the CRLF before the empty line.</summary>
    public string RawHeaders { get; set; } = "";

    /// <summary>Bytes after the end of this response's body (the next pipelined response, or junk).</summary>
    public string Leftover { get; set; } = "";

    /// <summary>
    /// A header's value as HTTP::Headers returns it in scalar context: case-insensitive lookup,
    /// several values joined with ", "; null when absent.
    /// </summary>
    public string? Header(string name)
    {
        var values = Headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        return values.Count == 0 ? null : string.Join(", ", values);
    }

    /// <summary>The body as raw bytes.</summary>
    public byte[] BodyBytes() => System.Text.Encoding.Latin1.GetBytes(Body);
}
