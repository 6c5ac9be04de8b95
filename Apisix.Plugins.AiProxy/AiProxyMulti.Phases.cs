using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin.Prometheus;
using Apisix.Core.Upstream;
using Apisix.Core.Healthcheck;
using Apisix.Plugins.AiProxy.AiProxy;
using AiProxyBase = Apisix.Plugins.AiProxy.AiProxy.Base;

namespace Apisix.Plugins.AiProxy;

// The request-time half of ai-proxy-multi.lua, in its order: fallback_strategy_has,
// transform_instances, create_server_picker, pick_target, pick_ai_instance, access,
// retry_on_error, before_proxy, log.
public sealed partial class AiProxyMultiPlugin : IAccessPhase, IBeforeProxyPhase, ILogPhase
{
    // lrucache_server_picker: one picker per conf (a conf object lives as long as its config
    // version), rebuilt when the health-check status version changes.
    private static readonly ConditionalWeakTable<JsonObject, StrongBox<(string Version, IServerPicker Picker)>> ServerPickers = new();

    private static bool FallbackStrategyHas(JsonNode? strategy, string name) => strategy switch
    {
        null => false,
        JsonArray list => list.Any(v => JsonScalars.TryGetString(v, out var s) && s == name),
        _ => JsonScalars.TryGetString(strategy, out var one) && one == name,
    };

    private static string Str(JsonNode? n) => S(n) ?? "";

    private static int Int(JsonNode? n, int dflt) => JsonScalars.TryGetNumber(n, out var d) ? (int)d : dflt;

    /// <summary>
    /// <c>transform_instances</c> over all instances: name → weight per priority, priorities in
    /// the order first seen.
    /// </summary>
    private static List<(int Priority, List<(string Id, int Weight)> Nodes)> FetchAllInstances(JsonObject conf,
        Func<JsonObject, bool>? keep = null)
    {
        var byPriority = new List<(int Priority, List<(string, int)> Nodes)>();
        foreach (var ins in (conf["instances"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            if (keep != null && !keep(ins)) continue;
            var priority = Int(ins["priority"], 0);
            var group = byPriority.FirstOrDefault(g => g.Priority == priority);
            if (group.Nodes == null)
            {
                group = (priority, new List<(string, int)>());
                byPriority.Add(group);
            }
            group.Nodes.Add((Str(ins["name"]), Int(ins["weight"], 1)));
        }
        return byPriority;
    }

    /// <summary><c>create_server_picker</c>: the balancer's picker, wrapped by priority when there are several.</summary>
    private static IServerPicker CreateServerPicker(ApiCtx ctx, JsonObject conf, JsonObject upsTab,
        Dictionary<string, Healthchecker?> checkers)
    {
        var algorithm = Str(conf["balancer"]?["algorithm"]);
        if (algorithm.Length == 0) algorithm = "roundrobin";
        var instances = algorithm == "chash" ? FetchAllInstances(conf) : FetchHealthInstances(ctx, conf, checkers);
        ctx.Log(LogLevel.Info, "fetch health instances: " + DescribeInstances(instances));
        if (instances.Count > 1)
        {
            var pickers = instances
                .OrderByDescending(g => g.Priority)
                .Select(g => (g.Priority, NewPicker(algorithm, g.Nodes, upsTab)))
                .ToList();
            return new PriorityPicker(pickers);
        }
        return NewPicker(algorithm, instances[0].Nodes, upsTab);
    }

    // require("apisix.balancer." .. algorithm).new(nodes, ups_tab)
    private static IServerPicker NewPicker(string algorithm, List<(string Id, int Weight)> nodes, JsonObject upsTab) =>
        Pickers.New(algorithm, nodes, upsTab);

    private static string DescribeInstances(List<(int Priority, List<(string Id, int Weight)> Nodes)> instances)
    {
        var t = new JsonObject();
        var index = new JsonArray();
        foreach (var (priority, nodes) in instances)
        {
            var group = new JsonObject();
            foreach (var (id, weight) in nodes) group[id] = weight;
            t[priority.ToString(System.Globalization.CultureInfo.InvariantCulture)] = group;
            index.Add(priority);
        }
        t["_priority_index"] = index;
        return CJson.Encode(t);
    }

    private static JsonObject? GetInstanceConf(JsonObject conf, string name) =>
        (conf["instances"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(i => Str(i["name"]) == name);

    private static BalancerState Balancer(ApiCtx ctx)
    {
        var state = ctx.Get<BalancerState>("balancer_state");
        state.Ctx ??= ctx;
        return state;
    }

    /// <summary>
    /// <c>pick_target(ctx, conf, ups_tab)</c>: the next instance from this request's picker
    /// (built once per conf and kept for the request's retries).
    /// </summary>
    private static (string? Name, JsonObject? Instance, string? Error) PickTarget(ApiCtx ctx, JsonObject conf, JsonObject upsTab)
    {
        var checkers = FetchCheckers(ctx, conf);
        var isChash = Str(conf["balancer"]?["algorithm"]) == "chash";
        var version = ctx.ConfVersion ?? "";
        Dictionary<string, bool>? healthStatus = null;
        if (isChash) healthStatus = FetchHealthStatus(ctx, conf, checkers, version);
        else version += "#" + GetCheckersStatusVer(conf, checkers);

        var state = Balancer(ctx);
        var picker = state.Picker;
        if (picker == null)
        {
            var box = ServerPickers.GetValue(conf, _ => new StrongBox<(string, IServerPicker)>((version, CreateServerPicker(ctx, conf, upsTab, checkers))));
            if (box.Value.Version != version) box.Value = (version, CreateServerPicker(ctx, conf, upsTab, checkers));
            picker = box.Value.Picker;
        }
        state.Picker = picker;

        var checkRateLimiting = FallbackStrategyHas(conf["fallback_strategy"], "instance_health_and_rate_limiting")
            || FallbackStrategyHas(conf["fallback_strategy"], "rate_limiting");

        var count = (conf["instances"] as JsonArray)?.Count ?? 0;
        string? instanceName = null;
        for (var i = 0; i < count; i++)
        {
            var (name, err) = picker.Get(state);
            if (err != null) return (null, null, err);
            if (healthStatus == null || healthStatus.GetValueOrDefault(name!))
            {
                if (!checkRateLimiting || AiRateLimitingPlugin.CheckInstanceStatus(null, ctx, name).Ok == true)
                {
                    instanceName = name;
                    break;
                }
                ctx.Log(LogLevel.Warn, $"ai instance: {name} is not available, try to pick another one");
            }
            else ctx.Log(LogLevel.Warn, $"ai instance: {name} is unhealthy, try to pick another one");
            state.Server = name;
            picker.AfterBalance(state, true);
        }
        if (instanceName == null) return (null, null, "all servers tried");
        state.Server = instanceName;

        var instance = GetInstanceConf(conf, instanceName);
        if (instance != null) UseNodeForRequest(instance, PickRequestNode(instance["_healthy_dns_nodes"] ?? instance["_dns_nodes"]));
        return (instanceName, instance, null);
    }

    /// <summary><c>pick_ai_instance</c>: the only instance, or the balancer's pick.</summary>
    private static (string? Name, JsonObject? Instance, string? Error) PickAiInstance(ApiCtx ctx, JsonObject conf, JsonObject? upsTab = null)
    {
        string? name;
        JsonObject? instance;
        string? err = null;
        var instances = conf["instances"] as JsonArray ?? new JsonArray();
        if (instances.Count == 1)
        {
            instance = instances[0] as JsonObject;
            name = Str(instance?["name"]);
        }
        else
        {
            (name, instance, err) = PickTarget(ctx, conf, upsTab ?? new JsonObject());
        }
        ctx.Log(LogLevel.Info, "picked instance: " + (name ?? "nil"));
        return (name, instance, err);
    }

    /// <summary><c>_M.access(conf, ctx)</c>: reads the body, then picks the instance to try first.</summary>
    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var (err, code) = await AiProxyBase.DetectRequestTypeAsync(ctx, AiProxyPlugin.MaxReqBodySize(conf));
        if (err != null) return new PhaseResult(code ?? 400, err);

        var upsTab = new JsonObject();
        if (Str(conf["balancer"]?["algorithm"]) == "chash")
        {
            upsTab["key"] = conf["balancer"]?["key"]?.DeepClone();
            upsTab["hash_on"] = conf["balancer"]?["hash_on"]?.DeepClone();
        }

        var (name, instance, pickErr) = PickAiInstance(ctx, conf, upsTab);
        if (pickErr != null) return new PhaseResult(503, pickErr);
        var ai = AiCtx.For(ctx);
        ai.PickedAiInstanceName = name;
        ai.PickedAiInstance = instance;
        ctx.BalancerIp = name;
        ctx.BypassNginxUpstream = true;
        return PhaseResult.Continue;
    }

    /// <summary>
    /// <c>retry_on_error(ctx, conf, code, body)</c>: null to try the next instance, or the code
    /// to answer with. A fallback logs the failed instance's error body, since the client will
    /// see the later attempt instead.
    /// </summary>
    private static Task<int?> RetryOnError(ApiCtx ctx, JsonObject conf, int code, object? body)
    {
        var state = Balancer(ctx);
        if (state.Picker == null) return Task.FromResult<int?>(code);
        state.Picker.AfterBalance(state, true);
        var strategy = conf["fallback_strategy"];
        if ((code == 429 && FallbackStrategyHas(strategy, "http_429"))
            || (code >= 500 && code < 600 && FallbackStrategyHas(strategy, "http_5xx")))
        {
            var ai = AiCtx.For(ctx);
            if (JsonScalars.TryGetNumber(conf["retry_on_failure_within_ms"], out var within) && ai.RequestStartTime > 0)
            {
                var elapsedMs = (AiCtx.Now() - ai.RequestStartTime) * 1000;
                if (elapsedMs > within)
                {
                    ctx.Log(LogLevel.Warn, $"ai instance failed after {LuaNumber.ToLuaString(elapsedMs)}ms, exceeding "
                                           + $"retry_on_failure_within_ms {LuaNumber.ToLuaString(within)}, not retrying");
                    return Task.FromResult<int?>(code);
                }
            }

            if (JsonScalars.TryGetNumber(conf["max_retries"], out var maxRetries))
            {
                ai.Retries++;
                if (ai.Retries > maxRetries)
                {
                    ctx.Log(LogLevel.Warn, $"reached max_retries {LuaNumber.ToLuaString(maxRetries)}, not retrying");
                    return Task.FromResult<int?>(code);
                }
            }

            var failedInstance = ai.PickedAiInstanceName;
            var (name, instance, err) = PickAiInstance(ctx, conf);
            if (err != null)
            {
                ctx.Log(LogLevel.Error, "failed to pick new AI instance: " + err);
                return Task.FromResult<int?>(502);
            }
            var bodyText = body switch
            {
                null => "",
                string s => s,
                JsonNode n => CJson.Encode(n),
                _ => body.ToString() ?? "",
            };
            ctx.Log(LogLevel.Warn, $"ai instance {failedInstance} returned status {code}, falling back to {name}. "
                                   + "upstream error body: " + bodyText);
            ctx.BalancerIp = name;
            ai.PickedAiInstanceName = name;
            ai.PickedAiInstance = instance;
            return Task.FromResult<int?>(null);
        }
        return Task.FromResult<int?>(code);
    }

    /// <summary><c>_M.before_proxy</c>: base.before_proxy, retrying through <see cref="RetryOnError"/>.</summary>
    public ValueTask<PhaseResult> BeforeProxyAsync(JsonObject conf, ApiCtx ctx) => new(AiProxyBase.BeforeProxyAsync(conf, ctx, RetryOnError));

    /// <summary><c>_M.log(conf, ctx)</c>: the same as ai-proxy's.</summary>
    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx) => AiProxyPlugin.LogPhase(conf, ctx);
}
