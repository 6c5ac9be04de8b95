using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Lua value semantics over the JSON view of Lua tables, shared by the protocol and converter
/// ports (not a module of its own upstream). A table is a JsonObject or JsonArray; nil and
/// JSON null are C# null. Where the Lua code would raise, these throw
/// <see cref="InvalidOperationException"/> with the Lua message (without position prefix).
/// </summary>
internal static class LuaOps
{
    public static bool IsTable(JsonNode? n) => n is JsonObject or JsonArray;

    public static bool Truthy(JsonNode? n) =>
        n != null && !(n is JsonValue && n.GetValueKind() == JsonValueKind.False);

    public static bool IsString(JsonNode? n, out string s) => JsonScalars.TryGetString(n, out s);

    public static bool IsString(JsonNode? n) => JsonScalars.TryGetString(n, out _);

    /// <summary>The string, or null for any other value.</summary>
    public static string? StringOf(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    public static bool StringEquals(JsonNode? n, string value) => StringOf(n) == value;

    /// <summary>The Lua type name of a value.</summary>
    public static string TypeName(JsonNode? n) => n switch
    {
        null => "nil",
        JsonObject or JsonArray => "table",
        _ => n.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "nil",
        },
    };

    /// <summary>
    /// <c>t.key</c>: a table gives its field (an array has no string keys), a string indexes the
    /// string library (none of the keys used here is a library function), nil, numbers and
    /// booleans raise. <paramref name="what"/> names <paramref name="t"/> as Lua's message would.
    /// </summary>
    public static JsonNode? Index(JsonNode? t, string key, string what)
    {
        switch (t)
        {
            case JsonObject o: return o[key];
            case JsonArray: return null;
        }
        var type = TypeName(t);
        if (type == "string") return null;
        throw new InvalidOperationException($"attempt to index {what} (a {type} value)");
    }

    /// <summary><c>type(t) == "table" and t.key</c>-style guarded reads: the field of an object, else nil.</summary>
    public static JsonNode? Get(JsonNode? t, string key) => t is JsonObject o ? o[key] : null;

    /// <summary>
    /// <c>t.key = value</c>: nil removes the field. Raises for nil and scalars as Lua does; an
    /// array view cannot hold a string key, so that raises too.
    /// </summary>
    public static void SetField(JsonNode? t, string key, JsonNode? value, string what)
    {
        switch (t)
        {
            case JsonObject o:
                if (value == null) o.Remove(key);
                else o[key] = value;
                return;
            case JsonArray:
                throw new InvalidOperationException($"cannot set field '{key}' on the array {what}");
        }
        throw new InvalidOperationException($"attempt to index {what} (a {TypeName(t)} value)");
    }

    /// <summary>
    /// The list <c>core.table.insert(owner[key], v)</c> appends to: an array as it is, an empty
    /// object becomes an array (a Lua table has no such distinction).
    /// </summary>
    public static JsonArray InsertTarget(JsonObject owner, string key)
    {
        switch (owner[key])
        {
            case JsonArray a:
                return a;
            case JsonObject { Count: 0 }:
                var fresh = new JsonArray();
                owner[key] = fresh;
                return fresh;
            case JsonObject:
                throw new InvalidOperationException($"cannot append to the object '{key}'");
            case var other:
                throw new InvalidOperationException($"bad argument #1 to 'insert' (table expected, got {TypeName(other)})");
        }
    }

    /// <summary>A Lua table constructor: nil fields are left out.</summary>
    public static JsonObject Table(params (string Key, JsonNode? Value)[] fields)
    {
        var o = new JsonObject();
        foreach (var (k, v) in fields)
            if (v != null) o[k] = v;
        return o;
    }

    /// <summary><c>v == true</c>.</summary>
    public static bool IsTrue(JsonNode? n) => JsonScalars.TryGetBoolean(n, out var b) && b;

    /// <summary><c>#t</c> for a table: the array part up to the first nil (an object has none).</summary>
    public static int Len(JsonNode? n)
    {
        if (n is not JsonArray a) return 0;
        var count = 0;
        while (count < a.Count && a[count] != null) count++;
        return count;
    }

    /// <summary><c>ipairs(t)</c>: the array part up to the first nil; raises for a non-table.</summary>
    public static List<JsonNode> IPairs(JsonNode? n)
    {
        if (n is JsonArray a)
        {
            var len = Len(a);
            var list = new List<JsonNode>(len);
            for (var i = 0; i < len; i++) list.Add(a[i]!);
            return list;
        }
        if (n is JsonObject) return [];
        throw new InvalidOperationException($"bad argument #1 to 'ipairs' (table expected, got {TypeName(n)})");
    }

    /// <summary><c>a or b</c>.</summary>
    public static JsonNode? Or(JsonNode? a, JsonNode? b) => Truthy(a) ? a : b;

    /// <summary><c>a or 0</c>, as a detached copy ready to go into a new table.</summary>
    public static JsonNode OrZero(JsonNode? a) => Truthy(a) ? a!.DeepClone() : JsonValue.Create(0L);

    /// <summary>A detached copy (Lua shares the table; a JsonNode has one parent).</summary>
    public static JsonNode? Clone(JsonNode? n) => n?.DeepClone();

    /// <summary>Lua's <c>a + b</c>: numbers, or strings that convert to numbers.</summary>
    public static JsonNode Add(JsonNode? a, JsonNode? b) => CJson.NumberNode(Arith(a) + Arith(b));

    private static double Arith(JsonNode? n)
    {
        if (JsonScalars.TryGetNumber(n, out var d)) return d;
        if (JsonScalars.TryGetString(n, out var s) && LuaText.ToNumber(s) is double p) return p;
        throw new InvalidOperationException($"attempt to perform arithmetic on a {TypeName(n)} value");
    }

    /// <summary><c>table.concat(list, sep)</c>: strings and numbers only.</summary>
    public static string Concat(IReadOnlyList<JsonNode?> list, string sep)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < list.Count; i++)
        {
            var item = list[i];
            string piece;
            if (IsString(item, out var s)) piece = s;
            else if (JsonScalars.TryGetNumber(item, out _)) piece = LuaText.ToLuaString(item);
            else
                throw new InvalidOperationException(
                    $"invalid value (at index {i + 1}) in table for 'concat'");
            if (i > 0) sb.Append(sep);
            sb.Append(piece);
        }
        return sb.ToString();
    }

    /// <summary>
    /// <c>core.json.decode(s, { null_as_nil = true })</c>: JSON nulls dropped from tables, a
    /// top-level null is nil (with no error). A non-string argument fails as cjson.safe does.
    /// </summary>
    public static (JsonNode? Value, string? Error) DecodeNullAsNil(JsonNode? text)
    {
        if (text is not JsonValue v || (v.GetValueKind() != JsonValueKind.String && v.GetValueKind() != JsonValueKind.Number))
            return (null, $"bad argument #1 to 'decode' (string expected, got {TypeName(text)})");
        return CJson.DecodeNullAsNil(LuaText.ToLuaString(text));
    }

    /// <summary><c>core.log.*(...)</c>: the parts joined as ngx.log joins them.</summary>
    public static void Log(ProtocolCtx? ctx, LogLevel level, params object?[] parts)
    {
        if (ctx?.Log == null) return;
        ctx.Log(level, Join(parts));
    }

    public static void Warn(ProtocolCtx? ctx, params object?[] parts) => Log(ctx, LogLevel.Warn, parts);

    private static string Join(object?[] parts)
    {
        var sb = new StringBuilder();
        foreach (var p in parts)
        {
            sb.Append(p switch
            {
                null => "nil",
                string s => s,
                JsonNode n => LuaText.ToLuaString(n),
                _ => p.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary><c>uuid.generate_v4()</c>.</summary>
    public static string UuidV4() => Guid.NewGuid().ToString("D");
}
