using System.Text.Json.Nodes;

namespace Apisix.Core.Json;

/// <summary>
/// APISIX's <c>core.json</c>: lua-cjson's <c>cjson.safe</c> instance as
/// APISIX configures it (forward slashes not escaped, decoded arrays marked
/// as arrays).
///
/// Value model: JsonObject / JsonArray / JsonValue (string, bool, number),
/// C# null for JSON null. Strings are byte strings (one char per byte);
/// a string with chars above 0xFF is treated as Unicode and written as UTF-8.
///
/// Differences from the real thing that cannot be avoided: cjson writes
/// object keys in Lua hash order; here they come out in JsonObject insertion
/// order.
/// </summary>
public static class CJson
{
    /// <summary>Largest integer a double holds exactly; beyond it numbers stay doubles.</summary>
    private const double MaxExactInteger = 9007199254740992d; // 2^53

    /// <summary>
    /// <c>core.json.encode</c>. Throws <see cref="CJsonException"/> with cjson's
    /// message for NaN/Infinity or nesting deeper than 1000.
    /// </summary>
    /// <param name="escapeForwardSlash">
    /// false (APISIX: core.json switches cjson's <c>encode_escape_forward_slash</c> off);
    /// true gives stock cjson's <c>\/</c>.
    /// </param>
    public static string Encode(JsonNode? value, bool escapeForwardSlash = false)
    {
        return new CJsonEncoder(escapeForwardSlash).Run(value);
    }

    /// <summary><c>cjson.safe.encode</c>: the text, or nil and the error message.</summary>
    public static (string? Value, string? Error) TryEncode(JsonNode? value, bool escapeForwardSlash = false)
    {
        try
        {
            return (Encode(value, escapeForwardSlash), null);
        }
        catch (CJsonException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>
    /// <c>core.json.decode</c> (cjson.safe): the value, or null and cjson's error
    /// message. JSON null gives C# null (the Lua side maps it to <c>ngx.null</c>).
    /// Arrays, even empty ones, come back as JsonArray since APISIX decodes them
    /// with cjson's array metatable.
    /// </summary>
    public static (JsonNode? Value, string? Error) Decode(string text) => Decode(text, nullAsNil: false);

    /// <summary>
    /// <c>core.json.decode(text, {null_as_nil = true})</c>: as <see cref="Decode"/>, and no object
    /// keeps a key whose value is JSON null (nulls in arrays stay).
    /// </summary>
    public static (JsonNode? Value, string? Error) DecodeNullAsNil(string text) => Decode(text, nullAsNil: true);

    private static (JsonNode? Value, string? Error) Decode(string text, bool nullAsNil)
    {
        try
        {
            return (CJsonDecoder.Run(text, nullAsNil), null);
        }
        catch (CJsonException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>
    /// The port's number convention: Lua has one number type; integral values
    /// within ±2^53 become long, the rest double.
    /// </summary>
    public static JsonValue NumberNode(double d)
    {
        if (LuaNumber.IsIntegral(d) && Math.Abs(d) <= MaxExactInteger && !(d == 0 && double.IsNegative(d)))
            return JsonValue.Create((long)d);
        return JsonValue.Create(d);
    }

    /// <inheritdoc cref="NumberNode(double)"/>
    public static JsonValue NumberNode(long l)
    {
        if (Math.Abs((double)l) <= MaxExactInteger) return JsonValue.Create(l);
        // LuaJIT stores it as a double, rounding it.
        return JsonValue.Create((double)l);
    }

    /// <summary>
    /// Deep copy whose numbers follow the port's convention (see
    /// <see cref="NumberNode(double)"/>) whatever CLR type backed them, so a
    /// copied int 60 reads back as long 60 like a decoded one.
    /// </summary>
    public static JsonNode? CloneNormalized(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                var o = new JsonObject();
                foreach (var (key, value) in obj) o[key] = CloneNormalized(value);
                return o;
            case JsonArray arr:
                var a = new JsonArray();
                foreach (var item in arr) a.Add(CloneNormalized(item));
                return a;
            default:
                if (JsonScalars.TryGetNumber(node, out double d)) return NumberNode(d);
                return node.DeepClone();
        }
    }
}
