// Twin of apisix/plugins/limit-count/init.lua
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin.LimitCountImpl;

/// <summary>
/// The shared engine of limit-count: schema, checks, rule resolution, the limit key
/// (<c>parent resource key:conf version:key</c>, or <c>group:key</c>) and the response headers.
/// The <c>local</c> policy counts in a shared dict, <c>redis</c> in a Redis server
/// (<see cref="LimitCountRedis"/>); redis-cluster and redis-sentinel are accepted by the schema but
/// a request under them fails with an error saying they are not ported (or passes with
/// <c>allow_degradation</c>), and so does <c>window_type: sliding</c>.
/// </summary>
public static class LimitCountInit
{
    private const double NoDelayedSync = -1;

    private static JsonObject IntOrString() => new()
    {
        ["oneOf"] = new JsonArray(
            new JsonObject { ["type"] = "integer", ["exclusiveMinimum"] = 0 },
            new JsonObject { ["type"] = "string" }),
    };

    private static JsonObject T(string type, params (string, JsonNode?)[] more)
    {
        var o = new JsonObject { ["type"] = type };
        foreach (var (k, v) in more) o[k] = v;
        return o;
    }

    /// <summary><c>apisix.utils.redis-schema</c>'s redis and redis-cluster properties (with key_ttl), and redis-sentinel's.</summary>
    public static JsonObject PolicyProperties(string policy) => policy switch
    {
        "redis" => new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["redis_host"] = T("string", ("minLength", 2)),
                ["redis_port"] = T("integer", ("minimum", 1), ("default", 6379)),
                ["redis_username"] = T("string", ("minLength", 1)),
                ["redis_password"] = T("string", ("minLength", 0)),
                ["redis_database"] = T("integer", ("minimum", 0), ("default", 0)),
                ["redis_timeout"] = T("integer", ("minimum", 1), ("default", 1000)),
                ["redis_ssl"] = T("boolean", ("default", false)),
                ["redis_ssl_verify"] = T("boolean", ("default", false)),
                ["redis_keepalive_timeout"] = T("integer", ("minimum", 1000), ("default", 10000)),
                ["redis_keepalive_pool"] = T("integer", ("minimum", 1), ("default", 100)),
                ["key_ttl"] = T("integer", ("default", 3600)),
            },
            ["required"] = new JsonArray("redis_host"),
        },
        "redis-cluster" => new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["redis_cluster_nodes"] = new JsonObject
                {
                    ["type"] = "array", ["minItems"] = 1,
                    ["items"] = T("string", ("minLength", 2), ("maxLength", 100)),
                },
                ["redis_password"] = T("string", ("minLength", 0)),
                ["redis_timeout"] = T("integer", ("minimum", 1), ("default", 1000)),
                ["redis_cluster_name"] = T("string"),
                ["redis_cluster_ssl"] = T("boolean", ("default", false)),
                ["redis_cluster_ssl_verify"] = T("boolean", ("default", false)),
                ["redis_keepalive_timeout"] = T("integer", ("minimum", 1000), ("default", 10000)),
                ["redis_keepalive_pool"] = T("integer", ("minimum", 1), ("default", 100)),
                ["key_ttl"] = T("integer", ("default", 3600)),
            },
            ["required"] = new JsonArray("redis_cluster_nodes", "redis_cluster_name"),
        },
        _ => new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["redis_sentinels"] = new JsonObject
                {
                    ["type"] = "array", ["minItems"] = 1,
                    ["items"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["host"] = T("string", ("minLength", 2)),
                            ["port"] = T("integer", ("minimum", 1), ("maximum", 65535)),
                        },
                        ["required"] = new JsonArray("host", "port"),
                        ["additionalProperties"] = false,
                    },
                },
                ["redis_master_name"] = T("string", ("minLength", 1)),
                ["redis_role"] = T("string", ("enum", new JsonArray("master", "slave")), ("default", "master")),
                ["redis_connect_timeout"] = T("integer", ("minimum", 1), ("default", 1000)),
                ["redis_read_timeout"] = T("integer", ("minimum", 1), ("default", 1000)),
                ["redis_keepalive_timeout"] = T("integer", ("minimum", 1), ("default", 60000)),
                ["redis_database"] = T("integer", ("minimum", 0), ("default", 0)),
                ["redis_username"] = T("string", ("minLength", 1)),
                ["redis_password"] = T("string", ("minLength", 0)),
                ["sentinel_username"] = T("string", ("minLength", 1)),
                ["sentinel_password"] = T("string", ("minLength", 0)),
            },
            ["required"] = new JsonArray("redis_sentinels", "redis_master_name"),
        },
    };

    private static readonly string[] BaseFields =
    [
        "count", "time_window", "window_type", "rules", "group", "key", "key_type", "rejected_code",
        "rejected_msg", "policy", "allow_degradation", "show_limit_quota_header", "sync_interval",
    ];

    public static JsonObject BuildSchema()
    {
        static JsonObject IfPolicy(string policy) => new()
        {
            ["properties"] = new JsonObject { ["policy"] = new JsonObject { ["enum"] = new JsonArray(policy) } },
        };
        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["count"] = IntOrString(),
                ["time_window"] = IntOrString(),
                ["window_type"] = T("string", ("enum", new JsonArray("fixed", "sliding")), ("default", "fixed")),
                ["rules"] = new JsonObject
                {
                    ["type"] = "array",
                    ["items"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["count"] = IntOrString(),
                            ["time_window"] = IntOrString(),
                            ["key"] = T("string"),
                            ["header_prefix"] = T("string", ("description", "prefix for rate limit headers")),
                        },
                        ["required"] = new JsonArray("count", "time_window", "key"),
                    },
                },
                ["group"] = T("string"),
                ["key"] = T("string", ("default", "remote_addr")),
                ["key_type"] = T("string", ("enum", new JsonArray("var", "var_combination", "constant")), ("default", "var")),
                ["rejected_code"] = T("integer", ("minimum", 200), ("maximum", 599), ("default", 503)),
                ["rejected_msg"] = T("string", ("minLength", 1)),
                ["policy"] = T("string", ("enum", new JsonArray("local", "redis", "redis-cluster", "redis-sentinel")), ("default", "local")),
                ["allow_degradation"] = T("boolean", ("default", false)),
                ["show_limit_quota_header"] = T("boolean", ("default", true)),
                ["sync_interval"] = T("number", ("default", NoDelayedSync)),
            },
            ["oneOf"] = new JsonArray(
                new JsonObject { ["required"] = new JsonArray("count", "time_window") },
                new JsonObject { ["required"] = new JsonArray("rules") }),
            ["if"] = IfPolicy("redis"),
            ["then"] = PolicyProperties("redis"),
            ["else"] = new JsonObject
            {
                ["if"] = IfPolicy("redis-cluster"),
                ["then"] = PolicyProperties("redis-cluster"),
                ["else"] = new JsonObject
                {
                    ["if"] = IfPolicy("redis-sentinel"),
                    ["then"] = PolicyProperties("redis-sentinel"),
                },
            },
        };
    }

    public static JsonObject BuildMetadataSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["limit_header"] = T("string", ("default", "X-RateLimit-Limit")),
            ["remaining_header"] = T("string", ("default", "X-RateLimit-Remaining")),
            ["reset_header"] = T("string", ("default", "X-RateLimit-Reset")),
        },
    };


    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    /// <param name="groupConfs"><c>group_conf_lru</c>: the first conf seen for each group, kept by the plugin instance.</param>
    public static (bool Ok, string? Error) CheckSchema(IPlugin plugin, Dictionary<string, JsonObject> groupConfs, JsonObject conf, SchemaType type)
    {
        if (type == SchemaType.Metadata) return JsonSchema.Check(plugin.MetadataSchema!, conf);
        var (ok, err) = JsonSchema.Check(plugin.Schema, conf);
        var hasCountOrWindow = conf["count"] != null || conf["time_window"] != null;
        if (!ok)
        {
            if (err != null && err.Contains("value should match only one schema", StringComparison.Ordinal)
                && hasCountOrWindow && conf["rules"] != null)
                return (false, "count/time_window and rules cannot be specified at the same time");
            return (false, err);
        }
        if (conf["rules"] != null && hasCountOrWindow)
            return (false, "count/time_window and rules cannot be specified at the same time");
        if (conf["group"] != null && conf["rules"] != null)
            return (false, "group and rules cannot be specified at the same time");

        if (Str(conf["group"]) is { } group)
        {
            if (conf["_vid"] != null) return (false, "group is not supported");
            var fields = new List<string>(BaseFields);
            var policy = Str(conf["policy"]) ?? "local";
            if (policy != "local" && PolicyProperties(policy)["properties"] is JsonObject extra)
                fields.AddRange(extra.Select(p => p.Key));
            JsonObject prev;
            lock (groupConfs)
            {
                if (!groupConfs.TryGetValue(group, out prev!)) groupConfs[group] = prev = (JsonObject)conf.DeepClone();
            }
            foreach (var field in fields)
            {
                if (!JsonNode.DeepEquals(prev[field], conf[field]))
                {
                    return (false, "group conf mismatched");
                }
            }
        }

        var policyName = Str(conf["policy"]);
        if (policyName is "redis" or "redis-cluster" or "redis-sentinel"
            && JsonScalars.TryGetNumber(conf["sync_interval"], out var sync) && sync != NoDelayedSync)
        {
            if (sync < 0.1) return (false, "sync_interval should not be smaller than 0.1");
            if (JsonScalars.TryGetNumber(conf["time_window"], out var tw) && sync >= tw)
                return (false, "sync_interval should be smaller than time_window");
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in conf["rules"] as JsonArray ?? [])
        {
            var k = Str(rule?["key"]) ?? "";
            if (!keys.Add(k)) return (false, "duplicate key '" + k + "' in rules");
        }
        return (true, null);
    }

    private sealed record Rule(double Count, double TimeWindow, string Key, string KeyType, string? HeaderPrefix);

    private static (double? Value, string? Error) ResolveNumber(ApiCtx ctx, JsonNode? value)
    {
        if (JsonScalars.TryGetString(value, out var s))
        {
            var (text, _) = CoreUtils.ResolveVar(s, ctx.Var.GetString);
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                return (null, "resolved value is not a number: " + text);
            return (d, null);
        }
        return JsonScalars.TryGetNumber(value, out var n) ? (n, null) : (null, "not a number");
    }

    private static (List<Rule>? Rules, string? Error) GetRules(ApiCtx ctx, JsonObject conf)
    {
        if (conf["rules"] is not JsonArray rules)
        {
            var (count, err) = ResolveNumber(ctx, conf["count"]);
            if (err != null) return (null, err);
            var (window, err2) = ResolveNumber(ctx, conf["time_window"]);
            if (err2 != null) return (null, err2);
            return ([new Rule(count!.Value, window!.Value, Str(conf["key"]) ?? "remote_addr", Str(conf["key_type"]) ?? "var", null)], null);
        }
        var list = new List<Rule>();
        var index = 0;
        foreach (var r in rules)
        {
            index++;
            if (r is not JsonObject rule) continue;
            var (count, err) = ResolveNumber(ctx, rule["count"]);
            if (err != null) continue;
            var (window, err2) = ResolveNumber(ctx, rule["time_window"]);
            if (err2 != null) continue;
            var (key, n) = CoreUtils.ResolveVar(Str(rule["key"]) ?? "", ctx.Var.GetString);
            if (n == 0) continue;
            list.Add(new Rule(count!.Value, window!.Value, key, "constant",
                Str(rule["header_prefix"]) ?? index.ToString(CultureInfo.InvariantCulture)));
        }
        return (list, null);
    }

    /// <summary>
    /// <c>gen_limit_key</c>: the group, or the conf's parent resource key and the conf's version
    /// (a CRC-32 of its stable JSON), before the key.
    /// </summary>
    private static string? GenLimitKey(JsonObject conf, ApiCtx ctx, string key)
    {
        if (Str(conf["group"]) is { } group) return group + ":" + key;
        var parent = PluginMeta.ParentOf(ctx, conf);
        if (parent == null)
        {
            ctx.Log(LogLevel.Error, "failed to generate key invalid parent: null");
            return null;
        }
        var newKey = parent + ":" + PluginMeta.ConfVersion(conf) + ":" + key;
        if (conf["_vid"] is { } vid) newKey += ":" + CtxVar.ToVarString(vid);
        return newKey;
    }

    // construct_rate_limiting_headers: the conf's own header names (ai-rate-limiting sets them) win over the metadata's
    private static (string Limit, string Remaining, string Reset) Headers(JsonObject conf, Rule rule, JsonObject? metadata)
    {
        var limit = Str(conf["limit_header"]) ?? Str(metadata?["limit_header"]) ?? "X-RateLimit-Limit";
        var remaining = Str(conf["remaining_header"]) ?? Str(metadata?["remaining_header"]) ?? "X-RateLimit-Remaining";
        var reset = Str(conf["reset_header"]) ?? Str(metadata?["reset_header"]) ?? "X-RateLimit-Reset";
        if (rule.HeaderPrefix is { } p)
        {
            string Prefix(string h)
            {
                var i = h.IndexOf("RateLimit-", StringComparison.Ordinal);
                return i < 0 ? h : h[..i] + p + "-RateLimit-" + h[(i + "RateLimit-".Length)..];
            }
            return (Prefix(limit), Prefix(remaining), Prefix(reset));
        }
        return (limit, remaining, reset);
    }

    private static string Num(double d) => LuaNumber.ToLuaString(d);

    private const string KeyVersion = "v1";

    private static async ValueTask<PhaseResult> RunRateLimit(JsonObject conf, Rule rule, ApiCtx ctx, string name, long cost, bool dryRun)
    {
        var policy = Str(conf["policy"]) ?? "local";
        var degrade = JsonScalars.TryGetBoolean(conf["allow_degradation"], out var dg) && dg;
        var windowType = Str(conf["window_type"]) ?? "fixed";
        ctx.Log(LogLevel.Info, "create new " + name + " plugin instance, policy: " + policy + ", window_type: "
            + windowType + ", sync_interval: " + CtxVar.ToVarString(conf["sync_interval"]));
        string? limErr = null;
        if (policy is not ("local" or "redis")) limErr = "the " + policy + " policy of limit-count is not ported";
        else if (windowType == "sliding") limErr = "the sliding window of limit-count is not ported";
        var dicts = ctx.Request.Nginx.SharedDicts;
        if (limErr == null && !dicts.ContainsKey("plugin-" + name)) limErr = "shared dict plugin-" + name + " not found";
        if (limErr != null)
        {
            ctx.Log(LogLevel.Error, "failed to fetch limit.count object: " + limErr);
            return degrade ? PhaseResult.Continue : new PhaseResult(500);
        }
        LimitCountLocal? local = null;
        LimitCountRedis? redis = null;
        if (policy == "redis")
            redis = new LimitCountRedis("plugin-" + name, (long)rule.Count, (long)rule.TimeWindow, conf, KeyVersion);
        else
            local = new LimitCountLocal(dicts["plugin-" + name], dicts.GetValueOrDefault("plugin-" + name + "-reset-header"),
                (long)rule.Count, (long)rule.TimeWindow, () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        var limit = local?.Limit ?? redis!.Limit;

        string? key;
        if (rule.KeyType == "var_combination")
        {
            var (k, n) = CoreUtils.ResolveVar(rule.Key, ctx.Var.GetString);
            key = n == 0 ? null : k;
        }
        else if (rule.KeyType == "constant") key = rule.Key;
        else key = ctx.Var.GetString(rule.Key);
        if (key == null)
        {
            ctx.Log(LogLevel.Info, "The value of the configured key is empty, use client IP instead");
            key = ctx.Var.GetString("remote_addr") ?? "";
        }
        key = GenLimitKey(conf, ctx, key);
        if (key == null) return new PhaseResult(500);
        ctx.Log(LogLevel.Info, "limit key: " + key + ", count: " + Num(rule.Count) + ", time_window: " + Num(rule.TimeWindow));

        // a dry run (ai-rate-limiting's check before the call) commits nothing and rejects when
        // the cost would not fit in what remains
        var (delay, remaining, reset) = local != null
            ? local.Incoming(key, dryRun ? 0 : cost)
            : await redis!.Incoming(ctx, key, dryRun ? 0 : cost);
        if (dryRun && remaining is long left && left - cost < 0)
        {
            delay = null;
            remaining = "rejected";
        }
        reset = Math.Floor(reset * 100) / 100;
        var remainingNum = remaining is long r ? r : 0;
        ctx.Var["rate_limiting_info"] = "{\"rate_limiting_key\":\"" + key + "\",\"rate_limiting_limit\":" + limit
            + ",\"rate_limiting_remaining\":" + remainingNum + ",\"rate_limiting_reset\":" + (long)reset + "}";

        var metadata = ctx.Store?.Get("/apisix/plugin_metadata/" + name)?.Value as JsonObject;
        var headers = Headers(conf, rule, metadata);
        // in the log phase (ai-rate-limiting commits the tokens there) the response has gone: no headers
        var isLogPhase = ctx.Request.Phase == "log" || ctx.Request.HeadersSent;
        var show = (!JsonScalars.TryGetBoolean(conf["show_limit_quota_header"], out var sh) || sh) && !isLogPhase;
        if (delay == null)
        {
            if (remaining as string == "rejected")
            {
                if (show)
                {
                    CoreResponse.SetHeader(ctx, headers.Limit, limit.ToString(CultureInfo.InvariantCulture));
                    CoreResponse.SetHeader(ctx, headers.Remaining, "0");
                    CoreResponse.SetHeader(ctx, headers.Reset, Num(reset));
                }
                var code = JsonScalars.TryGetNumber(conf["rejected_code"], out var rc) ? (int)rc : 503;
                if (Str(conf["rejected_msg"]) is { } msg) return new PhaseResult(code, new JsonObject { ["error_msg"] = msg });
                return new PhaseResult(code);
            }
            ctx.Log(LogLevel.Error, "failed to limit count: " + remaining);
            if (degrade) return PhaseResult.Continue;
            return new PhaseResult(500, new JsonObject { ["error_msg"] = "failed to limit count" });
        }
        if (show)
        {
            CoreResponse.SetHeader(ctx, headers.Limit, limit.ToString(CultureInfo.InvariantCulture));
            CoreResponse.SetHeader(ctx, headers.Remaining, remainingNum.ToString(CultureInfo.InvariantCulture));
            CoreResponse.SetHeader(ctx, headers.Reset, Num(reset));
        }
        return PhaseResult.Continue;
    }

    /// <summary><c>rate_limit(conf, ctx, name, cost, dry_run)</c>: every rule in turn; the first to reject answers.</summary>
    public static PhaseResult RateLimit(JsonObject conf, ApiCtx ctx, string name, long cost, bool dryRun = false)
    {
        // the local policy answers at once; a policy that waits for a server must be awaited
        var pending = RateLimitAsync(conf, ctx, name, cost, dryRun);
        if (pending.IsCompleted) return pending.Result;
        ctx.Log(LogLevel.Error, "failed to limit count: the " + Str(conf["policy"]) + " policy must be awaited here");
        return new PhaseResult(500, new JsonObject { ["error_msg"] = "failed to limit count" });
    }

    /// <summary><c>rate_limit(conf, ctx, name, cost, dry_run)</c> for any policy.</summary>
    public static async ValueTask<PhaseResult> RateLimitAsync(JsonObject conf, ApiCtx ctx, string name, long cost, bool dryRun = false)
    {
        ctx.Log(LogLevel.Info, "ver: " + ctx.ConfVersion);
        var (rules, err) = GetRules(ctx, conf);
        if (rules == null || rules.Count == 0)
        {
            ctx.Log(LogLevel.Error, "failed to get rate limit rules: " + (err ?? "nil"));
            var degrade = JsonScalars.TryGetBoolean(conf["allow_degradation"], out var dg) && dg;
            return degrade ? PhaseResult.Continue : new PhaseResult(500);
        }
        foreach (var rule in rules)
        {
            var res = await RunRateLimit(conf, rule, ctx, name, cost, dryRun);
            if (res.Exits) return res;
        }
        return PhaseResult.Continue;
    }
}
