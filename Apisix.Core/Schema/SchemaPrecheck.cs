using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>
/// The library turns the whole schema into code before validating anything,
/// so a broken keyword anywhere (an unknown type name, a dangling $ref, a
/// null in an enum) fails every check even when the data never reaches it.
/// This walk finds those errors up front, visiting subschemas in roughly the
/// order the generator does.
/// </summary>
internal sealed class SchemaPrecheck
{
    private readonly JsonNode _root;
    private readonly HashSet<JsonNode> _visited = new(ReferenceEqualityComparer.Instance);

    private SchemaPrecheck(JsonNode root) => _root = root;

    /// <summary>Null when the schema compiles, else the generator's message.</summary>
    public static string? Run(JsonNode root)
    {
        try
        {
            new SchemaPrecheck(root).Visit(root);
            return null;
        }
        catch (SchemaGenerationException e)
        {
            return e.Message;
        }
    }

    private void Visit(JsonNode? raw)
    {
        JsonNode? schema = SchemaRefs.Resolve(_root, raw);
        if (schema == null || !_visited.Add(schema)) return;
        if (schema is JsonValue)
        {
            if (JsonScalars.TryGetBoolean(schema, out _)) return;
            throw new SchemaGenerationException($"attempt to index a {LuaValue.Of(schema).TypeName} value");
        }
        if (schema is not JsonObject s) return;

        CheckTypeKeyword(s);

        if (s["properties"] is JsonObject props)
        {
            foreach (var (_, sub) in props) Visit(sub);
        }
        if (s["dependencies"] is JsonObject deps)
        {
            foreach (var (_, dep) in deps)
            {
                if (dep is not JsonArray { Count: > 0 }) Visit(dep);
            }
        }
        if (s["additionalProperties"] is JsonObject additional) Visit(additional);
        if (s["patternProperties"] is JsonObject patterns)
        {
            foreach (var (_, sub) in patterns) Visit(sub);
        }

        switch (s["items"])
        {
            case JsonArray { Count: > 0 } tuple:
                foreach (var sub in tuple) Visit(sub);
                if (s["additionalItems"] is JsonObject additionalItems) Visit(additionalItems);
                break;
            case JsonObject list:
                Visit(list);
                break;
        }

        if (s["enum"] is JsonArray values)
        {
            foreach (var value in values)
            {
                if (value == null || JsonScalars.Kind(value) == System.Text.Json.JsonValueKind.Null)
                    throw new SchemaGenerationException("unsupported enum type: userdata");
            }
        }

        foreach (string key in new[] { "allOf", "anyOf", "oneOf" })
        {
            if (s[key] is JsonArray branches)
            {
                foreach (var sub in branches) Visit(sub);
            }
        }
        foreach (string key in new[] { "if", "then", "else", "not", "contains" })
        {
            if (s[key] is JsonObject sub) Visit(sub);
        }
    }

    private static void CheckTypeKeyword(JsonObject s)
    {
        JsonNode? type = s["type"];
        if (type == null) return;
        if (JsonScalars.TryGetString(type, out string name))
        {
            SchemaValidator.TypeMatches(name, LuaValue.Nil);
            return;
        }
        if (type is JsonArray names)
        {
            foreach (var n in names)
            {
                if (!JsonScalars.TryGetString(n, out string each))
                    throw new SchemaGenerationException("invalid JSON type: " + LuaValue.Of(n).TypeName);
                SchemaValidator.TypeMatches(each, LuaValue.Nil);
            }
            return;
        }
        throw new SchemaGenerationException("invalid \"type\" type: got " + LuaValue.Of(type).TypeName);
    }
}
