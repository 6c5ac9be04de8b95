// Twin of apisix/plugins/limit-req.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins.Builtin.LimitCountImpl;
using Apisix.Core.Plugins.Builtin.LimitReqImpl;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// limit-req (priority 1001): a leaky bucket of <c>rate</c> requests per second per key, with
/// <c>burst</c> requests more that are delayed (unless <c>nodelay</c>) and the rest refused with
/// <c>rejected_code</c> (503). Only the <c>local</c> policy counts here (shared dict
/// <c>plugin-limit-req</c>); the redis policies pass the schema, but a request under them fails
/// with an error saying they are not ported (or passes with <c>allow_degradation</c>).
/// </summary>
public sealed class LimitReqPlugin : IPlugin, IAccessPhase
{
    private const string PluginName = "limit-req";

    private static JsonObject IfPolicy(string policy) => new()
    {
        ["properties"] = new JsonObject { ["policy"] = new JsonObject { ["enum"] = new JsonArray(policy) } },
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["rate"] = new JsonObject { ["type"] = "number", ["exclusiveMinimum"] = 0 },
            ["burst"] = new JsonObject { ["type"] = "number", ["minimum"] = 0 },
            ["key"] = new JsonObject { ["type"] = "string" },
            ["key_type"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("var", "var_combination"), ["default"] = "var" },
            ["policy"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("redis", "redis-cluster", "local"), ["default"] = "local" },
            ["rejected_code"] = new JsonObject { ["type"] = "integer", ["minimum"] = 200, ["maximum"] = 599, ["default"] = 503 },
            ["rejected_msg"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["nodelay"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["allow_degradation"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
        },
        ["required"] = new JsonArray("rate", "burst", "key"),
        ["if"] = IfPolicy("redis"),
        // apisix.utils.redis-schema: its tables carry limit-conn's key_ttl too (it adds it in place)
        ["then"] = LimitCountInit.PolicyProperties("redis"),
        ["else"] = new JsonObject
        {
            ["if"] = IfPolicy("redis-cluster"),
            ["then"] = LimitCountInit.PolicyProperties("redis-cluster"),
        },
    };

    public string Name => PluginName;
    public int Priority => 1001;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    private static bool Flag(JsonObject conf, string name) => JsonScalars.TryGetBoolean(conf[name], out var b) && b;

    private static string? Str(JsonObject conf, string name) => JsonScalars.TryGetString(conf[name], out var s) ? s : null;

    /// <summary><c>create_limit_obj</c>: the local bucket, or the reason none could be made.</summary>
    private static (RestyLimitReq? Lim, string? Error) CreateLimitObj(JsonObject conf, ApiCtx ctx)
    {
        var policy = Str(conf, "policy") ?? "local";
        switch (policy)
        {
            case "local":
                ctx.Log(LogLevel.Info, "create new limit-req plugin instance");
                if (!ctx.Request.Nginx.SharedDicts.TryGetValue("plugin-limit-req", out var dict)) return (null, "shared dict not found");
                JsonScalars.TryGetNumber(conf["rate"], out var rate);
                JsonScalars.TryGetNumber(conf["burst"], out var burst);
                return (new RestyLimitReq(dict, rate, burst), null);
            case "redis" or "redis-cluster":
                return (null, "the " + policy + " policy of limit-req is not ported");
            default:
                return (null, "policy enum not match");
        }
    }

    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var (lim, err) = CreateLimitObj(conf, ctx);
        if (lim == null)
        {
            ctx.Log(LogLevel.Error, "failed to instantiate a resty.limit.req object: " + err);
            return Flag(conf, "allow_degradation") ? PhaseResult.Continue : new PhaseResult(500);
        }

        var confKey = Str(conf, "key") ?? "";
        string? key;
        if (Str(conf, "key_type") == "var_combination")
        {
            var (resolved, n) = CoreUtils.ResolveVar(confKey, ctx.Var.GetString);
            key = n == 0 ? null : resolved;
        }
        else key = ctx.Var.GetString(confKey);

        if (key == null)
        {
            ctx.Log(LogLevel.Info, "The value of the configured key is empty, use client IP instead");
            key = ctx.Var.GetString("remote_addr") ?? "";
        }

        // gen_limit_key: the conf's parent resource and version in front of the key
        var parent = PluginMeta.ParentOf(ctx, conf);
        if (parent == null)
        {
            ctx.Log(LogLevel.Error, "failed to generate key invalid parent: null");
            return new PhaseResult(500);
        }
        key = parent + ":" + PluginMeta.ConfVersion(conf) + ":" + key;
        ctx.Log(LogLevel.Info, "limit key: " + key);

        var (delay, _, limErr) = lim.Incoming(key, true);
        if (delay == null)
        {
            if (limErr == "rejected")
            {
                var code = JsonScalars.TryGetNumber(conf["rejected_code"], out var c) ? (int)c : 503;
                if (Str(conf, "rejected_msg") is { } msg) return new PhaseResult(code, new JsonObject { ["error_msg"] = msg });
                return new PhaseResult(code);
            }
            ctx.Log(LogLevel.Error, "failed to limit req: " + limErr);
            return Flag(conf, "allow_degradation") ? PhaseResult.Continue : new PhaseResult(500);
        }

        if (delay >= 0.001 && !Flag(conf, "nodelay")) await Task.Delay(TimeSpan.FromSeconds(delay.Value));
        return PhaseResult.Continue;
    }
}
