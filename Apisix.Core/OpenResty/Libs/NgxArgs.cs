using System.Text;
using System.Text.Json.Nodes;

namespace Apisix.Core.OpenResty;

/// <summary>
/// <c>ngx.decode_args</c> in C#: a query string as a table. A key without "=" is <c>true</c>;
/// a repeated key collects its values in an array; "+" and %XX are unescaped.
/// </summary>
public static class NgxArgs
{
    public static JsonObject Decode(string? query, int max = 100)
    {
        var args = new JsonObject();
        if (string.IsNullOrEmpty(query)) return args;
        var n = 0;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (max > 0 && ++n > max) break;
            var eq = pair.IndexOf('=');
            var key = Unescape(eq < 0 ? pair : pair[..eq]);
            JsonNode value = eq < 0 ? JsonValue.Create(true) : JsonValue.Create(Unescape(pair[(eq + 1)..]));
            if (key.Length == 0) continue;
            switch (args[key])
            {
                case null: args[key] = value; break;
                case JsonArray list: list.Add(value); break;
                case var old: args[key] = new JsonArray(old.DeepClone(), value); break;
            }
        }
        return args;
    }

    /// <summary><c>ngx.unescape_uri</c>: %XX decoded bytewise, "+" becomes a space; the result is a byte string.</summary>
    public static string Unescape(string s)
    {
        if (s.IndexOfAny(['%', '+']) < 0) return s;
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '+') sb.Append(' ');
            else if (c == '%' && i + 2 < s.Length && Uri.IsHexDigit(s[i + 1]) && Uri.IsHexDigit(s[i + 2]))
            {
                sb.Append((char)Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// <c>ngx.escape_uri(s)</c>: every byte but letters, digits, <c>-._~</c> and <c>!'()*</c> as %XX
    /// (ngx_lua's uri_component table leaves those five sub-delimiters alone, whatever its
    /// comment says; APISIX's Aliyun signing escapes them itself for that reason).
    /// </summary>
    public static string EscapeUri(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (IsUriComponentSafe(c)) sb.Append(c);
            else foreach (var b in c <= 0xFF ? [(byte)c] : Encoding.UTF8.GetBytes(c.ToString())) sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }

    /// <summary>The bytes ngx_lua's <c>NGX_ESCAPE_URI_COMPONENT</c> keeps as they are.</summary>
    public static bool IsUriComponentSafe(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '-' or '.' or '_' or '~' or '!' or '\'' or '(' or ')' or '*';
}
