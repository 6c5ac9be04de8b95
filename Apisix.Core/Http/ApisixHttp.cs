using Apisix.Core.Admin;
using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Store;

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
        Router = new Router(store);
    }

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
        var resp = Admin.Handle(req.Method, uri, req.Body is { Length: > 0 } b ? b : null, headers, req.Args);
        req.Status = resp.Status;
        req.SetResponseHeader("Content-Type", resp.ContentType);
        foreach (var (name, value) in resp.Headers) req.SetResponseHeader(name, value);
        req.Append(resp.Body);
        await req.FinishAsync();
    }

    private static IEnumerable<string> PluginNames(System.Text.Json.Nodes.JsonNode? plugins) =>
        (plugins as System.Text.Json.Nodes.JsonObject)?.Select(p => p.Key) ?? [];

    /// <summary>`apisix.http_access_phase()`: route the request and run its plugins.</summary>
    public async Task HttpAccessPhaseAsync(NgxRequest req)
    {
        var host = NgxVars.Get(req.Nginx, req, "host");
        var match = Router.Find(req.Method, req.Uri, host);
        if (match == null)
        {
            req.Status = 404;
            req.SetResponseHeader("Content-Type", "text/plain");
            req.Append("{\"error_msg\":\"404 Route Not Found\"}\n");
            await req.FinishAsync();
            return;
        }
        // The plugin phases are not ported yet: say so plainly rather than answer as if proxied.
        var names = PluginNames(match.Route["plugins"]).ToList();
        if (match.Route["service_id"] is { } sid)
        {
            // an id is a string or an integer
            var serviceId = sid.GetValueKind() == System.Text.Json.JsonValueKind.String ? sid.GetValue<string>() : sid.ToJsonString();
            names.AddRange(PluginNames(Store.Get("/apisix/services/" + serviceId)?.Value?["plugins"]).Except(names).ToList());
        }
        req.Log(LogLevel.Error, $"route {match.Id} matched, but the C# port does not run plugin phases yet (plugins: {string.Join(", ", names)})");
        await Nginx.SendErrorPage(req, 503);
    }
}
