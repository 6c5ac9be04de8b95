// Twin of apisix/plugins/syslog.lua (its schema and check_schema only; apisix/plugins/syslog/init.lua is not ported)
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// syslog (priority 401): only the configuration side is ported, the schema (with the batch
/// processor's fields, <c>name</c> defaulting to "sys logger") and the metadata schema, so the
/// admin API and the standalone loader accept and refuse the same confs as APISIX. Sending log
/// entries to a syslog server is not ported: the log phase writes an error line saying so
/// instead of dropping the entry silently.
/// </summary>
public sealed class SyslogPlugin : IPlugin, ILogPhase
{
    private static JsonObject Int(long? min, long def)
    {
        var o = new JsonObject { ["type"] = "integer" };
        if (min != null) o["minimum"] = min.Value;
        o["default"] = def;
        return o;
    }

    private static JsonObject ExprArray() => new()
    {
        ["type"] = "array", ["minItems"] = 1, ["items"] = new JsonObject { ["type"] = "array" },
    };

    private readonly JsonObject _schema = BatchProcessorSchema.WrapSchema(new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["host"] = new JsonObject { ["type"] = "string" },
            ["port"] = new JsonObject { ["type"] = "integer" },
            ["flush_limit"] = Int(1, 4096),
            ["drop_limit"] = Int(null, 1048576),
            ["timeout"] = Int(1, 3000),
            ["sock_type"] = new JsonObject { ["type"] = "string", ["default"] = "tcp", ["enum"] = new JsonArray("tcp", "udp") },
            ["pool_size"] = Int(5, 5),
            ["tls"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["log_format"] = new JsonObject { ["type"] = "object" },
            ["include_req_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_req_body_expr"] = ExprArray(),
            ["include_resp_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_resp_body_expr"] = ExprArray(),
            ["max_req_body_bytes"] = Int(1, 524288),
            ["max_resp_body_bytes"] = Int(1, 524288),
        },
        ["required"] = new JsonArray("host", "port"),
    }, "sys logger");

    private readonly JsonObject _metadataSchema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["log_format"] = new JsonObject { ["type"] = "object" } },
    };

    public string Name => "syslog";
    public int Priority => 401;
    public double Version => 0.1;
    public JsonNode Schema => _schema;
    public JsonNode? MetadataSchema => _metadataSchema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        JsonSchema.Check(type == SchemaType.Metadata ? _metadataSchema : _schema, conf);

    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Error, "syslog: sending log entries is not ported, entry dropped");
        return ValueTask.CompletedTask;
    }
}
