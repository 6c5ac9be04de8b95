using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// Port of <c>apisix/plugins/ai-transport/sse.lua</c>: the Server-Sent Events codec
/// (<c>decode</c>, <c>encode</c>, <c>decode_buf</c>, <c>split_buf</c>).
/// Strings are Lua byte strings (one char per byte, see <see cref="ByteString"/>).
/// An event is a <see cref="JsonObject"/> as the Lua table reads:
/// <c>type</c> (string), <c>data</c> (string), and when present <c>id</c> (string)
/// and <c>retry</c> (number).
/// </summary>
public static class Sse
{
    /// <summary><c>max_remainder</c>: the most bytes <c>decode_buf</c>/<c>split_buf</c> callers keep buffered.</summary>
    public const int MaxRemainder = 1024 * 1024;

    /// <summary>
    /// <c>parse_raw_event</c>: one block of lines (between two boundaries) as an event,
    /// or null when it holds no field (empty or comments only).
    /// </summary>
    private static JsonObject? ParseRawEvent(string raw)
    {
        string type = "message";
        var data = new List<string>();
        string? id = null;
        double? retry = null;
        bool hasField = false;

        int pos = 0;
        int rawLen = raw.Length;
        while (pos < rawLen)
        {
            int nl = raw.IndexOf('\n', pos);
            string line;
            if (nl >= 0)
            {
                line = raw.Substring(pos, nl - pos);
                pos = nl + 1;
            }
            else
            {
                line = raw.Substring(pos);
                pos = rawLen;
            }

            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            if (line.Length == 0) continue;

            int colon = line.IndexOf(':');
            // no separator: not a field; separator first: a comment
            if (colon <= 0) continue;

            string name = AsciiLower(line[..colon]);
            string value = line[(colon + 1)..];
            if (value.Length > 0 && value[0] == ' ') value = value[1..];

            hasField = true;
            switch (name)
            {
                case "data": data.Add(value); break;
                case "event": type = value; break;
                case "id": id = value; break;
                case "retry": retry = LuaText.ToNumber(value); break;
            }
        }

        if (!hasField) return null;
        var ev = new JsonObject
        {
            ["type"] = type,
            ["data"] = string.Join("\n", data),
        };
        if (id != null) ev["id"] = id;
        if (retry is double r) ev["retry"] = CJson.NumberNode(r);
        return ev;
    }

    /// <summary>
    /// <c>next_boundary</c>: the first <c>\n\n</c> or <c>\r\n\r\n</c> at or after
    /// <paramref name="pos"/> (0-based). EvEnd is the exclusive end of the event text,
    /// NextPos the first index after the boundary; null when there is none.
    /// </summary>
    private static (int EvEnd, int NextPos)? NextBoundary(string buf, int pos)
    {
        int pLf = buf.IndexOf("\n\n", pos, StringComparison.Ordinal);
        int pCrlf = buf.IndexOf("\r\n\r\n", pos, StringComparison.Ordinal);

        if (pLf >= 0 && pCrlf >= 0)
            return pLf <= pCrlf ? (pLf, pLf + 2) : (pCrlf, pCrlf + 4);
        if (pLf >= 0) return (pLf, pLf + 2);
        if (pCrlf >= 0) return (pCrlf, pCrlf + 4);
        return null;
    }

    /// <summary>
    /// <c>decode</c>: every event of a chunk. Text after the last boundary counts as a
    /// complete event too. Null or empty input gives an empty list.
    /// </summary>
    public static JsonArray Decode(string? chunk)
    {
        var events = new JsonArray();
        if (string.IsNullOrEmpty(chunk)) return events;

        int pos = 0;
        int len = chunk.Length;
        while (pos < len)
        {
            var b = NextBoundary(chunk, pos);
            if (b is not var (evEnd, nextPos))
            {
                var last = ParseRawEvent(chunk.Substring(pos));
                if (last != null) events.Add(last);
                break;
            }
            var ev = ParseRawEvent(chunk.Substring(pos, evEnd - pos));
            if (ev != null) events.Add(ev);
            pos = nextPos;
        }
        return events;
    }

    /// <summary>
    /// <c>encode</c>: an event as SSE text ending with a blank line. Fields follow Lua
    /// truthiness (absent, null and false are skipped). Throws <see cref="InvalidOperationException"/>
    /// with Lua's message where the Lua code would fail to concatenate a value.
    /// </summary>
    public static string Encode(JsonObject ev)
    {
        var parts = new List<string>();

        var type = ev["type"];
        if (Truthy(type) && !(JsonScalars.TryGetString(type, out var t) && t == "message"))
            parts.Add("event: " + Concat(type, "type"));

        var id = ev["id"];
        if (Truthy(id)) parts.Add("id: " + Concat(id, "id"));

        var retry = ev["retry"];
        if (Truthy(retry)) parts.Add("retry: " + LuaText.ToLuaString(retry));

        var data = ev["data"];
        if (Truthy(data))
        {
            // (data .. "\n"):gmatch("(.-)\n"): one part per line, a trailing newline gives an empty last line
            foreach (var line in Concat(data, "data").Split('\n'))
                parts.Add("data: " + line);
        }

        return string.Join("\n", parts) + "\n\n";
    }

    /// <summary>
    /// <c>decode_buf</c>: the complete events of a buffer in one pass, and the bytes after
    /// the last boundary (not yet a complete event).
    /// </summary>
    public static (JsonArray Events, string Remainder) DecodeBuf(string buf)
    {
        var events = new JsonArray();
        int pos = 0;
        int len = buf.Length;
        int lastCompletePos = 0;

        while (pos < len)
        {
            var b = NextBoundary(buf, pos);
            if (b is not var (evEnd, nextPos)) break;
            var ev = ParseRawEvent(buf.Substring(pos, evEnd - pos));
            if (ev != null) events.Add(ev);
            lastCompletePos = nextPos;
            pos = nextPos;
        }

        var remainder = lastCompletePos < len ? buf.Substring(lastCompletePos) : "";
        return (events, remainder);
    }

    /// <summary>
    /// <c>split_buf</c>: the buffer up to and including its last boundary, and the rest;
    /// <c>("", buf)</c> when it has no boundary.
    /// </summary>
    public static (string Complete, string Remainder) SplitBuf(string buf)
    {
        int lastEnd = -1;
        int searchPos = 0;
        while (true)
        {
            int posLf = buf.IndexOf("\n\n", searchPos, StringComparison.Ordinal);
            int posCrlf = buf.IndexOf("\r\n\r\n", searchPos, StringComparison.Ordinal);

            int pos, boundaryLen;
            if (posLf >= 0 && posCrlf >= 0)
            {
                if (posLf <= posCrlf) (pos, boundaryLen) = (posLf, 2);
                else (pos, boundaryLen) = (posCrlf, 4);
            }
            else if (posLf >= 0) (pos, boundaryLen) = (posLf, 2);
            else if (posCrlf >= 0) (pos, boundaryLen) = (posCrlf, 4);
            else break;

            lastEnd = pos + boundaryLen;
            searchPos = pos + boundaryLen;
        }
        if (lastEnd < 0) return ("", buf);
        return (buf[..lastEnd], buf[lastEnd..]);
    }

    // Lua helpers -------------------------------------------------------------------------------

    /// <summary>Lua's string.lower in the C locale: ASCII letters only.</summary>
    private static string AsciiLower(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) sb.Append(c is >= 'A' and <= 'Z' ? (char)(c + 32) : c);
        return sb.ToString();
    }

    /// <summary>Lua truthiness of a field: absent, JSON null and false are false.</summary>
    private static bool Truthy(JsonNode? node) =>
        node != null && !(node is JsonValue && node.GetValueKind() == JsonValueKind.False);

    /// <summary>The text <c>..</c> gives a string or number; other values cannot be concatenated.</summary>
    private static string Concat(JsonNode? node, string field)
    {
        if (node is JsonValue)
        {
            switch (node.GetValueKind())
            {
                case JsonValueKind.String:
                case JsonValueKind.Number:
                    return LuaText.ToLuaString(node);
                case JsonValueKind.True:
                case JsonValueKind.False:
                    throw new InvalidOperationException($"attempt to concatenate field '{field}' (a boolean value)");
            }
        }
        throw new InvalidOperationException($"attempt to concatenate field '{field}' (a table value)");
    }
}
