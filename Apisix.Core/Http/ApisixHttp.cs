using Apisix.Core.Admin;
using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.Plugins;
using Apisix.Core.Store;
using Apisix.Core.Utils;
using Apisix.Core.Json;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Apisix.Core.Http;

/// <summary>
/// APISIX's HTTP entry points (apisix/init.lua): `http_init`, `http_admin` and
/// `http_access_phase`, over one config, one store and the plugins registered for them.
/// An nginx location calls these as its content handlers.
/// </summary>
public sealed class ApisixHttp
{
    /// <param name="adminStore">Where the admin API writes when it is not <paramref name="store"/>: a real
    /// etcd cluster, of which <paramref name="store"/> is the data plane's watched copy.</param>
    public ApisixHttp(ApisixConfig config, ConfigStore store, PluginRegistry plugins, IEtcdStore? adminStore = null)
    {
        Config = config;
        Store = store;
        Plugins = plugins;
        Admin = new AdminApi(config, adminStore ?? store, plugins);
        AdminOffLoop = adminStore != null;
        Router = new Router(store, config.EtcdPrefix);
        ParamRouter = new RadixtreeUriWithParameter(store, config.EtcdPrefix);
        Runner = new PluginRunner(plugins);
        Consumers = Consumer.InitWorker(store, plugins);
    }

    /// <summary><c>apisix.consumer</c>: consumers as auth plugins look them up.</summary>
    public Consumer Consumers { get; }

    public PluginRunner Runner { get; }

    public Router Router { get; }

    /// <summary>The router when `apisix.router.http` is `radixtree_uri_with_parameter`.</summary>
    public RadixtreeUriWithParameter ParamRouter { get; }

    public ApisixConfig Config { get; }
    public ConfigStore Store { get; }
    public PluginRegistry Plugins { get; }
    public AdminApi Admin { get; }

    /// <summary>
    /// Whether admin requests run off the worker's loop: a remote etcd answers over the network, and
    /// the data plane on the same worker must not wait for it (set when an admin store is given).
    /// </summary>
    public bool AdminOffLoop { get; set; }

    private Dictionary<string, (List<StoreEntry> Items, long Revision)>? _loadedConfiguration;
    private bool _loadedConfigurationRead;

    /// <summary>
    /// <c>http_init_worker</c>'s config objects for <paramref name="worker"/> (see
    /// <see cref="WorkerConfigs"/>); with <paramref name="privilegedAgent"/>, also the
    /// privileged agent's, which run on this worker's loop and log under the agent's pid.
    /// The directories the master read at init (<c>init_loaded_configuration</c>) are read
    /// once, at the first worker's start, unless <c>disable_sync_configuration_during_start</c>.
    /// </summary>
    public WorkerConfigs? HttpInitWorker(LuaWorker worker, bool privilegedAgent)
    {
        var nginx = worker.Nginx;
        // the seed of each process differs; upstream logs a draw "for testing only"
        nginx.Log(worker, LogLevel.Info, "random test in [1, 10000]: " + Random.Shared.Next(1, 10001), null);
        if (privilegedAgent) nginx.LogPrivilegedAgentInit(LogLevel.Info, "random test in [1, 10000]: " + Random.Shared.Next(1, 10001));
        // plugin.init_worker -> plugin.load(): each process says which plugin lists it loads
        foreach (var note in PluginLoadNotes(Config))
        {
            nginx.Log(worker, LogLevel.Warn, note, null);
            if (privilegedAgent) nginx.LogPrivilegedAgentInit(LogLevel.Warn, note);
        }
        // a standalone data plane (yaml/json) has no etcd to sync from
        if (Config.ConfigProvider != "etcd") return null;
        if (!_loadedConfigurationRead)
        {
            _loadedConfigurationRead = true;
            // the master's etcd client (init phase) and then each process's (init_worker), as
            // lua-resty-etcd's health check reports the mode it runs in
            nginx.LogInternal(LogLevel.Info, "healthy check use round robin");
            if (!JsonScalars.TryGetBoolean(Config.Get("apisix", "disable_sync_configuration_during_start"), out var disable) || !disable)
                _loadedConfiguration = AutomaticConfig.LoadedConfiguration(Store, Config.EtcdPrefix);
        }
        void Post(Action work) => worker.Loop.Post(_ => work(), null);
        nginx.Log(worker, LogLevel.Info, "healthy check use ngx.shared dict", null);
        if (privilegedAgent) nginx.LogPrivilegedAgentInit(LogLevel.Info, "healthy check use ngx.shared dict");
        var configs = WorkerConfigs.Create(Store, Config, Plugins, _loadedConfiguration,
            (level, msg) => nginx.Log(worker, level, msg, null), Post, nginx.Stopping);
        WorkerConfigs.Attach(worker, configs);
        if (privilegedAgent)
        {
            var agent = WorkerConfigs.Create(Store, Config, Plugins, _loadedConfiguration, nginx.LogPrivilegedAgent, Post, nginx.Stopping);
            nginx.Stopping.Register(agent.Dispose);
        }
        return configs;
    }

    /// <summary>
    /// What plugin.load() logs at warn when a process starts: the http plugins (and wasm plugins,
    /// with their attributes) it loads, then the stream plugins, each as a JSON object of names
    /// (Lua's hash order there; the port writes the list's order).
    /// </summary>
    public static IEnumerable<string> PluginLoadNotes(ApisixConfig config)
    {
        var http = new JsonObject();
        foreach (var name in config.Plugins) http[name] = true;
        if (config.Get("wasm", "plugins") is JsonArray wasm)
            foreach (var attrs in wasm.OfType<JsonObject>())
                if (JsonScalars.TryGetString(attrs["name"], out var wasmName) && !http.ContainsKey(wasmName))
                    http[wasmName] = attrs.DeepClone();
        yield return "[lua] plugin.lua:288: load(): new plugins: " + CJson.Encode(http);
        if (config.Root["stream_plugins"] is JsonArray)
        {
            var stream = new JsonObject();
            foreach (var name in config.StreamPlugins) stream[name] = true;
            yield return "[lua] plugin.lua:338: load_stream(): new plugins: " + CJson.Encode(stream);
        }
        else yield return "[lua] plugin.lua:434: load(): failed to read stream plugin list from local file";
    }

    /// <summary>
    /// Items of the store that this worker's config sync refused (<see cref="WorkerConfigs"/>):
    /// the gateway reads the store directly and leaves these out, as the data plane never held them.
    /// </summary>
    private static Func<StoreEntry, bool> RefusedBySync(ApiCtx ctx)
    {
        var configs = WorkerConfigs.Of(ctx.Request.Worker);
        return configs == null ? static _ => false : configs.Refused;
    }

    /// <summary>`apisix.http_admin()`: the Admin API on /apisix/admin.</summary>
    public async Task HttpAdminAsync(NgxRequest req)
    {
        await req.ReadBodyAsync();
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in req.RequestHeaders) headers.TryAdd(name.ToLowerInvariant(), value);
        var uri = req.Uri;
        var body = req.BodyText() is { Length: > 0 } b ? b : null;
        Action<string, string> log = (level, message) => req.Log(ErrorLog.Parse(level), message);
        var standalone = new StandaloneHost(req.Nginx, Store, log);
        var resp = AdminOffLoop
            ? await Task.Run(() => Admin.Handle(req.Method, uri, body, headers, req.Args, log, standalone))
            : Admin.Handle(req.Method, uri, body, headers, req.Args, log, standalone);
        req.Status = resp.Status;
        req.SetResponseHeader("Content-Type", resp.ContentType);
        foreach (var (name, value) in resp.Headers) req.SetResponseHeader(name, value);
        req.Append(resp.Body);
        await req.FinishAsync();
    }

    /// <summary>
    /// The variables APISIX's nginx.conf declares with `set` in its gateway location, with their
    /// initial values: plugins write them through <c>ctx.var</c> and the access log reads them.
    /// <c>request_line</c> is declared empty there and http_access_phase copies <c>$request</c> into it
    /// before anything else can answer, so it starts as <c>$request</c> here. <c>apisix_request_id</c>
    /// (<c>$request_id</c>) is what the location's <c>lua_error_log_request_id</c> appends to error-log
    /// lines; request-id replaces it with its own id.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Value)> GatewayVariables =
    [
        ("request_line", "$request"), ("apisix_request_id", "$request_id"),
        ("upstream_scheme", "http"), ("upstream_host", "$http_host"), ("upstream_uri", ""),
        ("llm_content_risk_level", ""), ("apisix_upstream_response_time", "$upstream_response_time"),
        ("request_type", "traditional_http"), ("request_llm_model", ""), ("llm_time_to_first_token", "0"),
        ("llm_model", ""), ("llm_prompt_tokens", "0"), ("llm_completion_tokens", "0"), ("llm_total_tokens", "0"),
        ("llm_stream", "false"), ("llm_has_tool_calls", "false"), ("llm_tool_count", "0"), ("llm_end_user_id", ""),
        ("llm_cache_read_input_tokens", "0"), ("llm_cache_creation_input_tokens", "0"), ("llm_reasoning_tokens", "0"),
        ("rate_limiting_info", ""),
    ];

    private readonly Dictionary<string, (string Version, JsonObject Route)> _confCache = new(StringComparer.Ordinal);

    private string? _routesDirCache;
    // the routes directory under the deployment's prefix (the config does not change once loaded)
    private string RoutesDir => _routesDirCache ??= Config.EtcdPrefix + "/routes/";

    private readonly BoundedCache<string> _routeKeys = new(4096);

    /// <summary>A route's store key, built once per route id.</summary>
    private string RouteKey(string id) => _routeKeys.Get(id, RoutesDir, static (id, dir) => dir + id);

    /// <summary>`apisix.http_access_phase()`: route the request and run its plugins.</summary>
    public async Task HttpAccessPhaseAsync(NgxRequest req)
    {
        var ctx = new ApiCtx(req) { Store = Store, Config = Config };
        req.HeaderFilter = () => HttpHeaderFilterPhase(ctx);
        try
        {
            if (await AccessAsync(ctx) is { } route) await HandleUpstreamAsync(ctx, route);
            if (!req.Finished) await req.FinishAsync();
        }
        finally
        {
            // http_log_phase: the `set` at the start of the request saw no upstream yet
            // (nil when no upstream was called, which leaves it empty)
            if (string.IsNullOrEmpty(ctx.Var.GetString("apisix_upstream_response_time"))
                && NgxVars.Get(req.Nginx, req, "upstream_response_time") is { Length: > 0 } upstreamTime)
                ctx.Var["apisix_upstream_response_time"] = upstreamTime;
            if (ctx.Plugins.Count > 0 || ctx.Items.ContainsKey(PluginRunner.GlobalPlugins)) await Runner.RunLogAsync(ctx);
            Upstream.UpstreamProxy.LogPhase(ctx);
        }
    }

    /// <summary>
    /// <c>http/route.lua</c>'s <c>match_uri</c>: the first candidate route (best first) whose
    /// <c>vars</c> hold and whose <c>filter_func</c>, if any, returns true for <c>ctx.var</c>.
    /// </summary>
    private async Task<Router.Match?> MatchRouteAsync(ApiCtx ctx, string? host)
    {
        var req = ctx.Request;
        if (Config.RouterHttp == RadixtreeUriWithParameter.Name)
        {
            var found = ParamRouter.Find(req.Method, req.Uri, host);
            ctx.CurrReqMatched = found?.Params;
            return found?.Match;
        }
        // without a Content-Type no condition can need the body (neither a form nor a body table)
        if (!req.BodyRead && req.RequestHeader("Content-Type") != null)
            await ReadBodyForPostArgsAsync(ctx, Store.ListShared(RoutesDir).Select(e => (e.Value as JsonObject)?["vars"]));
        foreach (var m in Router.Candidates(req.Method, req.Uri, host, ctx.Var.Get, RefusedBySync(ctx)))
        {
            if (JsonScalars.TryGetString(m.Route["filter_func"], out string src) && !await FilterFuncAsync(ctx, m.Id, src))
                continue;
            return m;
        }
        return null;
    }

    /// <summary>
    /// <c>post_arg_*</c> variables read the form body (<c>request.get_post_args</c> reads it on
    /// demand); here it is read before conditions that name such a variable are evaluated.
    /// </summary>
    public static async Task ReadBodyForPostArgsAsync(ApiCtx ctx, IEnumerable<JsonNode?> conditions)
    {
        var req = ctx.Request;
        if (req.BodyRead) return;
        List<string>? texts = null;
        List<string> Texts() => texts ??= conditions.Where(c => c != null).Select(c => c!.ToJsonString()).ToList();
        var contentType = req.RequestHeader("Content-Type");
        if (contentType != null && contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal)
            && Texts().Any(t => t.Contains("\"post_arg_", StringComparison.Ordinal)))
            await req.ReadBodyAsync();
        // post_arg.* reads the body parsed by its Content-Type (request.get_request_body_table)
        else if (CoreRequest.BodyTableWanted(ctx) && Texts().Any(t => t.Contains("\"post_arg.", StringComparison.Ordinal)))
            await req.ReadBodyAsync();
    }

    // A route's filter_func, compiled once per worker (as create_radixtree_uri_router does), called with ctx.var.
    private static readonly LuaChunk FilterFuncChunk = new("""
        local id, src, vars = ...
        local cache = package.loaded["apisix.bridge.route-filter-func"]
        if type(cache) ~= "table" then
            cache = {}
            package.loaded["apisix.bridge.route-filter-func"] = cache
        end
        local key = id .. "\0" .. src
        local f = cache[key]
        if f == nil then
            local loader, err = loadstring("return " .. src, "router#" .. id)
            if not loader then
                ngx.log(ngx.ERR, "failed to load filter function: ", err, " route id: ", id)
                f = false
            else
                f = loader()
            end
            cache[key] = f
        end
        if not f then
            return false
        end
        local var = setmetatable({}, {
            __index = function(_, k) return vars:Get(k) end,
            __newindex = function(_, k, v) vars:Set(k, v) end,
        })
        return f(var) and true or false
        """, "route-filter-func", 1);

    private static async Task<bool> FilterFuncAsync(ApiCtx ctx, string routeId, string src)
    {
        var worker = ctx.Request.Worker;
        if (worker == null) return true;
        var r = await worker.RunEntry(worker.Chunk(FilterFuncChunk), ctx.Request, routeId, src,
            new Plugins.Builtin.ServerlessPlugin.LuaVars(ctx.Var));
        if (!r.Ok)
        {
            ctx.Log(LogLevel.Error, $"lua entry thread aborted: runtime error: {r.Error}\n{r.Traceback}");
            return false;
        }
        return r.Values.Length > 0 && r.Values[0] is true;
    }

    /// <summary>
    /// The access phase up to handle_upstream: the route to proxy to, or null when the request was
    /// answered here (a plugin, a failed lookup). Completes at once unless a plugin waits, so the
    /// proxying that follows is not awaited through it.
    /// </summary>
    private async ValueTask<JsonObject?> AccessAsync(ApiCtx ctx)
    {
        var req = ctx.Request;
        ctx.Var["real_request_uri"] = ctx.Var.GetString("request_uri");
        var host = ctx.Var.GetString("host");
        var match = await MatchRouteAsync(ctx, host);
        if (match == null)
        {
            // global rules run even when no route matched
            if (await RunGlobalRulesAsync(ctx, "rewrite") || await RunGlobalRulesAsync(ctx, "access")) return null;
            ctx.Log(LogLevel.Info, "not find any matched route");
            req.SetResponseHeader("Content-Type", "text/plain");
            await CoreResponse.ExitAsync(ctx, req, 404, new JsonObject { ["error_msg"] = "404 Route Not Found" });
            return null;
        }

        // the stored route itself: only read until the merges and CheckedConf copy it
        var route = match.Route;
        var routeVersion = Store.GetShared(RouteKey(match.Id))?.ModifiedIndex.ToString(CultureInfo.InvariantCulture) ?? "0";
        ctx.ConfType = "route";
        ctx.ConfVersion = routeVersion;
        ctx.ConfId = match.Id;
        var ownPlugins = route["plugins"] as JsonObject;
        var enableWebsocket = route["enable_websocket"];
        if (PluginConfig.IdOf(route) is { } pcId)
        {
            if (PluginConfig.Get(Store, pcId, RefusedBySync(ctx)) is not { } pc)
            {
                ctx.Log(LogLevel.Error, "failed to fetch plugin config by id: " + pcId);
                await CoreResponse.ExitAsync(ctx, req, 503, null);
                return null;
            }
            (route, routeVersion) = PluginConfig.Merge(route, routeVersion, pc);
            PluginMeta.SetParent(ctx, ((JsonObject)pc.Value!)["plugins"] as JsonObject, pc.Key);
            ctx.ConfVersion = routeVersion;
        }
        if (route["service_id"] is { } sid)
        {
            var serviceId = sid.GetValueKind() == JsonValueKind.String ? sid.GetValue<string>() : sid.ToJsonString();
            var service = Store.Get(Config.EtcdPrefix + "/services/" + serviceId);
            if (service?.Value is not JsonObject serviceValue || RefusedBySync(ctx)(service))
            {
                ctx.Log(LogLevel.Error, $"failed to fetch service configuration by id: {serviceId}");
                await CoreResponse.ExitAsync(ctx, req, 404, null);
                return null;
            }
            // plugin.merge_service_route's lines: both config items as config_etcd holds them
            ctx.Log(LogLevel.Info, "merge_service_route(): service conf: " + ConfItemJson(service, serviceValue));
            ctx.Log(LogLevel.Info, "merge_service_route():   route conf: "
                + ConfItemJson(Store.Get(Config.EtcdPrefix + "/routes/" + match.Id), route));
            route = PluginRunner.MergeServiceRoute(serviceValue, route);
            enableWebsocket ??= serviceValue["enable_websocket"];
            PluginMeta.SetParent(ctx, serviceValue["plugins"] as JsonObject, service.Key, onlyNew: true);
            ctx.ConfType = "route&service";
            ctx.ConfVersion = routeVersion + "&" + service.ModifiedIndex.ToString(CultureInfo.InvariantCulture);
            ctx.ConfId = match.Id + "&" + serviceId;
            ctx.ServiceId = serviceId;
            ctx.ServiceName = JsonScalars.TryGetString(serviceValue["name"], out var sn) ? sn : null;
        }
        if (ownPlugins != null) PluginMeta.SetParent(ctx, ownPlugins, "/apisix/routes/" + match.Id);
        if (JsonScalars.TryGetBoolean(enableWebsocket, out var websocket) && websocket) ctx.Items[EnableWebsocketItem] = true;
        route = CheckedConf(ctx.ConfId, ctx.ConfVersion, route);
        ctx.MatchedRoute = route;
        ctx.RouteId = match.Id;
        ctx.RouteName = JsonScalars.TryGetString(route["name"], out var rn) ? rn : null;

        if (await RunGlobalRulesAsync(ctx, "rewrite")) return null;
        ctx.Plugins = Runner.Filter(route, ctx.Request.Worker);
        if (await Runner.RunPluginAsync("rewrite", ctx)) return null;
        if (Consumer.Of(ctx) is { } consumer)
        {
            JsonObject? group = null;
            long groupVersion = 0;
            if (consumer.GroupId is { } gid)
            {
                if (ConsumerGroup.Get(Store, gid, RefusedBySync(ctx)) is not { } g)
                {
                    ctx.Log(LogLevel.Error, "failed to fetch consumer group config by id: " + gid);
                    await CoreResponse.ExitAsync(ctx, req, 503, null);
                    return null;
                }
                group = CheckedConf("consumer_group#" + gid, g.ModifiedIndex.ToString(CultureInfo.InvariantCulture),
                    (JsonObject)g.Value!);
                PluginMeta.SetParent(ctx, group["plugins"] as JsonObject, g.Key);
                groupVersion = g.ModifiedIndex;
            }
            PluginMeta.SetParent(ctx, consumer.Plugins, consumer.Key);
            var (merged, changed) = MergeConsumerRoute(ctx, route, consumer, group, groupVersion);
            ctx.Log(LogLevel.Info, "find consumer " + consumer.Username + ", config changed: " + (changed ? "true" : "false"));
            if (changed)
            {
                route = merged;
                ctx.MatchedRoute = route;
                ctx.Plugins = Runner.Filter(route, ctx.Request.Worker);
                if (await Runner.RunPluginAsync("rewrite_in_consumer", ctx)) return null;
            }
        }
        if (await RunGlobalRulesAsync(ctx, "access")) return null;
        if (await Runner.RunPluginAsync("access", ctx)) return null;
        // a response the plugins started (ngx.say in a serverless function) ends the request at the
        // end of access_by_lua, as lua-nginx-module does; the upstream is not called
        if (req.HeadersSent) return null;
        return route;
    }

    /// <summary>
    /// <c>plugin.merge_consumer_route</c>: the consumer group's plugins, then the consumer's,
    /// over the route's (they replace a route's conf of the same plugin); the ones the route did
    /// not have are marked as coming from the consumer, for <c>rewrite_in_consumer</c>. The
    /// ctx's conf type, version and id gain the consumer (and group) parts.
    /// </summary>
    private static (JsonObject Route, bool Changed) MergeConsumerRoute(ApiCtx ctx, JsonObject route,
        ConsumerInfo consumer, JsonObject? group, long groupVersion)
    {
        var groupPlugins = group?["plugins"] as JsonObject;
        var hasConsumerPlugins = consumer.Plugins is { Count: > 0 };
        var hasGroupPlugins = groupPlugins is { Count: > 0 };
        JsonObject result = route;
        if (!hasConsumerPlugins && !hasGroupPlugins)
        {
            ctx.Log(LogLevel.Info, "consumer and consumer group have no plugins");
        }
        else
        {
            result = (JsonObject)route.DeepClone();
            var plugins = result["plugins"] as JsonObject ?? new JsonObject();
            result["plugins"] = plugins;
            var fromConsumer = new HashSet<string>(StringComparer.Ordinal);
            foreach (var source in new[] { hasGroupPlugins ? groupPlugins : null, hasConsumerPlugins ? consumer.Plugins : null })
            {
                if (source == null) continue;
                foreach (var (name, conf) in source)
                {
                    if (!plugins.ContainsKey(name)) fromConsumer.Add(name);
                    plugins[name] = conf?.DeepClone();
                }
            }
            ctx.Items[PluginRunner.ConsumerPlugins] = fromConsumer;
        }
        ctx.ConfType += "&consumer";
        ctx.ConfVersion += "&" + CtxVar.ToVarString(ctx.Items.GetValueOrDefault("consumer_ver"));
        ctx.ConfId += "&" + consumer.ConsumerName;
        if (group != null)
        {
            ctx.ConfType += "&consumer_group";
            ctx.ConfVersion += "&" + groupVersion.ToString(CultureInfo.InvariantCulture);
            ctx.ConfId += "&" + CtxVar.ToVarString(group["id"]);
        }
        return (result, !ReferenceEquals(result, route));
    }

    /// <summary>
    /// <c>plugin.run_global_rules(ctx, global_rules, conf_version, phase)</c>: the global rules'
    /// plugins (merged, checked) in one phase, under the conf type "global_rule". In the rewrite
    /// phase the list is kept on the ctx for the later phases. True when a plugin ended the request.
    /// </summary>
    private async Task<bool> RunGlobalRulesAsync(ApiCtx ctx, string phase)
    {
        List<(IPlugin, JsonObject)>? plugins;
        if (phase == "rewrite")
        {
            var merged = GlobalRules.Merge(Store, ctx.Log, RefusedBySync(ctx));
            if (merged == null) return false;
            var (rulePlugins, version, parents) = merged.Value;
            foreach (var (name, key) in parents) PluginMeta.SetParent(ctx, new JsonObject { [name] = null }, key, global: true);
            var checkedRule = CheckedConf("global_rule#dummy", version, new JsonObject { ["plugins"] = rulePlugins });
            plugins = Runner.Filter(checkedRule, ctx.Request.Worker);
            // run_policy "prefer_route": the route's own (enabled) conf wins over the global rule's
            if (ctx.MatchedRoute?["plugins"] is JsonObject routePlugins)
                plugins.RemoveAll(p => p.Item1.RunPolicy == "prefer_route" && routePlugins[p.Item1.Name] is JsonObject rc
                    && !(rc["_meta"]?["disable"] is JsonValue d && d.TryGetValue(out bool off) && off));
            ctx.Items[PluginRunner.GlobalPlugins] = plugins;
            ctx.Items["global_rules_version"] = version;
        }
        else plugins = ctx.Items.GetValueOrDefault(PluginRunner.GlobalPlugins) as List<(IPlugin, JsonObject)>;
        if (plugins == null || plugins.Count == 0) return false;
        var (type, ver, id) = (ctx.ConfType, ctx.ConfVersion, ctx.ConfId);
        ctx.ConfType = "global_rule";
        ctx.ConfVersion = ctx.Items.GetValueOrDefault("global_rules_version") as string;
        ctx.ConfId = "1";
        try
        {
            return await Runner.RunPluginAsync(phase, plugins, ctx);
        }
        finally
        {
            (ctx.ConfType, ctx.ConfVersion, ctx.ConfId) = (type, ver, id);
        }
    }

    /// <summary>
    /// The confs a data plane runs with: the stored route (merged with its service) after each
    /// plugin's check_schema wrote its defaults, kept while the config version stays the same,
    /// so state a plugin caches per conf lives as long as the conf does.
    /// </summary>
    private JsonObject CheckedConf(string id, string version, JsonObject route)
    {
        if (_confCache.TryGetValue(id, out var hit) && hit.Version == version) return hit.Route;
        var copy = (JsonObject)route.DeepClone();
        if (copy["plugins"] is JsonObject plugins)
        {
            foreach (var (name, conf) in plugins.ToList())
            {
                if (conf is not JsonObject c || Plugins.Get(name) is not { } plugin) continue;
                plugin.CheckSchema(c, SchemaType.Plugin);
                Plugins.DecryptConf(name, c);
            }
        }
        _confCache[id] = (version, copy);
        return copy;
    }

    /// <summary>The route (or else its service) has <c>enable_websocket</c>: handle_upstream's argument.</summary>
    public const string EnableWebsocketItem = "enable_websocket";

    /// <summary>A config item as config_etcd keeps it ({key, value, createdIndex, modifiedIndex}), as JSON for a log line.</summary>
    private static string ConfItemJson(StoreEntry? entry, JsonObject value) => CJson.Encode(new JsonObject
    {
        ["createdIndex"] = entry?.CreatedIndex ?? 0,
        ["key"] = entry?.Key,
        ["modifiedIndex"] = entry?.ModifiedIndex ?? 0,
        ["value"] = value.DeepClone(),
    });

    /// <summary>
    /// `handle_upstream`: plugins that call the upstream themselves run before_proxy; otherwise the
    /// request is proxied to the route's upstream.
    /// </summary>
    private Task HandleUpstreamAsync(ApiCtx ctx, JsonObject route)
    {
        if (ctx.BypassNginxUpstream) return Runner.RunPluginAsync("before_proxy", ctx);
        // nginx's proxy_pass to the route's upstream (Apisix.Core/Upstream); its task directly, no level of its own
        return (_proxy ??= Upstream.UpstreamProxy.For(this)).HandleAsync(ctx, route, Runner);
    }

    // this instance's proxy, looked up once (the lookup is a weak table's, not free per request)
    private Upstream.UpstreamProxy? _proxy;

    private static readonly string ServerTokens = "APISIX/" + AdminOptions.ApisixVersion;

    /// <summary>`http_header_filter_phase`: the Server header, then the plugins' header filters.</summary>
    private void HttpHeaderFilterPhase(ApiCtx ctx)
    {
        // apisix.enable_server_tokens false: the Server header names APISIX without its version
        ctx.Request.SetResponseHeader("Server", Config.EnableServerTokens ? ServerTokens : "APISIX");
        if (NgxVars.Get(ctx.Request.Nginx, ctx.Request, "upstream_status") is { } upStatus)
            SetRespUpstreamStatus(ctx, upStatus);
        Runner.RunHeaderFilter(ctx);
        // the body filter phase, when a plugin that runs has one
        if (PluginRunner.HasBodyFilter(ctx))
            ctx.Request.BodyFilter = (chunk, eof) => Runner.RunBodyFilter(ctx, chunk, eof);
    }

    /// <summary>
    /// `set_resp_upstream_status`: X-APISIX-Upstream-Status carries $upstream_status when
    /// `apisix.show_upstream_status_in_response_header` is on, else only when the (last) status
    /// is a 5xx ("502, 502" and "502, 502 : " forms included).
    /// </summary>
    private void SetRespUpstreamStatus(ApiCtx ctx, string upStatus)
    {
        if (Config.ShowUpstreamStatusInResponseHeader)
        {
            ctx.Request.SetResponseHeader("X-APISIX-Upstream-Status", upStatus);
            return;
        }
        string? last = upStatus.Length == 3 ? upStatus
            : upStatus.Length > 3 ? (upStatus[^1] == ' ' ? upStatus.Substring(upStatus.Length - 6, 3) : upStatus[^3..])
            : null;
        if (last != null && int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 500 and <= 599)
            ctx.Request.SetResponseHeader("X-APISIX-Upstream-Status", upStatus);
    }
}
