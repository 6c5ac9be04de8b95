using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>allOf, anyOf, oneOf, if/then/else, not.</summary>
internal sealed partial class SchemaValidator
{
    private bool CheckCombinators(JsonObject s, LuaValue v, out string? err)
    {
        if (Field(s, "allOf") is JsonArray allOf)
        {
            for (int i = 0; i < allOf.Count; i++)
            {
                string? e = Validate(allOf[i], v);
                if (e != null) return Fail($"allOf {i + 1} failed: {e}", out err);
            }
        }

        if (Field(s, "anyOf") is JsonArray anyOf)
        {
            // Branches run in order until one passes; earlier failing
            // branches may already have injected defaults.
            bool any = false;
            foreach (var branch in anyOf)
            {
                if (Validate(branch, v) == null)
                {
                    any = true;
                    break;
                }
            }
            if (!any) return Fail("object matches none of the required" + AnyOfRequiredHint(anyOf), out err);
        }

        if (Field(s, "oneOf") is JsonArray oneOf)
        {
            // Every branch runs (until a second match), each on the same value.
            int matched = 0;
            for (int i = 1; i <= oneOf.Count; i++)
            {
                if (Validate(oneOf[i - 1], v) != null) continue;
                if (matched != 0)
                    return Fail($"value should match only one schema, but matches both schemas {matched} and {i}", out err);
                matched = i;
            }
            if (matched == 0) return Fail("value should match only one schema, but matches none", out err);
        }

        JsonNode? ifSchema = Field(s, "if");
        if (LuaOps.Truthy(ifSchema))
        {
            bool matched = Validate(ifSchema, v) == null;
            JsonNode? thenSchema = Field(s, "then");
            if (LuaOps.Truthy(thenSchema) && matched && Validate(thenSchema, v) != null)
                return Fail("then clause did not match", out err);
            JsonNode? elseSchema = Field(s, "else");
            if (LuaOps.Truthy(elseSchema) && !matched && Validate(elseSchema, v) != null)
                return Fail("else clause did not match", out err);
        }

        JsonNode? notSchema = Field(s, "not");
        if (LuaOps.Truthy(notSchema) && Validate(notSchema, v) == null)
            return Fail("value wasn't supposed to match schema", out err);

        return Continue(out err);
    }

    /// <summary>
    /// ": [..] or [..]" built from the branches' "required" lists, encoded
    /// with core.json; empty when no branch lists any.
    /// </summary>
    private static string AnyOfRequiredHint(JsonArray anyOf)
    {
        var parts = new List<string>();
        foreach (var branch in anyOf)
        {
            if (branch is not JsonObject b || !b.TryGetPropertyValue("required", out var req) || !LuaOps.Truthy(req))
                continue;
            // A Lua-literal empty list is a plain empty table, which cjson writes as {}.
            if (req is JsonArray { Count: 0 })
            {
                parts.Add("{}");
                continue;
            }
            var (text, _) = CJson.TryEncode(req);
            if (text != null) parts.Add(text);
        }
        return parts.Count > 0 ? ": " + string.Join(" or ", parts) : "";
    }

    /// <summary>propertyNames (boolean forms only), format, const, contains.</summary>
    private bool CheckTail(JsonObject s, LuaValue v, out string? err)
    {
        JsonNode? propertyNames = Field(s, "propertyNames");
        if (LuaOps.IsTrue(propertyNames)) return Pass(out err);
        if (LuaOps.IsFalse(propertyNames))
        {
            if (v.IsTable && v.TableKind == 1) return Pass(out err);
            return Fail("expect false always", out err);
        }

        if (JsonScalars.TryGetString(Field(s, "format"), out string format) && SchemaFormats.IsKnown(format)
            && v.TryString(out string str) && !SchemaFormats.Matches(format, str))
        {
            return Fail($"expect valid {format} format but got: {str}", out err);
        }

        if (s.TryGetPropertyValue("const", out var constant))
        {
            // A null const is cjson.null: only JSON null equals it.
            if (!LuaOps.DeepEq(v, LuaValue.Of(constant))) return Fail("failed to check const value", out err);
        }

        if (s.TryGetPropertyValue("contains", out var contains) && contains != null)
        {
            if (LuaOps.IsTrue(contains))
            {
                if (v.IsTable && v.TableKind == 2) return Pass(out err);
                return Fail("check contains: expect array table", out err);
            }
            if (LuaOps.IsFalse(contains))
            {
                if (!v.IsTable) return Pass(out err);
                return Fail("check contains: expect table", out err);
            }
            if (v.IsTable && v.TableKind == 1) return Fail("check contains: empty array is invalid", out err);
            if (v.IsTable)
            {
                int misses = 0;
                for (int i = 1; i <= v.Length; i++)
                {
                    if (Validate(contains, v.Index(i)) != null) misses++;
                }
                if (v.Length > 0 && misses == v.Length) return Fail("failed to check contains", out err);
            }
        }
        return Continue(out err);
    }
}
