using System.Text.Json.Nodes;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// The <c>metadata_schema</c> each batch-processing logger of APISIX declares (upstream repeats
/// it in every logger module): a <c>log_format</c> and the pending-entries bound.
/// </summary>
public static class LoggerMetadataSchema
{
    public static JsonObject Create() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["log_format"] = new JsonObject { ["type"] = "object" },
            ["max_pending_entries"] = new JsonObject
            {
                ["type"] = "integer",
                ["description"] = "maximum number of pending entries in the batch processor",
                ["minimum"] = 1,
            },
        },
    };
}
