using System.Text.Json;
using System.Text.Json.Nodes;

namespace Apisix.Core.Json;

/// <summary>
/// Reads scalar JsonValues whatever CLR type backs them (long, int, double,
/// JsonElement from System.Text.Json parsing, ...).
/// </summary>
public static class JsonScalars
{
    /// <summary>Kind of a node; C# null counts as JSON null.</summary>
    public static JsonValueKind Kind(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;

    public static bool TryGetNumber(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue(out double d)) { value = d; return true; }
        if (v.TryGetValue(out long l)) { value = l; return true; }
        if (v.TryGetValue(out int i)) { value = i; return true; }
        if (v.TryGetValue(out float f)) { value = f; return true; }
        if (v.TryGetValue(out decimal m)) { value = (double)m; return true; }
        if (v.TryGetValue(out ulong ul)) { value = ul; return true; }
        if (v.TryGetValue(out uint ui)) { value = ui; return true; }
        if (v.TryGetValue(out short s)) { value = s; return true; }
        if (v.TryGetValue(out ushort us)) { value = us; return true; }
        if (v.TryGetValue(out byte b)) { value = b; return true; }
        if (v.TryGetValue(out sbyte sb)) { value = sb; return true; }
        if (v.TryGetValue(out JsonElement e) && e.ValueKind == JsonValueKind.Number)
        {
            value = e.GetDouble();
            return true;
        }
        // Last resort: whatever it is, it serialises as a JSON number.
        return double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    public static bool TryGetString(JsonNode? node, out string value)
    {
        value = "";
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return false;
        if (v.TryGetValue(out string? s) && s != null) { value = s; return true; }
        if (v.TryGetValue(out JsonElement e) && e.ValueKind == JsonValueKind.String)
        {
            value = e.GetString() ?? "";
            return true;
        }
        // Chars, Guids, dates...: take the string they serialise to.
        value = JsonSerializer.Deserialize<string>(v.ToJsonString()) ?? "";
        return true;
    }

    public static bool TryGetBoolean(JsonNode? node, out bool value)
    {
        value = false;
        if (node is not JsonValue v) return false;
        switch (v.GetValueKind())
        {
            case JsonValueKind.True: value = true; return true;
            case JsonValueKind.False: value = false; return true;
            default: return false;
        }
    }
}
