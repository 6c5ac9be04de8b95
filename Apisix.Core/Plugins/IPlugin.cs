using System.Text.Json.Nodes;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins;

/// <summary>
/// Which of a plugin's schemas a configuration is checked against
/// (<c>core.schema.TYPE_*</c>; the plain plugin conf has no type in Lua).
/// </summary>
public enum SchemaType
{
    /// <summary>A plugin conf on a route, service, global rule, plugin config...</summary>
    Plugin = 0,
    /// <summary><c>TYPE_CONSUMER</c>: a plugin conf on a consumer or credential.</summary>
    Consumer = 1,
    /// <summary><c>TYPE_METADATA</c>: the plugin's <c>plugin_metadata</c> entry.</summary>
    Metadata = 2,
}

/// <summary>
/// The metadata and schema side of an APISIX plugin module: what
/// <c>apisix/plugin.lua</c> reads from a plugin table when it loads it and
/// when the admin API checks a configuration. Phase handlers are not part of
/// this interface.
///
/// <see cref="Schema"/> (and the other schemas) must return the same object
/// on every call: the registry injects the <c>_meta</c> property into it once
/// when the plugin is loaded, as APISIX does with the module's table, and the
/// validator caches its work per schema object. A schema may carry an
/// <c>encrypt_fields</c> array of dotted paths, read by data encryption.
/// </summary>
public interface IPlugin
{
    /// <summary>The plugin name (<c>ai-proxy</c>), which is its key in a <c>plugins</c> object.</summary>
    string Name { get; }

    /// <summary>Higher runs first; plugins are sorted by it, descending.</summary>
    int Priority { get; }

    /// <summary>The module's <c>version</c> field (a Lua number such as 0.1).</summary>
    double Version { get; }

    /// <summary>The conf schema (<c>_M.schema</c>).</summary>
    JsonNode Schema { get; }

    /// <summary><c>_M.consumer_schema</c>, when the plugin has one.</summary>
    JsonNode? ConsumerSchema => null;

    /// <summary><c>_M.metadata_schema</c>, when the plugin has one.</summary>
    JsonNode? MetadataSchema => null;

    /// <summary><c>_M.type</c> (for example "auth"), when set.</summary>
    string? Type => null;

    /// <summary><c>_M.scope</c> ("global" for plugins that only run as global rules), when set.</summary>
    string? Scope => null;
    /// <summary><c>_M.run_policy</c>: "prefer_route" skips a global rule's conf when the route has its own.</summary>
    string? RunPolicy => null;

    /// <summary>
    /// <c>_M.check_schema(conf, schema_type)</c>. Writes schema defaults into
    /// <paramref name="conf"/>. The default checks the schema that matches
    /// <paramref name="type"/>; override it for plugins with extra rules.
    /// </summary>
    (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        PluginSchemas.DefaultCheck(this, conf, type);
}

/// <summary>Helpers shared by plugin schema checks.</summary>
public static class PluginSchemas
{
    /// <summary>
    /// What most APISIX plugins do in <c>check_schema</c>: the metadata schema
    /// for metadata, the consumer schema (when there is one) for consumers, the
    /// plain schema otherwise.
    /// </summary>
    public static (bool Ok, string? Error) DefaultCheck(IPlugin plugin, JsonNode conf, SchemaType type)
    {
        JsonNode? schema = type switch
        {
            SchemaType.Metadata => plugin.MetadataSchema,
            SchemaType.Consumer => plugin.ConsumerSchema ?? plugin.Schema,
            _ => plugin.Schema,
        };
        // A plugin without a metadata schema accepts any object as metadata.
        schema ??= new JsonObject { ["type"] = "object" };
        return JsonSchema.Check(schema, conf);
    }

    /// <summary>The mark APISIX leaves in a plugin schema once <c>_meta</c> has been injected.</summary>
    public const string InjectedComment = "this is a mark for our injected plugin schema";

    /// <summary>
    /// <c>schema_def.plugin_injected_schema._meta</c>: the settings every plugin
    /// conf may carry under <c>_meta</c>. A fresh tree on each call.
    /// </summary>
    public static JsonObject InjectedMeta() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["disable"] = new JsonObject { ["type"] = "boolean" },
            ["error_response"] = new JsonObject
            {
                ["oneOf"] = new JsonArray(
                    new JsonObject { ["type"] = "string" },
                    new JsonObject { ["type"] = "object" }),
            },
            ["priority"] = new JsonObject
            {
                ["description"] = "priority of plugins by customized order",
                ["type"] = "integer",
            },
            ["filter"] = new JsonObject
            {
                ["description"] = "filter determines whether the plugin needs to be executed at runtime",
                ["type"] = "array",
            },
            ["pre_function"] = new JsonObject
            {
                ["description"] = "function to be executed in each phase before execution of plugins. "
                                  + "The pre_function will have access to two arguments: `conf` and `ctx`.",
                ["type"] = "string",
            },
        },
        ["additionalProperties"] = false,
    };

    /// <summary>
    /// Adds <c>_meta</c> to a plugin schema the way <c>load_plugin</c> does.
    /// Returns an error when the schema is not an object or already declares
    /// its own <c>_meta</c>; does nothing when the mark is already there.
    /// </summary>
    public static string? InjectMeta(JsonNode schema)
    {
        if (schema is not JsonObject obj) return "schema field";
        if (obj["$comment"] is JsonValue c && c.TryGetValue(out string? mark) && mark == InjectedComment)
            return null;

        if (obj["properties"] is not JsonObject properties)
        {
            properties = new JsonObject();
            obj["properties"] = properties;
        }

        if (properties.ContainsKey("_meta")) return "found forbidden '_meta' field in the schema";

        properties["_meta"] = InjectedMeta();
        obj["$comment"] = InjectedComment;
        return null;
    }
}
