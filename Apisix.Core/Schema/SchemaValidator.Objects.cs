using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>properties, required, defaults, dependencies, patternProperties,
/// additionalProperties, min/maxProperties.</summary>
internal sealed partial class SchemaValidator
{
    private bool CheckObject(JsonObject s, LuaValue v, out string? err)
    {
        JsonNode? additional = Field(s, "additionalProperties");
        bool relevant = Has(s, "properties") || additional != null || Has(s, "patternProperties")
            || Has(s, "minProperties") || Has(s, "maxProperties") || Has(s, "dependencies") || Has(s, "required");
        if (!relevant) return Continue(out err);

        // Empty tables count as objects here too.
        if (v.IsTable && v.TableKind <= 1)
        {
            if (CheckObjectBody(s, v, additional, out err)) return true;
        }

        JsonNode? required = Field(s, "required");
        if (LuaOps.Truthy(required) && (required as JsonArray)?.Count is null or 0)
        {
            // "required: []" demands an empty table (non-tables fail too).
            if (v.TableKind != 1) return Fail("the input data should be an empty table", out err);
        }
        return Continue(out err);
    }

    private bool CheckObjectBody(JsonObject s, LuaValue v, JsonNode? additional, out string? err)
    {
        var properties = Field(s, "properties") as JsonObject;
        var dependencies = Field(s, "dependencies") as JsonObject;

        // Required names are checked while visiting properties; the others after.
        var requiredNames = new List<string>();
        if (Field(s, "required") is JsonArray req)
        {
            foreach (var r in req)
            {
                if (JsonScalars.TryGetString(r, out string name)) requiredNames.Add(name);
            }
        }
        var requiredSet = new HashSet<string>(requiredNames);
        bool needCount = Has(s, "minProperties") || Has(s, "maxProperties");

        if (properties != null)
        {
            // Lua walks these in hash order; the port uses declaration order.
            foreach (var (prop, subschema) in properties.ToList())
            {
                LuaValue propValue = v.Field(prop);
                if (!propValue.IsNil)
                {
                    string? e = Validate(subschema, propValue);
                    if (e != null) return Fail($"property \"{prop}\" validation failed: {e}", out err);

                    if (dependencies != null && dependencies.TryGetPropertyValue(prop, out var dep) && dep != null)
                    {
                        if (CheckDependency(prop, dep, v, out err)) return true;
                    }
                }
                else if (requiredSet.Contains(prop))
                {
                    return Fail($"property \"{prop}\" is required", out err);
                }
                requiredSet.Remove(prop);

                if (propValue.IsNil) InjectDefault(v, prop, subschema);
            }
        }

        foreach (string name in requiredNames)
        {
            if (requiredSet.Contains(name) && v.Field(name).IsNil)
                return Fail($"property \"{name}\" is required", out err);
        }

        if (dependencies != null)
        {
            foreach (var (prop, dep) in dependencies.ToList())
            {
                if (dep == null || (properties != null && properties.ContainsKey(prop))) continue;
                if (v.Field(prop).IsNil) continue;
                if (CheckDependency(prop, dep, v, out err)) return true;
            }
        }

        long propCount = 0;
        var patterns = Field(s, "patternProperties") as JsonObject;
        // additionalProperties other than true restricts the keys.
        bool restricted = additional != null && !LuaOps.IsTrue(additional);
        JsonNode? additionalSchema = additional is JsonObject or JsonArray ? additional : null;

        if (patterns != null || restricted)
        {
            foreach (var (key, value) in EnumerateTable(v))
            {
                bool matched = false;
                if (patterns != null)
                {
                    foreach (var (pattern, patternSchema) in patterns)
                    {
                        if (!PcrePattern.Find(key, pattern)) continue;
                        string? e = Validate(patternSchema, LuaValue.Of(value));
                        if (e != null)
                            return Fail($"failed to validate {key} (matching \"{pattern}\"): {e}", out err);
                        matched = true;
                    }
                }
                if (restricted && !matched && !(properties?.ContainsKey(key) ?? false))
                {
                    if (additionalSchema == null)
                        return Fail("additional properties forbidden, found " + key, out err);
                    string? e = Validate(additionalSchema, LuaValue.Of(value));
                    if (e != null)
                        return Fail($"failed to validate additional property {key}: {e}", out err);
                }
                propCount++;
            }
        }
        else if (needCount)
        {
            propCount = EnumerateTable(v).Count;
        }

        if (Number(s, "minProperties", out double min) && propCount < min)
            return Fail($"expect object to have at least {LuaOps.NumberToString(min)} properties", out err);
        if (Number(s, "maxProperties", out double max) && propCount > max)
            return Fail($"expect object to have at most {LuaOps.NumberToString(max)} properties", out err);

        return Continue(out err);
    }

    /// <summary>A list of names that must be present, or a schema the whole object must meet.</summary>
    private bool CheckDependency(string prop, JsonNode dep, LuaValue v, out string? err)
    {
        if (dep is JsonArray names && names.Count > 0)
        {
            foreach (var n in names)
            {
                JsonScalars.TryGetString(n, out string name);
                if (v.Field(name).IsNil)
                    return Fail($"property \"{name}\" is required when \"{prop}\" is set", out err);
            }
            return Continue(out err);
        }

        string? e = Validate(dep, v);
        if (e != null) return Fail($"failed to validate dependent schema for \"{prop}\": {e}", out err);
        return Continue(out err);
    }

    /// <summary>
    /// Writes a fresh copy of the property's default when the property is
    /// absent. Only number/string/boolean/table defaults count; the default
    /// itself is not validated.
    /// </summary>
    private static void InjectDefault(LuaValue v, string prop, JsonNode? subschema)
    {
        if (subschema is not JsonObject sub || !sub.TryGetPropertyValue("default", out var def) || def == null)
            return;
        if (def is JsonValue && JsonScalars.Kind(def) is System.Text.Json.JsonValueKind.Null)
            return;
        // An empty table value that is a JsonArray cannot take keys (see gaps).
        if (v.Node is JsonObject target) target[prop] = CJson.CloneNormalized(def);
    }

    /// <summary><c>pairs(t)</c> over an object; snapshot so validators may write to it.</summary>
    private static List<KeyValuePair<string, JsonNode?>> EnumerateTable(LuaValue v)
    {
        if (v.Node is JsonObject o) return o.ToList();
        return new List<KeyValuePair<string, JsonNode?>>();
    }
}
