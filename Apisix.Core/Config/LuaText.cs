using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;

namespace Apisix.Core.Config;

/// <summary>
/// Small Lua conversions the config and admin ports need: <c>tonumber</c> on
/// a string, <c>tostring</c> on a decoded JSON value, truthiness.
/// </summary>
public static class LuaText
{
    private static readonly Regex DecimalNumber = new(
        @"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", RegexOptions.CultureInvariant);

    private static readonly Regex HexNumber = new(@"^([+-]?)0[xX]([0-9a-fA-F]+)$", RegexOptions.CultureInvariant);

    /// <summary>LuaJIT's <c>tonumber(s)</c> for decimal and hexadecimal integers/floats; null when it is not a number.</summary>
    public static double? ToNumber(string? s)
    {
        if (s == null) return null;
        string t = s.Trim(' ', '\t', '\n', '\r', '\f', '\v');
        if (t.Length == 0) return null;

        if (DecimalNumber.IsMatch(t))
        {
            return double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        var m = HexNumber.Match(t);
        if (m.Success)
        {
            double v = 0;
            foreach (char c in m.Groups[2].Value) v = v * 16 + Convert.ToInt32(c.ToString(), 16);
            return m.Groups[1].Value == "-" ? -v : v;
        }

        return null;
    }

    /// <summary>
    /// Lua's <c>tostring</c> of a decoded value: numbers as <c>%.14g</c>,
    /// strings as they are, booleans as true/false, JSON null as "null"
    /// (cjson.null is a userdata; real Lua prints its address instead).
    /// </summary>
    public static string ToLuaString(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return "null";
            case JsonObject or JsonArray:
                return "table";
        }

        switch (node.GetValueKind())
        {
            case JsonValueKind.String:
                JsonScalars.TryGetString(node, out string s);
                return s;
            case JsonValueKind.Number:
                JsonScalars.TryGetNumber(node, out double d);
                return LuaNumber.ToLuaString(d);
            case JsonValueKind.True:
                return "true";
            case JsonValueKind.False:
                return "false";
            default:
                return "null";
        }
    }

    /// <summary>Lua truthiness of a value that is present: everything but <c>false</c> (JSON null is truthy).</summary>
    public static bool IsTruthy(JsonNode? presentValue) =>
        !(JsonScalars.TryGetBoolean(presentValue, out bool b) && !b);

    /// <summary>Lua truthiness of <c>t[key]</c>: absent and false are falsy.</summary>
    public static bool FieldIsTruthy(JsonObject? obj, string key) =>
        obj != null && obj.TryGetPropertyValue(key, out var v) && IsTruthy(v);

    /// <summary>The value is a Lua table (a decoded object or array).</summary>
    public static bool IsTable(JsonNode? node) => node is JsonObject or JsonArray;

    /// <summary>LuaJIT's <c>table.isarray</c> on a decoded value: arrays and empty tables.</summary>
    public static bool IsArray(JsonNode? node) => node is JsonArray || node is JsonObject { Count: 0 };
}
