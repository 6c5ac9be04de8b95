using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Utils;

/// <summary>
/// <c>rapidjson.encode(value, {sort_keys = true})</c> (lua-rapidjson) for the JSON node model:
/// object keys sorted bytewise, integral numbers written as integers, other numbers as rapidjson's
/// shortest form ("0.5", "1e-7", "1.5e30"), strings as bytes with only quote, backslash and control
/// characters escaped. The AI transport encodes request bodies with it so that equal bodies give
/// equal bytes (upstream prompt caches depend on it).
/// </summary>
public static class RapidJson
{
    /// <summary>Nesting lua-rapidjson refuses to go beyond.</summary>
    public const int MaxDepth = 128;

    /// <summary>The encoded text, or throws <see cref="FormatException"/> as lua-rapidjson raises an error.</summary>
    public static string Encode(JsonNode? value, bool sortKeys = true)
    {
        var sb = new StringBuilder();
        Write(sb, value, sortKeys, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node, bool sortKeys, int depth)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                return;
            case JsonObject obj:
                if (++depth > MaxDepth) throw new FormatException("nested too depth");
                var pairs = obj.Select(kv => (Key: ByteString.Normalize(kv.Key), kv.Value)).ToList();
                if (sortKeys) pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
                sb.Append('{');
                for (var i = 0; i < pairs.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    WriteString(sb, pairs[i].Key);
                    sb.Append(':');
                    Write(sb, pairs[i].Value, sortKeys, depth);
                }
                sb.Append('}');
                return;
            case JsonArray arr:
                if (++depth > MaxDepth) throw new FormatException("nested too depth");
                sb.Append('[');
                for (var i = 0; i < arr.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Write(sb, arr[i], sortKeys, depth);
                }
                sb.Append(']');
                return;
        }

        switch (node.GetValueKind())
        {
            case JsonValueKind.String:
                JsonScalars.TryGetString(node, out var s);
                WriteString(sb, ByteString.Normalize(s));
                return;
            case JsonValueKind.Number:
                JsonScalars.TryGetNumber(node, out var d);
                WriteNumber(sb, d);
                return;
            case JsonValueKind.True: sb.Append("true"); return;
            case JsonValueKind.False: sb.Append("false"); return;
            case JsonValueKind.Null: sb.Append("null"); return;
            default:
                Write(sb, JsonNode.Parse(node.ToJsonString()), sortKeys, depth);
                return;
        }
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u00").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>A number as lua-rapidjson writes it; throws for NaN and infinities.</summary>
    public static void WriteNumber(StringBuilder sb, double d)
    {
        if (!double.IsFinite(d)) throw new FormatException("error while encode double value.");
        // integral values in the int64 range go out as integers (-0 as 0)
        if (Math.Floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        {
            sb.Append(((long)d).ToString(CultureInfo.InvariantCulture));
            return;
        }
        if (d < 0) { sb.Append('-'); d = -d; }
        // shortest round-trip digits and their decimal exponent: value = 0.DIGITS x 10^kk
        var (digits, kk) = Digits(d.ToString("R", CultureInfo.InvariantCulture));
        var length = digits.Length;
        var k = kk - length;
        if (k >= 0 && kk <= 21)
        {
            sb.Append(digits).Append('0', k).Append(".0");
        }
        else if (kk > 0 && kk <= 21)
        {
            sb.Append(digits, 0, kk).Append('.').Append(digits, kk, length - kk);
        }
        else if (kk > -6 && kk <= 0)
        {
            sb.Append("0.").Append('0', -kk).Append(digits);
        }
        else
        {
            sb.Append(digits[0]);
            if (length > 1) sb.Append('.').Append(digits, 1, length - 1);
            sb.Append('e').Append((kk - 1).ToString(CultureInfo.InvariantCulture));
        }
    }

    // "123.45" → ("12345", 3); "1E-07" → ("1", -6); "1.5E+30" → ("15", 31)
    private static (string Digits, int Kk) Digits(string text)
    {
        var exp = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }
        var dot = text.IndexOf('.');
        var intPart = dot < 0 ? text : text[..dot];
        var frac = dot < 0 ? "" : text[(dot + 1)..];
        var all = intPart + frac;
        var kk = intPart.Length + exp;
        var lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') { lead++; kk--; }
        all = all[lead..].TrimEnd('0');
        if (all.Length == 0) all = "0";
        return (all, kk);
    }
}
