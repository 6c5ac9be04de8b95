using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;

namespace Apisix.Core;

/// <summary>
/// The per-request <c>api_ctx</c> of APISIX (<c>ngx.ctx.api_ctx</c>): the matched route, the
/// plugins that run for it, <c>ctx.var</c>, and the fields plugins leave for one another.
/// Fields every request has are properties; a plugin keeps its own state in
/// <see cref="Items"/> under the field name it has in Lua (or in a typed object stored there).
/// </summary>
public sealed class ApiCtx
{
    public ApiCtx(NgxRequest request)
    {
        Request = request;
        Var = new CtxVar(this);
    }

    public NgxRequest Request { get; }

    /// <summary>The local config (<c>core.config.local_conf()</c>).</summary>
    public Config.ApisixConfig? Config { get; set; }

    /// <summary>The config store the request's route came from (etcd in APISIX).</summary>
    public Store.ConfigStore? Store { get; set; }

    /// <summary><c>ctx.var</c>.</summary>
    public CtxVar Var { get; }

    /// <summary><c>ctx.matched_route</c>: the route (merged with its service) as stored, with its id.</summary>
    public JsonObject? MatchedRoute { get; set; }
    public string? RouteId { get; set; }
    public string? RouteName { get; set; }
    public string? ServiceId { get; set; }
    public string? ServiceName { get; set; }
    public string? ConsumerName { get; set; }

    /// <summary><c>ctx.conf_type</c>, <c>conf_version</c>, <c>conf_id</c>: what the plugin confs come from.</summary>
    public string? ConfType { get; set; }
    public string? ConfVersion { get; set; }
    public string? ConfId { get; set; }

    /// <summary><c>ctx.plugins</c>: the plugins that run, in order, with their confs.</summary>
    public List<(IPlugin Plugin, JsonObject Conf)> Plugins { get; set; } = new();

    /// <summary><c>ctx._plugin_name</c>: the plugin whose phase is running.</summary>
    public string? PluginName { get; set; }

    /// <summary><c>ctx.bypass_nginx_upstream</c>: the plugin talks to the upstream itself (before_proxy).</summary>
    public bool BypassNginxUpstream { get; set; }

    /// <summary><c>ctx.balancer_ip</c> / <c>balancer_port</c>.</summary>
    public string? BalancerIp { get; set; }
    public object? BalancerPort { get; set; }

    /// <summary><c>ctx._resp_source</c>: "apisix" when APISIX itself answered, "upstream" when the upstream did.</summary>
    public string? RespSource { get; set; }

    /// <summary><c>ctx.curr_req_matched</c>: the route path's parameters (radixtree_uri_with_parameter), else null.</summary>
    public Dictionary<string, string>? CurrReqMatched { get; set; }

    /// <summary>Free fields of <c>api_ctx</c> set by plugins, by their Lua name.</summary>
    // room for what a proxied request leaves here (forwarded-headers mark, upstream scheme, conf and
    // balancer state, proxied mark) without growing twice on the way
    public Dictionary<string, object?> Items { get; } = new(8, StringComparer.Ordinal);

    /// <summary>The typed state a plugin family keeps on the ctx, created on first use.</summary>
    public T Get<T>(string key) where T : class, new()
    {
        if (Items.TryGetValue(key, out var v) && v is T t) return t;
        var created = new T();
        Items[key] = created;
        return created;
    }

    /// <summary><c>core.log.*</c> for this request.</summary>
    public void Log(LogLevel level, string message) => Request.Log(level, message);
}
