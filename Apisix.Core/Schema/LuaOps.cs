using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>Small Lua operations the validator's messages and checks depend on.</summary>
internal static class LuaOps
{
    /// <summary>Lua truthiness of a schema field: present and not false (JSON null counts as absent).</summary>
    public static bool Truthy(JsonNode? node)
    {
        if (node == null) return false;
        if (JsonScalars.TryGetBoolean(node, out bool b)) return b;
        return JsonScalars.Kind(node) != System.Text.Json.JsonValueKind.Null;
    }

    public static bool IsTrue(JsonNode? node) => JsonScalars.TryGetBoolean(node, out bool b) && b;

    public static bool IsFalse(JsonNode? node) => JsonScalars.TryGetBoolean(node, out bool b) && !b;

    /// <summary>
    /// The validator's deep equality: same Lua type, scalars by value, tables
    /// by identical key sets with deep-equal values (so an empty object equals
    /// an empty array, as both are the empty Lua table).
    /// </summary>
    public static bool DeepEq(LuaValue a, LuaValue b)
    {
        string ta = a.TypeName, tb = b.TypeName;
        if (ta != tb) return false;
        switch (ta)
        {
            case "nil":
            case "userdata":
                return true;
            case "number":
                a.TryNumber(out double x);
                b.TryNumber(out double y);
                return x == y;
            case "string":
                a.TryString(out string s1);
                b.TryString(out string s2);
                return ByteString.Normalize(s1) == ByteString.Normalize(s2);
            case "boolean":
                a.TryBoolean(out bool b1);
                b.TryBoolean(out bool b2);
                return b1 == b2;
            case "table":
                return TableEq(a.Node, b.Node);
            default:
                return false;
        }
    }

    private static bool TableEq(JsonNode? a, JsonNode? b)
    {
        int countA = a is JsonObject oa ? oa.Count : ((JsonArray)a!).Count;
        int countB = b is JsonObject ob ? ob.Count : ((JsonArray)b!).Count;
        if (countA != countB) return false;
        if (countA == 0) return true;

        if (a is JsonArray arrA && b is JsonArray arrB)
        {
            for (int i = 0; i < arrA.Count; i++)
            {
                if (!DeepEq(LuaValue.Of(arrA[i]), LuaValue.Of(arrB[i]))) return false;
            }
            return true;
        }
        if (a is JsonObject objA && b is JsonObject objB)
        {
            foreach (var (key, value) in objA)
            {
                if (!objB.TryGetPropertyValue(key, out var other)) return false;
                if (!DeepEq(LuaValue.Of(value), LuaValue.Of(other))) return false;
            }
            return true;
        }
        // Non-empty array keys are integers, object keys strings: never equal.
        return false;
    }

    /// <summary>Lua's <c>tostring</c> for a number.</summary>
    public static string NumberToString(double d) => LuaNumber.ToLuaString(d);

    /// <summary>
    /// A number as it comes back after being printed into generated Lua code
    /// with %s (the validator embeds schema numbers in source text).
    /// </summary>
    public static double ThroughSource(double d)
    {
        string text = LuaNumber.ToLuaString(d);
        return double.TryParse(text, System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double back) ? back : d;
    }

    /// <summary>LuaJIT's <c>string.format("%q", s)</c>.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '"' || c == '\\' || c == '\n')
            {
                sb.Append('\\').Append(c);
            }
            else if (c < 0x20 || c == 0x7F)
            {
                // Decimal escape, padded to 3 digits only when a digit follows.
                char next = i + 1 < s.Length ? s[i + 1] : '\0';
                sb.Append('\\');
                if (next >= '0' && next <= '9') sb.Append(((int)c).ToString("000"));
                else sb.Append((int)c);
            }
            else
            {
                sb.Append(c);
            }
        }
        sb.Append('"');
        return sb.ToString();
    }

    /// <summary>
    /// The library's UTF-8 length: counts characters of a byte string, an
    /// invalid sequence counting one per byte.
    /// </summary>
    public static int Utf8Length(string str)
    {
        string s = ByteString.Normalize(str);
        int n = s.Length, i = 0, count = 0;
        while (i < n)
        {
            int first = s[i];
            if (first >= 0x80 && first <= 0xF4)
            {
                int extra = 0;
                int lo = 0x80, hi = 0xBF;
                if (first >= 0xC2 && first <= 0xDF) extra = 1;
                else if (first >= 0xE0 && first <= 0xEF)
                {
                    extra = 2;
                    if (first == 0xE0) lo = 0xA0;
                    else if (first == 0xED) hi = 0x9F;
                }
                else if (first >= 0xF0)
                {
                    extra = 3;
                    if (first == 0xF0) lo = 0x90;
                    else if (first == 0xF4) hi = 0x8F;
                }

                if (i + extra >= n) extra = 0; // truncated sequence
                for (int j = 1; j <= extra; j++)
                {
                    int b = s[i + j];
                    if (b < lo || b > hi)
                    {
                        extra = 0;
                        break;
                    }
                    // Only the first continuation byte has a narrowed range.
                    lo = 0x80;
                    hi = 0xBF;
                }
                i += extra;
            }
            i++;
            count++;
        }
        return count;
    }
}
