using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins;

/// <summary>
/// Port of the request-time half of <c>apisix/plugin.lua</c>: <c>filter</c> (which plugins of
/// a route run, in priority order), <c>run_plugin</c> (one phase over them, with the exit
/// semantics), <c>merge_service_route</c> and <c>lua_response_filter</c>.
/// </summary>
public sealed class PluginRunner(PluginRegistry registry)
{
    /// <summary>
    /// <c>plugin.filter(ctx, route)</c>: the enabled plugins configured on the route, highest
    /// priority first, skipping confs whose <c>_meta.disable</c> is true, with secret references
    /// resolved (<see cref="SecretRefs"/>) when the request's worker is given.
    /// </summary>
    public List<(IPlugin Plugin, JsonObject Conf)> Filter(JsonObject route, OpenResty.LuaWorker? worker = null)
    {
        var list = new List<(IPlugin, JsonObject)>();
        if (route["plugins"] is not JsonObject userConf || userConf.Count == 0) return list;
        var enabled = registry.Enabled;
        var order = EnabledOrder(enabled);
        if (order != null && userConf.Count <= 32 && userConf.Count < enabled.Count)
        {
            // a route names a few plugins: look those up instead of every enabled one, and put
            // them in the enabled list's order
            Span<int> places = stackalloc int[userConf.Count];
            for (var k = 0; k < userConf.Count; k++)
            {
                var (name, node) = userConf.GetAt(k);
                if (!order.TryGetValue(name, out var place) || node is not JsonObject conf) continue;
                if (JsonScalars.TryGetBoolean(conf["_meta"]?["disable"], out var disabled) && disabled) continue;
                var at = list.Count;
                while (at > 0 && places[at - 1] > place) { places[at] = places[at - 1]; at--; }
                places[at] = place;
                list.Insert(at, (enabled[place], conf));
            }
        }
        else
        {
            foreach (var plugin in enabled)
            {
                if (userConf[plugin.Name] is not JsonObject conf) continue;
                if (JsonScalars.TryGetBoolean(conf["_meta"]?["disable"], out var disabled) && disabled) continue;
                list.Add((plugin, conf));
            }
        }
        if (list.Any(p => p.Item2["_meta"]?["priority"] != null))
        {
            // _meta.priority overrides the module's priority for this conf (stable sort)
            list = list.Select((p, i) => (p, i))
                .OrderByDescending(t => JsonScalars.TryGetNumber(t.p.Item2["_meta"]?["priority"], out var pr) ? pr : t.p.Item1.Priority)
                .ThenBy(t => t.i).Select(t => t.p).ToList();
        }
        // $env:// and $secret:// references in the confs, resolved into copies
        for (var i = 0; i < list.Count; i++)
            list[i] = (list[i].Item1, SecretRefs.Resolve(list[i].Item2, worker));
        return list;
    }

    // each enabled plugin's place in the enabled list, by name, for the list in use (null when two share a name)
    private sealed record Order(IReadOnlyList<IPlugin> Enabled, Dictionary<string, int>? Places);
    private Order? _order;

    private Dictionary<string, int>? EnabledOrder(IReadOnlyList<IPlugin> enabled)
    {
        var known = _order;
        if (known != null && ReferenceEquals(known.Enabled, enabled)) return known.Places;
        Dictionary<string, int>? places = new(StringComparer.Ordinal);
        for (var i = 0; i < enabled.Count; i++)
            if (!places.TryAdd(enabled[i].Name, i)) { places = null; break; }
        _order = new Order(enabled, places);
        return places;
    }

    /// <summary>
    /// <c>plugin.merge_service_route(service, route)</c>: the route's value with the service's
    /// plugins (a route's own conf of a plugin wins) and the service's upstream when the route
    /// has none.
    /// </summary>
    public static JsonObject MergeServiceRoute(JsonObject service, JsonObject route)
    {
        var merged = (JsonObject)route.DeepClone();
        if (service["plugins"] is JsonObject svcPlugins)
        {
            var plugins = merged["plugins"] as JsonObject ?? new JsonObject();
            foreach (var (name, conf) in svcPlugins)
                if (!plugins.ContainsKey(name)) plugins[name] = conf?.DeepClone();
            merged["plugins"] = plugins;
        }
        if (merged["upstream"] == null && merged["upstream_id"] == null)
        {
            if (service["upstream"] is { } up) merged["upstream"] = up.DeepClone();
            if (service["upstream_id"] is { } upId) merged["upstream_id"] = upId.DeepClone();
        }
        return merged;
    }

    /// <summary>
    /// <c>plugin.run_plugin(phase, plugins, ctx)</c> for a phase that can end the request
    /// (rewrite, access, before_proxy). Returns true when a plugin ended it: a returned code of
    /// 400 or more is logged as "NAME exits with http status code N", <c>_meta.error_response</c>
    /// replaces the body, and <c>core.response.exit</c> sends it.
    /// </summary>
    public Task<bool> RunPluginAsync(string phase, ApiCtx ctx) => RunPluginAsync(phase, ctx.Plugins, ctx);

    /// <summary>
    /// <c>run_plugin(phase, plugins, ctx)</c> over a given list (a global rule's, or the route's).
    /// The phase <c>rewrite_in_consumer</c> runs the rewrite of the plugins a consumer (or its
    /// group) added, skipping auth plugins and those the route already had (<see cref="ConsumerPlugins"/>).
    /// </summary>
    public async Task<bool> RunPluginAsync(string phase, List<(IPlugin Plugin, JsonObject Conf)> plugins, ApiCtx ctx)
    {
        var fromConsumer = phase == "rewrite_in_consumer" ? ctx.Items.GetValueOrDefault(ConsumerPlugins) as HashSet<string> : null;
        // by index over the live list, as plugin.lua walks ctx.plugins
        for (var i = 0; i < plugins.Count; i++)
        {
            var (plugin, conf) = plugins[i];
            PhaseResult result;
            ctx.PluginName = plugin.Name;
            switch (phase)
            {
                case "rewrite" when plugin is IRewritePhase p:
                    result = await p.RewriteAsync(conf, ctx);
                    break;
                case "rewrite_in_consumer" when plugin is IRewritePhase p:
                    if (fromConsumer == null || !fromConsumer.Contains(plugin.Name) || plugin.Type == "auth") continue;
                    result = await p.RewriteAsync(conf, ctx);
                    break;
                case "access" when plugin is IAccessPhase p:
                    result = await p.AccessAsync(conf, ctx);
                    break;
                case "before_proxy" when plugin is IBeforeProxyPhase p:
                    result = await p.BeforeProxyAsync(conf, ctx);
                    break;
                default:
                    continue;
            }
            ctx.PluginName = null;
            if (ctx.Request.Finished) return true;
            if (!result.Exits) continue;

            var code = result.Code ?? 200;
            var body = result.Body;
            if (code >= 400)
            {
                ctx.Log(LogLevel.Warn, $"{plugin.Name} exits with http status code {code}");
                if (conf["_meta"]?["error_response"] is { } errorResponse) body = errorResponse.DeepClone();
            }
            await CoreResponse.ExitAsync(ctx, ctx.Request, code, body);
            return true;
        }
        return false;
    }

    /// <summary>The <c>ctx</c> item naming the plugins a consumer or consumer group added to the route (<c>_from_consumer</c>).</summary>
    public const string ConsumerPlugins = "_from_consumer";

    /// <summary>The <c>ctx</c> item holding the global rules' plugins (run before the route's in every phase).</summary>
    public const string GlobalPlugins = "global_rules_plugins";

    /// <summary><c>common_phase</c>: the global rules' plugins, then the route's.</summary>
    private static IEnumerable<(IPlugin Plugin, JsonObject Conf)> GlobalThenRoute(ApiCtx ctx)
    {
        if (ctx.Items.GetValueOrDefault(GlobalPlugins) is List<(IPlugin, JsonObject)> global)
            foreach (var p in global.ToList()) yield return p;
        foreach (var p in ctx.Plugins.ToList()) yield return p;
    }

    /// <summary>No global rule plugin and no route plugin runs: the common phases have nothing to walk.</summary>
    private static bool NoPlugins(ApiCtx ctx) =>
        ctx.Plugins.Count == 0 && (ctx.Items.GetValueOrDefault(GlobalPlugins) is not List<(IPlugin, JsonObject)> global || global.Count == 0);

    /// <summary><c>run_plugin("header_filter")</c>: every plugin's header_filter, in order.</summary>
    public void RunHeaderFilter(ApiCtx ctx)
    {
        if (NoPlugins(ctx)) return;
        foreach (var (plugin, conf) in GlobalThenRoute(ctx))
        {
            if (plugin is not IHeaderFilterPhase p) continue;
            ctx.PluginName = plugin.Name;
            p.HeaderFilter(conf, ctx);
            ctx.PluginName = null;
        }
    }

    /// <summary>
    /// <c>run_plugin("body_filter")</c>: the chunk through every plugin's body_filter in order;
    /// a plugin that ends the body (eof) makes the later chunks empty.
    /// </summary>
    public static bool HasBodyFilter(ApiCtx ctx) => !NoPlugins(ctx) && GlobalThenRoute(ctx).Any(p => p.Plugin is IBodyFilterPhase or IDelayedBodyFilterPhase);

    public string RunBodyFilter(ApiCtx ctx, string chunk, bool eof)
    {
        if (ctx.Items.ContainsKey("_body_filter_done")) return "";
        foreach (var (plugin, conf) in GlobalThenRoute(ctx))
        {
            if (plugin is not IBodyFilterPhase p) continue;
            ctx.PluginName = plugin.Name;
            bool ended;
            (chunk, ended) = p.BodyFilter(conf, ctx, chunk, eof);
            ctx.PluginName = null;
            if (ended && !eof)
            {
                eof = true;
                ctx.Items["_body_filter_done"] = true;
            }
        }
        // common_phase("delayed_body_filter")
        foreach (var (plugin, conf) in GlobalThenRoute(ctx))
        {
            if (plugin is not IDelayedBodyFilterPhase p) continue;
            ctx.PluginName = plugin.Name;
            p.DelayedBodyFilter(conf, ctx, chunk, eof);
            ctx.PluginName = null;
        }
        return chunk;
    }

    /// <summary><c>run_plugin("log")</c>: every plugin's log phase; one failing does not stop the rest.</summary>
    public async Task RunLogAsync(ApiCtx ctx)
    {
        foreach (var (plugin, conf) in GlobalThenRoute(ctx))
        {
            if (plugin is not ILogPhase p) continue;
            ctx.PluginName = plugin.Name;
            try
            {
                await p.LogAsync(conf, ctx);
            }
            catch (Exception e)
            {
                ctx.Log(LogLevel.Error, $"failed to run the log phase of {plugin.Name}: {e.Message}");
            }
            ctx.PluginName = null;
        }
    }

    /// <summary>
    /// The error <see cref="LuaResponseFilterAsync"/> gives when a filter ended the response
    /// (Lua's <c>ngx.exit</c>: the caller's code after it never runs).
    /// </summary>
    public const string LuaResponseFilterExited = "exited";

    /// <summary>
    /// <c>plugin.lua_response_filter(ctx, headers, body, no_flush, wait)</c>: a chunk a plugin
    /// writes to the client itself, through every <c>lua_body_filter</c>, then printed and
    /// (unless <paramref name="noFlush"/>) flushed. False and the error when the client is gone.
    /// </summary>
    public static async Task<(bool Ok, string? Error)> LuaResponseFilterAsync(ApiCtx ctx,
        IReadOnlyDictionary<string, string> headers, string body, bool noFlush = false, bool wait = false)
    {
        foreach (var (plugin, conf) in ctx.Plugins)
        {
            if (plugin is not ILuaBodyFilter p) continue;
            var (code, newBody) = await p.LuaBodyFilterAsync(conf, ctx, headers, body);
            if (code != null)
            {
                if (code != 0) ctx.Request.Status = code.Value;
                ctx.Request.Append(newBody ?? "");
                ctx.Request.ExitStatus = 0;
                await ctx.Request.FinishAsync();
                return (false, LuaResponseFilterExited);
            }
            if (newBody != null) body = newBody;
        }
        if (!ctx.Request.Append(body)) return (false, ctx.Request.ClientGone ? "broken pipe" : "closed");
        if (!noFlush)
        {
            ctx.Log(LogLevel.Debug, "lua_response_filter: flushing chunk to client");
            var err = await ctx.Request.FlushAsync();
            if (err != null) return (false, err);
        }
        return (true, null);
    }
}
