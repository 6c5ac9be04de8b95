// Twin of the schema parts of apisix/utils/batch-processor.lua and batch-processor-manager.lua (wrap_schema)
using System.Text.Json.Nodes;

namespace Apisix.Core.Utils;

/// <summary>
/// The batch processor's own conf fields, as every logger built on the batch processor manager
/// adds them to its schema: <see cref="WrapSchema"/> appends the ones the plugin does not define
/// itself, after the plugin's own properties, and makes <c>name</c> default to the manager's name.
/// </summary>
public static class BatchProcessorSchema
{
    private static JsonObject Int(long min, long def) => new() { ["type"] = "integer", ["minimum"] = min, ["default"] = def };

    /// <summary>batch-processor.lua's properties, in its order (a fresh copy each call).</summary>
    public static JsonObject Properties() => new()
    {
        ["name"] = new JsonObject { ["type"] = "string", ["default"] = "log buffer" },
        ["max_retry_count"] = Int(0, 0),
        ["retry_delay"] = Int(0, 1),
        ["buffer_duration"] = Int(1, 60),
        ["inactive_timeout"] = Int(1, 5),
        ["batch_max_size"] = Int(1, 1000),
    };

    /// <summary>
    /// wrap_schema: add the batch processor's properties the plugin's schema lacks (a property
    /// the plugin defines is kept as it is), then set <c>name</c>'s default to <paramref name="managerName"/>.
    /// </summary>
    public static JsonObject WrapSchema(JsonObject schema, string managerName)
    {
        var properties = (JsonObject)schema["properties"]!;
        foreach (var (key, value) in Properties().ToList())
            if (!properties.ContainsKey(key))
                properties[key] = value!.DeepClone();
        properties["name"]!["default"] = managerName;
        return schema;
    }
}
