using System.Text;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// The bytes a client wrote on one in-memory connection, kept so the server side can see each
/// request head as sent: header order and name case, which Kestrel's parsed header dictionary
/// loses (nginx keeps both; `ngx.req.raw_header()` and `get_headers(nil, true)` show them).
/// Recording stops past <see cref="Cap"/> bytes; then heads are simply not found.
/// </summary>
public sealed class RequestHeadLog
{
    public const string ItemKey = "apisix.request-head-log";
    private const int Cap = 1 << 20;
    private readonly StringBuilder _bytes = new();
    private readonly object _lock = new();
    private bool _full;

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (_full) return;
            if (_bytes.Length + data.Length > Cap) { _full = true; return; }
            _bytes.Append(Encoding.Latin1.GetString(data));
        }
    }

    /// <summary>
    /// The header lines of the next request head starting "METHOD TARGET HTTP/", in order and as
    /// sent, consuming everything up to its end; null when no such head was recorded. The head's
    /// end is its first empty line (CRLF or a bare LF, which nginx also accepts).
    /// </summary>
    public List<(string Name, string Value)>? Take(string method, string target) => TakeHead(method, target)?.Headers;

    /// <summary>As <see cref="Take"/>, with the head's bytes as sent (request line to the empty line included).</summary>
    public (List<(string Name, string Value)> Headers, string Raw)? TakeHead(string method, string target)
    {
        lock (_lock)
        {
            var text = _bytes.ToString();
            var start = text.IndexOf(method + " " + target + " HTTP/", StringComparison.Ordinal);
            if (start < 0) return null;
            var end = -1;
            var endLen = 0;
            for (var i = text.IndexOf('\n', start); i >= 0; i = text.IndexOf('\n', i + 1))
            {
                if (i + 1 < text.Length && text[i + 1] == '\n') { end = i + 1; endLen = 1; break; }
                if (i + 2 < text.Length && text[i + 1] == '\r' && text[i + 2] == '\n') { end = i + 1; endLen = 2; break; }
            }
            if (end < 0) return null;
            var raw = text[start..(end + endLen)];
            _bytes.Remove(0, end + endLen);
            var headers = new List<(string, string)>();
            foreach (var line in text[start..end].Split('\n').Skip(1))
            {
                var l = line.TrimEnd('\r');
                if (l.Length == 0) continue;
                var colon = l.IndexOf(':');
                if (colon <= 0) return null;
                headers.Add((l[..colon], l[(colon + 1)..].Trim(' ', '\t')));
            }
            return (headers, raw);
        }
    }
}
