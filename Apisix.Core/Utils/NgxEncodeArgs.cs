using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Utils;

/// <summary>
/// <c>ngx.encode_args(table)</c>: "k=v" pairs joined with "&amp;", keys and values escaped as URI
/// components (everything but letters, digits, <c>-._~</c> and <c>!'()*</c> as %XX); <c>true</c> gives a bare
/// key, <c>false</c> is left out, an array repeats the key. Pairs come in the object's order
/// (Lua's is its hash order).
/// </summary>
public static class NgxEncodeArgs
{
    public static string Encode(JsonObject? args)
    {
        if (args == null) return "";
        var sb = new StringBuilder();
        foreach (var (key, value) in args)
        {
            if (value is JsonArray list)
                foreach (var item in list) Append(sb, key, item);
            else Append(sb, key, value);
        }
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, string key, JsonNode? value)
    {
        string? text;
        switch (JsonScalars.Kind(value))
        {
            case JsonValueKind.True: text = null; break;
            case JsonValueKind.String: JsonScalars.TryGetString(value, out var s); text = s; break;
            case JsonValueKind.Number: JsonScalars.TryGetNumber(value, out var d); text = LuaNumber.ToLuaString(d); break;
            case JsonValueKind.False: return;
            default:
                // nginx raises "attempt to use <type> as query arg value"
                throw new InvalidOperationException($"attempt to use {(value == null ? "userdata" : "table")} as query arg value");
        }
        if (sb.Length > 0) sb.Append('&');
        sb.Append(EscapeComponent(key));
        if (text != null) sb.Append('=').Append(EscapeComponent(text));
    }

    /// <summary>URI-component escaping of a byte string (chars above 0xFF as their UTF-8 bytes).</summary>
    public static string EscapeComponent(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var b in ByteString.ToBytes(s))
        {
            var c = (char)b;
            if (Apisix.Core.OpenResty.NgxArgs.IsUriComponentSafe(c)) sb.Append(c);
            else sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }
}
