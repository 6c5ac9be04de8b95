using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Client;

/// <summary>
/// Parses a raw HTTP/1.x response (a byte string) into an <see cref="HttpResult"/>, following
/// HTTP::Response's lenient header parsing and Test::Nginx's body rules:
/// <list type="bullet">
/// <item>status line: the first line; "PROTO CODE MESSAGE" (or "CODE MESSAGE"); a non-numeric code counts as none;</item>
/// <item>headers: <c>Name: value</c> lines (one optional space after the colon is dropped, a trailing CR is
/// dropped), lines starting with a space or tab continue the previous value, the first other line ends them;</item>
/// <item>body: for 101 and 304 nothing is decoded; <c>Transfer-Encoding: chunked</c> is decoded strictly
/// (no chunk extensions; trailers only when announced in <c>Trailer</c>); otherwise a Content-Length cuts the
/// body (a shorter body only warns); otherwise the body runs to EOF.</item>
/// </list>
/// </summary>
public static partial class HttpResponseParser
{
    public static HttpResult Parse(string raw, bool headRequest = false)
    {
        var result = new HttpResult { Raw = raw };
        ParseInto(result, raw, headRequest);
        return result;
    }

    /// <summary>Parses <paramref name="count"/> responses that arrived back to back on one connection.</summary>
    public static List<HttpResult> ParsePipelined(string raw, int count, bool headRequest = false)
    {
        var results = new List<HttpResult>();
        for (var i = 0; i < count; i++)
        {
            var r = Parse(raw, headRequest);
            r.Raw = raw;
            results.Add(r);
            raw = r.Leftover;
        }
        return results;
    }

    internal static void ParseInto(HttpResult result, string raw, bool headRequest)
    {
        var rawHeaders = RawHeaderBlock().Match(raw);
        result.RawHeaders = rawHeaders.Success ? rawHeaders.Groups[1].Value : "";

        // Status line.
        var nl = raw.IndexOf('\n');
        var statusLine = nl < 0 ? raw : raw[..nl];
        var rest = nl < 0 ? "" : raw[(nl + 1)..];
        if (statusLine.EndsWith('\r')) statusLine = statusLine[..^1];
        result.StatusLine = statusLine;
        var words = statusLine.Split(Space, 3, StringSplitOptions.RemoveEmptyEntries);
        var codeText = StatusOnly().IsMatch(statusLine) ? words.ElementAtOrDefault(0) : words.ElementAtOrDefault(1);
        result.Status = codeText != null && codeText.All(char.IsAsciiDigit) && int.TryParse(codeText, out var code) ? code : 0;

        // Headers.
        var pos = 0;
        while (true)
        {
            var header = HeaderLine().Match(rest, pos);
            if (header.Success && header.Index == pos)
            {
                result.Headers.Add((header.Groups[1].Value, StripCr(header.Groups[2].Value)));
                pos += header.Length;
                continue;
            }
            var more = ContinuationLine().Match(rest, pos);
            if (result.Headers.Count > 0 && more.Success && more.Index == pos)
            {
                var (n, v) = result.Headers[^1];
                result.Headers[^1] = (n, StripCr(v + "\n" + more.Groups[1].Value));
                pos += more.Length;
                continue;
            }
            if (rest.AsSpan(pos).StartsWith("\r\n")) pos += 2;
            else if (rest.AsSpan(pos).StartsWith("\n")) pos += 1;
            break;
        }
        var body = rest[pos..];
        result.Body = body;

        if (result.Status is 101 or 304) return;

        if (result.Header("Transfer-Encoding") == "chunked")
        {
            DecodeChunked(result, body);
            return;
        }

        var length = result.Header("Content-Length");
        if (length is { Length: > 0 } && LeadingNumber(length) is { } len && len >= 0)
        {
            if (body.Length < len)
            {
                if (!headRequest)
                    result.Warnings.Add($"response body truncated: {length} expected, but got {body.Length}");
            }
            else if (body.Length > len)
            {
                result.Body = body[..(int)len];
                result.Leftover = body[(int)len..];
            }
        }
    }

    private static void DecodeChunked(HttpResult result, string raw)
    {
        var trailers = result.Headers.Where(h => h.Name.Equals("Trailer", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        var decoded = new StringBuilder();
        var pos = 0;
        result.Body = "";
        while (true)
        {
            if (trailers.Count == 0 && LastChunk().Match(raw, pos) is { Success: true } last && last.Index == pos)
            {
                result.Leftover = raw[(pos + last.Length)..];
                break;
            }
            if (trailers.Count > 0 && LastChunkWithTrailers().Match(raw, pos) is { Success: true } lastT && lastT.Index == pos)
            {
                pos += lastT.Length;
                foreach (var trailer in trailers)
                {
                    var t = new Regex(@"\G" + Regex.Escape(trailer) + @": [^\n]*\r\n", RegexOptions.Singleline).Match(raw, pos);
                    if (!t.Success)
                    {
                        result.ParseError = $"invalid trailer data received (expected {trailer}).";
                        return;
                    }
                    pos += t.Length;
                }
                if (!raw.AsSpan(pos).StartsWith("\r\n"))
                {
                    result.ParseError = "invalid chunked data received (expected CRLF).";
                    return;
                }
                result.Leftover = raw[(pos + 2)..];
                break;
            }

            var size = ChunkSize().Match(raw, pos);
            if (size.Success && size.Index == pos)
            {
                pos += size.Length;
                var hex = size.Groups[1].Value;
                if (!long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var n) || n > raw.Length - pos)
                {
                    result.Chunks.Add(raw[pos..]);
                    result.ParseError = "invalid chunked data received (not enough octets for the data section)";
                    return;
                }
                var data = raw.Substring(pos, (int)n);
                result.Chunks.Add(data);
                decoded.Append(data);
                result.Body = decoded.ToString();
                pos += (int)n;
                if (!raw.AsSpan(pos).StartsWith("\r\n"))
                {
                    result.ParseError = "invalid chunked data received (expected CRLF).";
                    return;
                }
                pos += 2;
                continue;
            }

            result.ParseError = pos < raw.Length
                ? $"invalid chunked body received: {raw[pos..]}"
                : $"no last chunk found - {raw}";
            return;
        }
        result.Body = decoded.ToString();
    }

    private static string StripCr(string s) => s.EndsWith('\r') ? s[..^1] : s;

    // Perl's numeric view of a string: its leading number ("12abc" is 12, "abc" is 0).
    private static long? LeadingNumber(string s)
    {
        var m = Number().Match(s);
        return m.Success && long.TryParse(m.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    private static readonly char[] Space = [' ', '\t', '\n', '\r', '\f', '\v'];

    [GeneratedRegex(@"\A(.*?\r\n)\r\n", RegexOptions.Singleline)]
    private static partial Regex RawHeaderBlock();

    [GeneratedRegex(@"\A\d{3} ")]
    private static partial Regex StatusOnly();

    [GeneratedRegex(@"\G([^ \t\n\r\f\v:]+)[ \t]*: ?([^\n]*)\n?")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"\G([ \t][^\n]*)\n?")]
    private static partial Regex ContinuationLine();

    [GeneratedRegex(@"\G0[ \t]*\r\n\r\n")]
    private static partial Regex LastChunk();

    [GeneratedRegex(@"\G0[ \t]*\r\n")]
    private static partial Regex LastChunkWithTrailers();

    [GeneratedRegex(@"\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n")]
    private static partial Regex ChunkSize();

    [GeneratedRegex(@"^[ \t\n\r\f\v]*[+-]?\d+")]
    private static partial Regex Number();
}
