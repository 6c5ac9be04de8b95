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
    /// sent, consuming everything up to its end; null when no such head was recorded.
    /// </summary>
    public List<(string Name, string Value)>? Take(string method, string target)
    {
        lock (_lock)
        {
            var text = _bytes.ToString();
            var start = text.IndexOf(method + " " + target + " HTTP/", StringComparison.Ordinal);
            if (start < 0) return null;
            var end = text.IndexOf("\r\n\r\n", start, StringComparison.Ordinal);
            if (end < 0) return null;
            _bytes.Remove(0, end + 4);
            var headers = new List<(string, string)>();
            foreach (var line in text[start..end].Split("\r\n").Skip(1))
            {
                var colon = line.IndexOf(':');
                if (colon <= 0) return null;
                headers.Add((line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
            }
            return headers;
        }
    }
}
