// Twin of apisix/plugins/ai-rate-limiting.lua
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin.LimitCountImpl;
using Apisix.Core.Schema;
using Apisix.Plugins.AiProxy.AiProxy;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-rate-limiting (priority 1030): limits the LLM tokens an AI instance (picked by ai-proxy or
/// ai-proxy-multi) may use per time window, on limit-count's engine (<see cref="LimitCountInit"/>,
/// local policy, constant key). The access phase only checks (a dry run of one token); the log
/// phase commits the tokens the response used, as ai-proxy counted them (<c>ai_token_usage</c>),
/// or the value of <c>cost_expr</c> over the provider's raw usage fields. ai-proxy-multi asks
/// <see cref="CheckInstanceStatus"/> before it picks an instance when its fallback strategy says
/// so. Headers are <c>X-AI-RateLimit-{Limit,Remaining,Reset}-INSTANCE</c> (or limit-count's rule
/// headers with <c>rules</c>).
/// </summary>
public sealed class AiRateLimitingPlugin : IPlugin, IAccessPhase, ILogPhase
{
    public const string PluginName = "ai-rate-limiting";

    public string Name => PluginName;
    public int Priority => 1030;
    public double Version => 0.1;
    public JsonNode Schema { get; } = BuildSchema();

    private static JsonObject IntOrString(string bound, int min) => new()
    {
        ["oneOf"] = new JsonArray(
            new JsonObject { ["type"] = "integer", [bound] = min },
            new JsonObject { ["type"] = "string" }),
    };

    private static JsonObject BuildSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["limit"] = IntOrString("exclusiveMinimum", 0),
            ["time_window"] = IntOrString("exclusiveMinimum", 0),
            ["show_limit_quota_header"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["limit_strategy"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("total_tokens", "prompt_tokens", "completion_tokens", "expression"),
                ["default"] = "total_tokens",
                ["description"] = "The strategy to limit the tokens",
            },
            ["cost_expr"] = new JsonObject
            {
                ["type"] = "string", ["minLength"] = 1,
                ["description"] = "arithmetic over the provider's raw usage fields (a missing one is 0), "
                                  + "used when limit_strategy is 'expression'",
            },
            ["instances"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["name"] = new JsonObject { ["type"] = "string" },
                        ["limit"] = IntOrString("minimum", 1),
                        ["time_window"] = IntOrString("minimum", 1),
                    },
                    ["required"] = new JsonArray("name", "limit", "time_window"),
                },
                ["minItems"] = 1,
            },
            ["rejected_code"] = new JsonObject { ["type"] = "integer", ["minimum"] = 200, ["maximum"] = 599, ["default"] = 503 },
            ["rejected_msg"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["rules"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["count"] = IntOrString("exclusiveMinimum", 0),
                        ["time_window"] = IntOrString("exclusiveMinimum", 0),
                        ["key"] = new JsonObject { ["type"] = "string" },
                        ["header_prefix"] = new JsonObject { ["type"] = "string", ["description"] = "prefix for rate limit headers" },
                    },
                    ["required"] = new JsonArray("count", "time_window", "key"),
                },
            },
        },
        ["dependencies"] = new JsonObject
        {
            ["limit"] = new JsonArray("time_window"),
            ["time_window"] = new JsonArray("limit"),
        },
        ["oneOf"] = new JsonArray(
            new JsonObject
            {
                ["anyOf"] = new JsonArray(
                    new JsonObject { ["required"] = new JsonArray("limit", "time_window") },
                    new JsonObject { ["required"] = new JsonArray("instances") }),
            },
            new JsonObject { ["required"] = new JsonArray("rules") }),
    };

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(Schema, conf);
        if (!ok) return (false, err);
        if (Str(conf["limit_strategy"]) == "expression")
        {
            var expr = Str(conf["cost_expr"]);
            if (string.IsNullOrEmpty(expr)) return (false, "cost_expr is required when limit_strategy is 'expression'");
            var (_, compileErr) = CostExpr.Compile(expr);
            if (compileErr != null) return (false, "invalid cost_expr: " + compileErr);
        }
        return (true, null);
    }

    /// <summary><c>transform_limit_conf</c>: the limit-count conf for one instance (or for the rules).</summary>
    private static JsonObject TransformLimitConf(JsonObject pluginConf, JsonObject? instanceConf, string? instanceName)
    {
        var limitConf = new JsonObject
        {
            ["rejected_code"] = pluginConf["rejected_code"]?.DeepClone(),
            ["rejected_msg"] = pluginConf["rejected_msg"]?.DeepClone(),
            ["show_limit_quota_header"] = pluginConf["show_limit_quota_header"]?.DeepClone(),
            ["policy"] = "local",
            ["key_type"] = "constant",
            ["allow_degradation"] = false,
            ["sync_interval"] = -1,
            ["limit_header"] = "X-AI-RateLimit-Limit",
            ["remaining_header"] = "X-AI-RateLimit-Remaining",
            ["reset_header"] = "X-AI-RateLimit-Reset",
        };
        if (pluginConf["rules"] is JsonArray { Count: > 0 } rules)
        {
            limitConf["rules"] = rules.DeepClone();
            limitConf["_meta"] = pluginConf["_meta"]?.DeepClone();
            return limitConf;
        }
        var key = PluginName + "#global";
        var limit = pluginConf["limit"];
        var timeWindow = pluginConf["time_window"];
        var name = instanceName ?? "";
        if (instanceConf != null)
        {
            name = Str(instanceConf["name"]) ?? "";
            key = name;
            limit = instanceConf["limit"];
            timeWindow = instanceConf["time_window"];
        }
        limitConf["_vid"] = key;
        limitConf["key"] = key;
        limitConf["_meta"] = pluginConf["_meta"]?.DeepClone();
        limitConf["count"] = limit?.DeepClone();
        limitConf["time_window"] = timeWindow?.DeepClone();
        limitConf["limit_header"] = "X-AI-RateLimit-Limit-" + name;
        limitConf["remaining_header"] = "X-AI-RateLimit-Remaining-" + name;
        limitConf["reset_header"] = "X-AI-RateLimit-Reset-" + name;
        return limitConf;
    }

    // limit_conf_cache: per plugin conf, the limit conf of each instance (made on first ask)
    private static readonly ConditionalWeakTable<JsonObject, Dictionary<string, JsonObject?>> LimitConfCache = new();

    /// <summary><c>fetch_limit_conf_kvs(conf)[name]</c>: the instance's own limit, else the plugin-wide one, else none.</summary>
    private static JsonObject? LimitConfFor(JsonObject conf, string instanceName)
    {
        var kvs = LimitConfCache.GetValue(conf, c =>
        {
            var d = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
            foreach (var inst in c["instances"] as JsonArray ?? [])
                if (inst is JsonObject o && Str(o["name"]) is { } n) d[n] = TransformLimitConf(c, o, null);
            return d;
        });
        lock (kvs)
        {
            if (kvs.TryGetValue(instanceName, out var hit)) return hit;
            if (conf["limit"] == null) return null;
            var made = TransformLimitConf(conf, null, instanceName);
            kvs[instanceName] = made;
            return made;
        }
    }

    private static JsonObject? LimitConf(JsonObject conf, string instanceName) =>
        conf["rules"] is JsonArray { Count: > 0 } ? TransformLimitConf(conf, null, null) : LimitConfFor(conf, instanceName);

    // limit-count keys the counter by the parent resource of the running plugin's conf: ours
    private static PhaseResult RateLimit(JsonObject limitConf, ApiCtx ctx, long cost, bool dryRun)
    {
        var running = ctx.PluginName;
        ctx.PluginName = PluginName;
        try
        {
            return LimitCountInit.RateLimit(limitConf, ctx, PluginName, cost, dryRun);
        }
        finally
        {
            ctx.PluginName = running;
        }
    }

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var ai = AiCtx.For(ctx);
        if (ai.PickedAiInstanceName is not { } instanceName) return ValueTask.FromResult(PhaseResult.Continue);
        var limitConf = LimitConf(conf, instanceName);
        if (limitConf == null) return ValueTask.FromResult(PhaseResult.Continue);
        var res = RateLimit(limitConf, ctx, 1, true);
        ctx.Items["ai_rate_limiting"] = res.Exits;
        return ValueTask.FromResult(res);
    }

    /// <summary>
    /// <c>check_instance_status(conf, ctx, instance_name)</c>: whether the instance still has tokens
    /// left (a dry run); with no conf, the route's ai-rate-limiting conf, and true when there is none.
    /// </summary>
    public static (bool? Ok, string? Error) CheckInstanceStatus(JsonObject? conf, ApiCtx ctx, string? instanceName)
    {
        if (conf == null)
            foreach (var (plugin, c) in ctx.Plugins)
                if (plugin.Name == PluginName) conf = c;
        if (conf == null) return (true, null);
        instanceName ??= AiCtx.For(ctx).PickedAiInstanceName;
        if (instanceName == null) return (null, "missing instance_name");
        var limitConf = LimitConfFor(conf, instanceName);
        if (limitConf == null) return (true, null);
        var res = RateLimit(limitConf, ctx, 1, true);
        if (res.Exits)
        {
            ctx.Log(LogLevel.Info, "rate limit for instance: " + instanceName + " code: " + res.Code);
            return (false, null);
        }
        return (true, null);
    }

    /// <summary><c>get_token_usage</c>: the tokens to count for this response, or null when unknown.</summary>
    private static long? GetTokenUsage(JsonObject conf, ApiCtx ctx)
    {
        var ai = AiCtx.For(ctx);
        if (Str(conf["limit_strategy"]) == "expression")
        {
            if (ai.RawUsage is not JsonObject raw) return null;
            var (result, err) = CostExpr.Eval(Str(conf["cost_expr"]) ?? "", raw);
            if (result == null)
            {
                ctx.Log(LogLevel.Error, err!);
                return null;
            }
            return result;
        }
        if (ai.TokenUsage is not { } usage) return null;
        var strategy = Str(conf["limit_strategy"]) ?? "total_tokens";
        return JsonScalars.TryGetNumber(usage[strategy], out var n) ? (long)n : null;
    }

    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        var ai = AiCtx.For(ctx);
        if (ai.PickedAiInstanceName is not { } instanceName) return ValueTask.CompletedTask;
        if (ctx.Items.GetValueOrDefault("ai_rate_limiting") is true) return ValueTask.CompletedTask;
        var used = GetTokenUsage(conf, ctx);
        if (used == null)
        {
            ctx.Log(LogLevel.Error, "failed to get token usage for llm service");
            return ValueTask.CompletedTask;
        }
        if (used == 0)
        {
            ctx.Log(LogLevel.Info, "token usage is 0, skip rate limiting");
            return ValueTask.CompletedTask;
        }
        ctx.Log(LogLevel.Info, "instance name: " + instanceName + " used tokens: " + used.Value.ToString(CultureInfo.InvariantCulture));
        if (LimitConf(conf, instanceName) is { } limitConf) RateLimit(limitConf, ctx, used.Value, false);
        return ValueTask.CompletedTask;
    }
}
