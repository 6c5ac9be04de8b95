using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Healthcheck;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy;

// ai-proxy-multi.lua's health side: a checker per instance that has `checks` (created by the
// health-check manager of the request's worker), the instances' health, and the version
// strings that make the cached picker follow health changes.
public sealed partial class AiProxyMultiPlugin
{
    // The route values requests run with, by resource key, per worker: the health-check manager
    // reads an instance's live conf (with its resolved _dns_nodes) from here.
    private static readonly ConditionalWeakTable<LuaWorker, Dictionary<string, JsonObject>> LiveRoutes = new();

    private static JsonObject? ResolveLive(LuaWorker worker, Apisix.Core.Store.ConfigStore store, string path)
    {
        var (key, sub) = HealthcheckManager.ParsePath(path);
        if (store.Get(key) == null) return null;
        if (!LiveRoutes.TryGetValue(worker, out var routes) || !routes.TryGetValue(key, out var route)) return null;
        return HealthcheckManager.JsonPathValue(route, sub) as JsonObject;
    }

    private static readonly ConditionalWeakTable<LuaWorker, NLua.LuaFunction> LuaResolvers = new();

    /// <summary>
    /// <c>healthcheck_manager.init_worker()</c> for the instances of this plugin: the worker's
    /// manager, reading instance confs from the routes requests run with. Called at worker start
    /// (so its timer ticks from then, as upstream's does), or on first use.
    /// </summary>
    public static HealthcheckManager InitWorker(LuaWorker worker, Apisix.Core.Store.ConfigStore store, Apisix.Core.Config.ApisixConfig? config)
    {
        var manager = HealthcheckManager.InitWorker(worker, store, path => ResolveLive(worker, store, path));
        manager.DisableUpstreamHealthcheck =
            JsonScalars.TryGetBoolean(config?.Get("apisix", "disable_upstream_healthcheck"), out var off) && off;
        return manager;
    }

    /// <summary>
    /// <c>core.resolver.parse_domain_all(host)</c>, called through the worker's Lua module so a
    /// test's replacement of it (or of <c>core.utils.dns_parse</c>) is what answers. Without
    /// that module (a plain nginx world) the worker's network answers.
    /// </summary>
    internal static IReadOnlyList<string>? ResolveAllOn(LuaWorker worker, string host)
    {
        try
        {
            var fn = LuaResolvers.GetValue(worker, w => (NLua.LuaFunction)w.Lua.DoString(
                "return function(h) return require('apisix.core.resolver').parse_domain_all(h) end")[0]);
            var result = fn.Call(host);
            if (result.Length == 0 || result[0] is not NLua.LuaTable ips) return null;
            var list = new List<string>();
            for (long i = 1; ips[i] is { } ip; i++) list.Add(ip.ToString()!);
            return list;
        }
        catch (NLua.Exceptions.LuaException)
        {
            return worker.Nginx.Network.Resolve(host) is { } ip ? [ip.ToString()] : null;
        }
    }

    /// <summary>
    /// The checkers part of <c>pick_target</c>: for each instance with <c>checks</c>, resolve its
    /// endpoint and fetch its checker (null until the manager's timer has created it).
    /// </summary>
    private static Dictionary<string, Healthchecker?> FetchCheckers(ApiCtx ctx, JsonObject conf)
    {
        var checkers = new Dictionary<string, Healthchecker?>(StringComparer.Ordinal);
        var worker = ctx.Request.Worker;
        var store = ctx.Store;
        if (worker == null || store == null || ctx.RouteId == null || ctx.MatchedRoute == null) return checkers;

        var resourceKey = "/apisix/routes/" + ctx.RouteId;
        LiveRoutes.GetOrCreateValue(worker)[resourceKey] = ctx.MatchedRoute;
        var instances = (conf["instances"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
        for (var i = 0; i < instances.Count; i++)
        {
            var instance = instances[i];
            if (instance["checks"] == null) continue;
            var manager = HealthcheckManager.Of(worker) ?? InitWorker(worker, store, ctx.Config);
            ResolveEndpoint(instance, host => ResolveAllOn(worker, host), ctx.Log);
            var path = resourceKey + "#plugins['ai-proxy-multi'].instances[" + i + "]";
            var version = store.Get(resourceKey)?.ModifiedIndex.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "0";
            if (instance["_nodes_ver"] is { } nodesVer) version += CtxVar.ToVarString(nodesVer);
            checkers[S(instance["name"]) ?? ""] = manager.FetchChecker(path, version);
        }
        return checkers;
    }

    /// <summary><c>get_checkers_status_ver</c>: "x" for an instance whose checker is not there yet.</summary>
    private static string GetCheckersStatusVer(JsonObject conf, Dictionary<string, Healthchecker?> checkers) =>
        string.Join("-", (conf["instances"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(ins => checkers.GetValueOrDefault(S(ins["name"]) ?? "") is { } c
                ? c.StatusVer.ToString(System.Globalization.CultureInfo.InvariantCulture) : "x"));

    private sealed record HealthStatus(bool AllUnhealthy, Dictionary<string, bool> Status, Dictionary<string, JsonArray> HealthyDnsNodes);

    /// <summary><c>create_health_status</c>: which instances have a healthy node, and which nodes.</summary>
    private static HealthStatus CreateHealthStatus(ApiCtx ctx, JsonObject conf, Dictionary<string, Healthchecker?> checkers)
    {
        var status = new Dictionary<string, bool>(StringComparer.Ordinal);
        var healthyNodes = new Dictionary<string, JsonArray>(StringComparer.Ordinal);
        var anyHealthy = false;
        foreach (var ins in (conf["instances"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            var name = S(ins["name"]) ?? "";
            if (checkers.GetValueOrDefault(name) is { } checker)
            {
                var host = S(ins["checks"]?["active"]?["host"]);
                int? port = JsonScalars.TryGetNumber(ins["checks"]?["active"]?["port"], out var p) ? (int)p : null;
                var healthy = new JsonArray();
                foreach (var node in (ins["_dns_nodes"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                {
                    var nodePort = port ?? (JsonScalars.TryGetNumber(node["port"], out var np) ? (int)np : 0);
                    var (ok, err) = HealthcheckManager.FetchNodeStatus(checker, S(node["host"]) ?? "", nodePort, host, ctx.Request);
                    if (ok) healthy.Add(node.DeepClone());
                    else if (err != null)
                        ctx.Log(LogLevel.Warn, $"failed to get health check target status, addr: {S(node["host"])}:{nodePort}, host: {host ?? "nil"}, err: {err}");
                }
                if (healthy.Count > 0)
                {
                    healthyNodes[name] = healthy;
                    status[name] = true;
                    anyHealthy = true;
                }
                else status[name] = false;
            }
            else
            {
                status[name] = true;
                anyHealthy = true;
            }
        }
        if (!anyHealthy)
        {
            ctx.Log(LogLevel.Warn, "all upstream nodes is unhealthy, use default");
            return new HealthStatus(true, status, healthyNodes);
        }
        return new HealthStatus(false, status, healthyNodes);
    }

    /// <summary><c>apply_health_status</c>: records each instance's healthy nodes; null when health is not to be used.</summary>
    private static Dictionary<string, bool>? ApplyHealthStatus(JsonObject conf, HealthStatus? health)
    {
        var instances = (conf["instances"] as JsonArray ?? new JsonArray()).OfType<JsonObject>();
        if (health == null || health.AllUnhealthy)
        {
            foreach (var ins in instances) ins.Remove("_healthy_dns_nodes");
            return null;
        }
        foreach (var ins in instances)
        {
            if (health.HealthyDnsNodes.TryGetValue(S(ins["name"]) ?? "", out var nodes)) ins["_healthy_dns_nodes"] = nodes.DeepClone();
            else ins.Remove("_healthy_dns_nodes");
        }
        return health.Status;
    }

    // lrucache_health_status: the health of a conf's instances, kept while nothing it depends on changed
    private static readonly ConditionalWeakTable<JsonObject, StrongBox<(string Version, HealthStatus Status)>> HealthStatuses = new();

    /// <summary><c>get_health_status_ver</c>: each instance's node version and checker status.</summary>
    private static string GetHealthStatusVer(JsonObject conf, Dictionary<string, Healthchecker?> checkers) =>
        string.Join("-", (conf["instances"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(ins => (CtxVar.ToVarString(ins["_nodes_ver"]) ?? "0") + ":"
                           + (checkers.GetValueOrDefault(S(ins["name"]) ?? "") is { } c
                               ? c.StatusVer.ToString(System.Globalization.CultureInfo.InvariantCulture) : "x")));

    /// <summary><c>fetch_health_status</c> (the chash path): cached health, applied to the instances.</summary>
    private static Dictionary<string, bool>? FetchHealthStatus(ApiCtx ctx, JsonObject conf,
        Dictionary<string, Healthchecker?> checkers, string version)
    {
        var key = version + "#" + GetHealthStatusVer(conf, checkers);
        var box = HealthStatuses.GetValue(conf, _ => new StrongBox<(string, HealthStatus)>((key, CreateHealthStatus(ctx, conf, checkers))));
        if (box.Value.Version != key) box.Value = (key, CreateHealthStatus(ctx, conf, checkers));
        return ApplyHealthStatus(conf, box.Value.Status);
    }

    /// <summary><c>fetch_health_instances</c>: the instances the picker is built from, unhealthy ones left out.</summary>
    private static List<(int Priority, List<(string Id, int Weight)> Nodes)> FetchHealthInstances(ApiCtx ctx, JsonObject conf,
        Dictionary<string, Healthchecker?> checkers)
    {
        if (checkers.Count == 0) return FetchAllInstances(conf);
        var status = ApplyHealthStatus(conf, CreateHealthStatus(ctx, conf, checkers));
        if (status == null) return FetchAllInstances(conf);
        return FetchAllInstances(conf, ins => status.GetValueOrDefault(S(ins["name"]) ?? ""));
    }
}
