using Apisix.Core.Admin;
using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Store;
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
    public ApisixHttp(ApisixConfig config, ConfigStore store, PluginRegistry plugins)
    {
        Config = config;
        Store = store;
        Plugins = plugins;
        Admin = new AdminApi(config, store, plugins);
        Router = new Router(store, config.EtcdPrefix);
        Runner = new PluginRunner(plugins);
    }

    public PluginRunner Runner { get; }

    public Router Router { get; }

    public ApisixConfig Config { get; }
    public ConfigStore Store { get; }
    public PluginRegistry Plugins { get; }
    public AdminApi Admin { get; }

    /// <summary>`apisix.http_admin()`: the Admin API on /apisix/admin.</summary>
    public async Task HttpAdminAsync(NgxRequest req)
    {
        await req.ReadBodyAsync();
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in req.RequestHeaders) headers.TryAdd(name.ToLowerInvariant(), value);
        var uri = req.Uri;
        var resp = Admin.Handle(req.Method, uri, req.Body is { Length: > 0 } b ? b : null, headers, req.Args,
            (level, message) => req.Log(ErrorLog.Parse(level), message));
        req.Status = resp.Status;
        req.SetResponseHeader("Content-Type", resp.ContentType);
        foreach (var (name, value) in resp.Headers) req.SetResponseHeader(name, value);
        req.Append(resp.Body);
        await req.FinishAsync();
    }

    /// <summary>
    /// The variables APISIX's nginx.conf declares with `set` in its gateway location, with their
    /// initial values: plugins write them through <c>ctx.var</c> and the access log reads them.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Value)> GatewayVariables =
    [
        ("upstream_scheme", "http"), ("upstream_host", "$http_host"), ("upstream_uri", ""),
        ("llm_content_risk_level", ""), ("apisix_upstream_response_time", "$upstream_response_time"),
        ("request_type", "traditional_http"), ("request_llm_model", ""), ("llm_time_to_first_token", "0"),
        ("llm_model", ""), ("llm_prompt_tokens", "0"), ("llm_completion_tokens", "0"), ("llm_total_tokens", "0"),
        ("llm_stream", "false"), ("llm_has_tool_calls", "false"), ("llm_tool_count", "0"), ("llm_end_user_id", ""),
        ("llm_cache_read_input_tokens", "0"), ("llm_cache_creation_input_tokens", "0"), ("llm_reasoning_tokens", "0"),
        ("rate_limiting_info", ""),
    ];

    private readonly Dictionary<string, (string Version, JsonObject Route)> _confCache = new(StringComparer.Ordinal);

    /// <summary>`apisix.http_access_phase()`: route the request and run its plugins.</summary>
    public async Task HttpAccessPhaseAsync(NgxRequest req)
    {
        var ctx = new ApiCtx(req) { Store = Store, Config = Config };
        req.HeaderFilter = () => HttpHeaderFilterPhase(ctx);
        try
        {
            await AccessAsync(ctx);
            if (!req.Finished) await req.FinishAsync();
        }
        finally
        {
            if (ctx.Plugins.Count > 0) await Runner.RunLogAsync(ctx);
        }
    }

    private async Task AccessAsync(ApiCtx ctx)
    {
        var req = ctx.Request;
        ctx.Var["real_request_uri"] = ctx.Var.GetString("request_uri");
        var host = ctx.Var.GetString("host");
        var match = Router.Find(req.Method, req.Uri, host);
        if (match == null)
        {
            ctx.Log(LogLevel.Info, "not find any matched route");
            req.SetResponseHeader("Content-Type", "text/plain");
            await CoreResponse.ExitAsync(ctx, req, 404, new JsonObject { ["error_msg"] = "404 Route Not Found" });
            return;
        }

        var route = match.Route;
        var routeVersion = Store.Get(Config.EtcdPrefix + "/routes/" + match.Id)?.ModifiedIndex.ToString(CultureInfo.InvariantCulture) ?? "0";
        ctx.ConfType = "route";
        ctx.ConfVersion = routeVersion;
        ctx.ConfId = match.Id;
        if (route["service_id"] is { } sid)
        {
            var serviceId = sid.GetValueKind() == JsonValueKind.String ? sid.GetValue<string>() : sid.ToJsonString();
            var service = Store.Get(Config.EtcdPrefix + "/services/" + serviceId);
            if (service?.Value is not JsonObject serviceValue)
            {
                ctx.Log(LogLevel.Error, $"failed to fetch service configuration by id: {serviceId}");
                await CoreResponse.ExitAsync(ctx, req, 404, null);
                return;
            }
            route = PluginRunner.MergeServiceRoute(serviceValue, route);
            ctx.ConfType = "route&service";
            ctx.ConfVersion = routeVersion + "&" + service.ModifiedIndex.ToString(CultureInfo.InvariantCulture);
            ctx.ConfId = match.Id + "&" + serviceId;
            ctx.ServiceId = serviceId;
            ctx.ServiceName = JsonScalars.TryGetString(serviceValue["name"], out var sn) ? sn : null;
        }
        route = CheckedConf(ctx.ConfId, ctx.ConfVersion, route);
        ctx.MatchedRoute = route;
        ctx.RouteId = match.Id;
        ctx.RouteName = JsonScalars.TryGetString(route["name"], out var rn) ? rn : null;

        ctx.Plugins = Runner.Filter(route);
        if (await Runner.RunPluginAsync("rewrite", ctx)) return;
        if (await Runner.RunPluginAsync("access", ctx)) return;
        await HandleUpstreamAsync(ctx, route);
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

    /// <summary>
    /// `handle_upstream`: plugins that call the upstream themselves run before_proxy; otherwise the
    /// request is proxied to the route's upstream.
    /// </summary>
    private async Task HandleUpstreamAsync(ApiCtx ctx, JsonObject route)
    {
        if (ctx.BypassNginxUpstream)
        {
            await Runner.RunPluginAsync("before_proxy", ctx);
            return;
        }
        // nginx's proxy_pass to the route's upstream (Apisix.Core/Upstream)
        await Upstream.UpstreamProxy.For(this).HandleAsync(ctx, route, Runner);
    }

    /// <summary>`http_header_filter_phase`: the Server header, then the plugins' header filters.</summary>
    private void HttpHeaderFilterPhase(ApiCtx ctx)
    {
        ctx.Request.SetResponseHeader("Server", "APISIX/" + AdminOptions.ApisixVersion);
        Runner.RunHeaderFilter(ctx);
    }
}
