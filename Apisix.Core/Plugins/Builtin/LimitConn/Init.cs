// Twin of apisix/plugins/limit-conn/init.lua
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin.LimitConnImpl;

/// <summary>
/// The engine of limit-conn: the rules (one from <c>conn</c>/<c>burst</c>/<c>key</c>, or
/// <c>rules</c>), each counted in on access (<see cref="IncreaseAsync"/>) and out on log
/// (<see cref="Decrease"/>). Only the <c>local</c> policy counts here; the redis policies fail
/// the request with an error saying they are not ported (or let it pass with
/// <c>allow_degradation</c>).
/// </summary>
public static class LimitConnInit
{
    private const string ShdictName = "plugin-limit-conn";

    // ctx.limit_conn: what the log phase counts out
    private const string Entries = "limit_conn";

    private sealed record Rule(double Conn, double Burst, string Key, string KeyType);

    private sealed record Entry(RestyLimitConn Lim, string Key, double Delay, bool UseDefaultDelay);

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    private static bool Flag(JsonObject conf, string name) => JsonScalars.TryGetBoolean(conf[name], out var b) && b;

    /// <summary><c>resolve_var</c>: a number as is, a string template resolved and checked.</summary>
    private static (double? Value, string? Error) ResolveVar(ApiCtx ctx, JsonNode? value, bool allowZero)
    {
        if (!JsonScalars.TryGetString(value, out var original))
            return JsonScalars.TryGetNumber(value, out var n) ? (n, null) : (null, null);
        var (resolved, _) = CoreUtils.ResolveVar(original, ctx.Var.GetString);
        if (Config.LuaText.ToNumber(resolved) is not { } v)
            return (null, "resolved value is not a number: " + (resolved ?? "nil"));
        var shown = LuaNumber.ToLuaString(v);
        if (allowZero)
        {
            if (v < 0) return (null, "resolved value must be a non-negative number, got: " + shown);
        }
        else if (v <= 0) return (null, "resolved value must be a positive number, got: " + shown);
        if (v != Math.Floor(v)) return (null, "resolved value must be an integer, got: " + shown);
        if (v > 9007199254740991) return (null, "resolved value exceeds safe integer range (2^53-1), got: " + shown);
        return (v, null);
    }

    private static (List<Rule>? Rules, string? Error) GetRules(ApiCtx ctx, JsonObject conf)
    {
        if (conf["rules"] is not JsonArray rules)
        {
            var (conn, err) = ResolveVar(ctx, conf["conn"], false);
            if (err != null) return (null, err);
            var (burst, err2) = ResolveVar(ctx, conf["burst"], true);
            if (err2 != null) return (null, err2);
            return ([new Rule(conn ?? 0, burst ?? 0, Str(conf["key"]) ?? "", Str(conf["key_type"]) ?? "var")], null);
        }
        var list = new List<Rule>();
        foreach (var r in rules)
        {
            if (r is not JsonObject rule) continue;
            var (conn, err) = ResolveVar(ctx, rule["conn"], false);
            if (err != null) continue;
            var (burst, err2) = ResolveVar(ctx, rule["burst"], true);
            if (err2 != null) continue;
            var (key, n) = CoreUtils.ResolveVar(Str(rule["key"]) ?? "", ctx.Var.GetString);
            if (n == 0) continue;
            list.Add(new Rule(conn ?? 0, burst ?? 0, key ?? "", "constant"));
        }
        return (list, null);
    }

    private static (RestyLimitConn? Lim, string? Error) CreateLimitObj(JsonObject conf, Rule rule, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Info, "create new limit-conn plugin instance");
        ctx.Log(LogLevel.Info, "limit conn: " + LuaNumber.ToLuaString(rule.Conn) + ", burst: " + LuaNumber.ToLuaString(rule.Burst));
        var policy = Str(conf["policy"]) ?? "local";
        if (policy is "redis" or "redis-cluster") return (null, "the " + policy + " policy of limit-conn is not ported");
        ctx.Log(LogLevel.Info, "create new limit-conn plugin instance");
        if (!ctx.Request.Nginx.SharedDicts.TryGetValue(ShdictName, out var dict)) return (null, "shared dict not found");
        JsonScalars.TryGetNumber(conf["default_conn_delay"], out var delay);
        return (new RestyLimitConn(dict, rule.Conn, rule.Burst, delay), null);
    }

    private static async ValueTask<PhaseResult> RunLimitConnAsync(JsonObject conf, Rule rule, ApiCtx ctx)
    {
        var (lim, err) = CreateLimitObj(conf, rule, ctx);
        if (lim == null)
        {
            ctx.Log(LogLevel.Error, "failed to instantiate a resty.limit.conn object: " + err);
            return Flag(conf, "allow_degradation") ? PhaseResult.Continue : new PhaseResult(500);
        }

        string? key;
        if (rule.KeyType == "var_combination")
        {
            var (resolved, n) = CoreUtils.ResolveVar(rule.Key, ctx.Var.GetString);
            key = n == 0 ? null : resolved;
        }
        else if (rule.KeyType == "constant") key = rule.Key;
        else key = ctx.Var.GetString(rule.Key);
        if (key == null)
        {
            ctx.Log(LogLevel.Info, "The value of the configured key is empty, use client IP instead");
            key = ctx.Var.GetString("remote_addr") ?? "";
        }
        key = key + ctx.ConfType + ctx.ConfVersion;
        ctx.Log(LogLevel.Info, "limit key: " + key);

        var (delay, _, limErr) = lim.Incoming(key, true);
        if (delay == null)
        {
            if (limErr == "rejected")
            {
                var code = JsonScalars.TryGetNumber(conf["rejected_code"], out var c) ? (int)c : 503;
                if (Str(conf["rejected_msg"]) is { } msg) return new PhaseResult(code, new JsonObject { ["error_msg"] = msg });
                return new PhaseResult(code);
            }
            ctx.Log(LogLevel.Error, "failed to limit conn: " + limErr);
            return Flag(conf, "allow_degradation") ? PhaseResult.Continue : new PhaseResult(500);
        }

        if (lim.Committed)
        {
            if (ctx.Items.GetValueOrDefault(Entries) is not List<Entry> entries) ctx.Items[Entries] = entries = new List<Entry>();
            entries.Add(new Entry(lim, key, delay.Value, Flag(conf, "only_use_default_delay")));
        }
        if (delay >= 0.001) await Task.Delay(TimeSpan.FromSeconds(delay.Value));
        return PhaseResult.Continue;
    }

    /// <summary><c>increase(conf, ctx)</c>: every rule in turn; the first to refuse answers.</summary>
    public static async ValueTask<PhaseResult> IncreaseAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Info, "ver: " + (ctx.ConfVersion ?? "nil"));
        var (rules, err) = GetRules(ctx, conf);
        if (rules == null || rules.Count == 0)
        {
            ctx.Log(LogLevel.Error, "failed to get limit conn rules: " + (err ?? "nil"));
            return Flag(conf, "allow_degradation") ? PhaseResult.Continue : new PhaseResult(500);
        }
        foreach (var rule in rules)
        {
            var res = await RunLimitConnAsync(conf, rule, ctx);
            if (res.Exits) return res;
        }
        return PhaseResult.Continue;
    }

    /// <summary><c>decrease(conf, ctx)</c>: counts out what this request counted in.</summary>
    public static void Decrease(JsonObject conf, ApiCtx ctx)
    {
        if (ctx.Items.GetValueOrDefault(Entries) is not List<Entry> entries) return;
        foreach (var e in entries)
        {
            double? latency = null;
            if (!e.UseDefaultDelay)
            {
                // the upstream's response time when proxied, else the request's time less the delay
                var upstream = ctx.Var.GetString("upstream_response_time");
                if (upstream != null && double.TryParse(upstream, NumberStyles.Float, CultureInfo.InvariantCulture, out var u)) latency = u;
                else if (double.TryParse(ctx.Var.GetString("request_time"), NumberStyles.Float, CultureInfo.InvariantCulture, out var rt))
                    latency = rt - e.Delay;
            }
            ctx.Log(LogLevel.Debug, "request latency is " + (latency == null ? "nil" : LuaNumber.ToLuaString(latency.Value)));
            var (conn, err) = e.Lim.Leaving(e.Key, latency);
            if (conn == null)
            {
                ctx.Log(LogLevel.Error, "failed to record the connection leaving request: " + err);
                break;
            }
        }
        ctx.Items.Remove(Entries);
    }
}
