using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>
/// <c>$ref</c> resolution for references inside the schema itself
/// ("#", "#/definitions/x", "#/properties/a/items/0"). A schema node with
/// <c>$ref</c> is replaced by its target; sibling keywords are ignored, as in
/// the library. Other documents would need an external resolver, which
/// APISIX does not configure.
/// </summary>
internal static class SchemaRefs
{
    public static JsonNode? Resolve(JsonNode root, JsonNode? schema)
    {
        int hops = 0;
        while (schema is JsonObject obj && obj.TryGetPropertyValue("$ref", out var refNode)
               && JsonScalars.TryGetString(refNode, out string reference))
        {
            if (++hops > 100)
                throw new SchemaGenerationException("reference loop at " + reference);

            int hash = reference.IndexOf('#');
            string location = hash < 0 ? reference : reference.Substring(0, hash);
            if (location.Length > 0 && location != "root:")
                throw new SchemaGenerationException("an external resolver is required to fetch " + location);
            if (hash < 0) return root;

            string fragment = reference.Substring(hash + 1);
            JsonNode? target = root;
            foreach (string rawPart in fragment.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                string part = Unescape(rawPart);
                JsonNode? next = null;
                bool found = false;
                if (target is JsonArray arr && int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int idx))
                {
                    found = idx >= 0 && idx < arr.Count && arr[idx] != null;
                    if (found) next = arr[idx];
                }
                else if (target is JsonObject o && o.TryGetPropertyValue(part, out var child) && child != null)
                {
                    found = true;
                    next = child;
                }
                if (!found)
                    throw new SchemaGenerationException(
                        $"reference not found: root:#{fragment} (at {LuaOps.Quote(part)})");
                target = next;
            }
            schema = target;
        }
        return schema;
    }

    private static string Unescape(string part)
    {
        string s = Regex.Replace(part, "%([0-9A-Fa-f]{2})",
            m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());
        return s.Replace("~0", "~").Replace("~1", "/");
    }
}

/// <summary>
/// A schema the library would refuse while generating its validator; APISIX
/// reports the message as the check's error.
/// </summary>
internal sealed class SchemaGenerationException : Exception
{
    public SchemaGenerationException(string message) : base(message) { }
}
