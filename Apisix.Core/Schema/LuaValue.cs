using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>
/// A value as the Lua validator sees it. Lua tells apart "absent" (nil) and
/// JSON null (cjson.null, a userdata), while JsonNode uses C# null for both,
/// so the absent case is carried explicitly.
/// </summary>
internal readonly struct LuaValue
{
    public readonly JsonNode? Node;
    public readonly bool IsNil;

    private LuaValue(JsonNode? node, bool isNil)
    {
        Node = node;
        IsNil = isNil;
    }

    public static LuaValue Nil => new(null, true);

    /// <summary>A present value; C# null here is JSON null.</summary>
    public static LuaValue Of(JsonNode? node) => new(node, false);

    /// <summary>What Lua's <c>type()</c> returns for this value.</summary>
    public string TypeName
    {
        get
        {
            if (IsNil) return "nil";
            return Node switch
            {
                null => "userdata",
                JsonObject or JsonArray => "table",
                _ => JsonScalars.Kind(Node) switch
                {
                    JsonValueKind.String => "string",
                    JsonValueKind.Number => "number",
                    JsonValueKind.True or JsonValueKind.False => "boolean",
                    JsonValueKind.Object or JsonValueKind.Array => "table",
                    _ => "userdata",
                },
            };
        }
    }

    public bool IsTable => Node is JsonObject or JsonArray;

    public bool IsJsonNull => !IsNil && (Node == null || JsonScalars.Kind(Node) == JsonValueKind.Null);

    /// <summary>
    /// The library's table kind: 0 object, 1 empty (could be either), 2 array;
    /// null when the value is not a table.
    /// </summary>
    public int? TableKind => Node switch
    {
        JsonObject o => o.Count == 0 ? 1 : 0,
        JsonArray a => a.Count == 0 ? 1 : 2,
        _ => null,
    };

    /// <summary><c>t[key]</c> for a string key.</summary>
    public LuaValue Field(string key)
    {
        if (Node is JsonObject o && o.TryGetPropertyValue(key, out var v)) return Of(v);
        return Nil;
    }

    /// <summary><c>t[i]</c> for a 1-based integer key.</summary>
    public LuaValue Index(int i)
    {
        if (Node is JsonArray a && i >= 1 && i <= a.Count) return Of(a[i - 1]);
        return Nil;
    }

    /// <summary><c>#t</c>: only arrays have integer keys.</summary>
    public int Length => Node is JsonArray a ? a.Count : 0;

    public bool TryNumber(out double d) => JsonScalars.TryGetNumber(Node, out d);

    public bool TryString(out string s) => JsonScalars.TryGetString(Node, out s);

    public bool TryBoolean(out bool b) => JsonScalars.TryGetBoolean(Node, out b);
}
