// Twin of apisix/plugins/limit-conn.lua
using System.Text.Json.Nodes;
using Apisix.Core.Plugins.Builtin.LimitConnImpl;
using Apisix.Core.Plugins.Builtin.LimitCountImpl;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// limit-conn (priority 1003): at most <c>conn</c> requests in flight per key, <c>burst</c> more
/// delayed by <c>default_conn_delay</c> steps, the rest refused with <c>rejected_code</c> (503).
/// Counted in on access and out on log (<see cref="LimitConnInit"/>). Not ported: the workflow
/// plugin's handler and the stream subsystem.
/// </summary>
public sealed class LimitConnPlugin : IPlugin, IAccessPhase, ILogPhase
{
    private static JsonObject IntOrString(string bound, int min) => new()
    {
        ["oneOf"] = new JsonArray(
            new JsonObject { ["type"] = "integer", [bound] = min },
            new JsonObject { ["type"] = "string" }),
    };

    private static JsonObject IfPolicy(string policy) => new()
    {
        ["properties"] = new JsonObject { ["policy"] = new JsonObject { ["enum"] = new JsonArray(policy) } },
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["conn"] = IntOrString("exclusiveMinimum", 0),
            ["burst"] = IntOrString("minimum", 0),
            ["default_conn_delay"] = new JsonObject { ["type"] = "number", ["exclusiveMinimum"] = 0 },
            ["only_use_default_delay"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["key"] = new JsonObject { ["type"] = "string" },
            ["key_type"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("var", "var_combination"), ["default"] = "var" },
            ["policy"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("redis", "redis-cluster", "local"), ["default"] = "local" },
            ["rejected_code"] = new JsonObject { ["type"] = "integer", ["minimum"] = 200, ["maximum"] = 599, ["default"] = 503 },
            ["rejected_msg"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["allow_degradation"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["rules"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["conn"] = IntOrString("exclusiveMinimum", 0),
                        ["burst"] = IntOrString("minimum", 0),
                        ["key"] = new JsonObject { ["type"] = "string" },
                    },
                    ["required"] = new JsonArray("conn", "burst", "key"),
                },
            },
        },
        ["oneOf"] = new JsonArray(
            new JsonObject { ["required"] = new JsonArray("conn", "burst", "default_conn_delay", "key") },
            new JsonObject { ["required"] = new JsonArray("default_conn_delay", "rules") }),
        ["if"] = IfPolicy("redis"),
        ["then"] = LimitCountInit.PolicyProperties("redis"),
        ["else"] = new JsonObject
        {
            ["if"] = IfPolicy("redis-cluster"),
            ["then"] = LimitCountInit.PolicyProperties("redis-cluster"),
        },
    };

    public string Name => "limit-conn";
    public int Priority => 1003;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx) => LimitConnInit.IncreaseAsync(conf, ctx);

    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        LimitConnInit.Decrease(conf, ctx);
        return ValueTask.CompletedTask;
    }
}
