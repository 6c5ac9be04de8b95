using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>items (list or tuple), additionalItems, min/maxItems, uniqueItems.</summary>
internal sealed partial class SchemaValidator
{
    private bool CheckArray(JsonObject s, LuaValue v, out string? err)
    {
        JsonNode? items = Field(s, "items");
        bool relevant = items != null || Has(s, "minItems") || Has(s, "maxItems") || Has(s, "uniqueItems");
        if (!relevant) return Continue(out err);

        // Boolean "items" settles the whole validation right here.
        if (LuaOps.IsTrue(items)) return Pass(out err);
        if (LuaOps.IsFalse(items))
        {
            if (v.IsTable && v.TableKind == 1) return Pass(out err);
            return Fail("expect false always", out err);
        }

        if (!(v.IsTable && v.TableKind >= 1)) return Continue(out err);

        int count = v.Length;
        if (Number(s, "minItems", out double minItems) && count < minItems)
            return Fail($"expect array to have at least {LuaOps.NumberToString(minItems)} items", out err);
        if (Number(s, "maxItems", out double maxItems) && count > maxItems)
            return Fail($"expect array to have at most {LuaOps.NumberToString(maxItems)} items", out err);

        if (items is JsonArray tuple && tuple.Count > 0)
        {
            if (CheckTuple(s, tuple, v, out err)) return true;
        }
        else if (LuaOps.Truthy(items))
        {
            for (int i = 1; i <= count; i++)
            {
                string? e = Validate(items, v.Index(i));
                if (e != null) return Fail($"failed to validate item {i}: {e}", out err);
            }
        }

        if (Has(s, "uniqueItems"))
        {
            var (unique, first, second) = UniqueItems(v);
            if (!unique) return Fail($"expected unique items but items {first} and {second} are equal", out err);
        }
        return Continue(out err);
    }

    private bool CheckTuple(JsonObject s, JsonArray tuple, LuaValue v, out string? err)
    {
        for (int i = 1; i <= tuple.Count; i++)
        {
            LuaValue item = v.Index(i);
            // A shorter array is fine, and then extra items are not looked at.
            if (item.IsNil) return Continue(out err);
            string? e = Validate(tuple[i - 1], item);
            if (e != null) return Fail($"failed to validate item {i}: {e}", out err);
        }

        JsonNode? additional = Field(s, "additionalItems");
        if (LuaOps.IsFalse(additional))
        {
            if (!v.Index(tuple.Count + 1).IsNil) return Fail("found unexpected extra items in array", out err);
        }
        else if (additional is JsonObject or JsonArray)
        {
            for (int i = tuple.Count + 1; i <= v.Length; i++)
            {
                string? e = Validate(additional, v.Index(i));
                if (e != null) return Fail($"failed to validate additional item {i}: {e}", out err);
            }
        }
        return Continue(out err);
    }

    /// <summary>
    /// Scalars are compared by value first (reporting the first repeat);
    /// then tables pairwise with deep equality. Indices are 1-based.
    /// </summary>
    private static (bool Unique, int First, int Second) UniqueItems(LuaValue v)
    {
        var seen = new Dictionary<(string Type, string Key), int>();
        var tables = new List<(int Index, JsonNode Node)>();
        for (int i = 1; i <= v.Length; i++)
        {
            LuaValue item = v.Index(i);
            if (item.IsTable)
            {
                tables.Add((i, item.Node!));
                continue;
            }
            var key = ScalarKey(item);
            if (seen.TryGetValue(key, out int first)) return (false, first, i);
            seen[key] = i;
        }

        for (int a = 0; a < tables.Count - 1; a++)
        {
            for (int b = a + 1; b < tables.Count; b++)
            {
                if (LuaOps.DeepEq(LuaValue.Of(tables[a].Node), LuaValue.Of(tables[b].Node)))
                    return (false, tables[a].Index, tables[b].Index);
            }
        }
        return (true, 0, 0);
    }

    private static (string, string) ScalarKey(LuaValue item)
    {
        string type = item.TypeName;
        if (item.TryNumber(out double d)) return (type, d.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        if (item.TryString(out string str)) return (type, ByteString.Normalize(str));
        if (item.TryBoolean(out bool b)) return (type, b ? "true" : "false");
        return (type, "");
    }
}
