// Twin of apisix/api_router.lua
using System.Text.Json.Nodes;
using Apisix.Core.Plugins;

namespace Apisix.Core.Http;

/// <summary>
/// One API a plugin serves (an entry of what its <c>api()</c> returns): the methods, the uris
/// (exact, or a prefix when ending in <c>*</c>) and the handler, which returns <c>code, body</c>.
/// </summary>
public sealed record ApiRoute(string[] Methods, string[] Uris, Func<ApiCtx, ValueTask<(int? Code, object? Body)>> Handler);

/// <summary>A plugin module with an <c>api()</c> function (prometheus, and the like).</summary>
public interface IPluginApi
{
    /// <summary><c>_M.api()</c>: the routes to serve, read from the node's config.</summary>
    IReadOnlyList<ApiRoute> Api(Config.ApisixConfig config);
}

/// <summary>
/// <c>router.api</c>: the APIs of the enabled plugins, matched by <c>public-api</c> against the
/// request's method and <c>ctx.var.uri</c>. A handler's code or body ends the request; a table body
/// is sent as JSON unless the handler set a Content-Type.
/// </summary>
public static class ApiRouter
{
    /// <summary><c>fetch_api_router</c>: every API of the enabled plugins, in plugin order.</summary>
    private static List<ApiRoute> FetchApiRouter(PluginRegistry plugins, Config.ApisixConfig config)
    {
        var routes = new List<ApiRoute>();
        foreach (var plugin in plugins.Enabled)
            if (plugin is IPluginApi api) routes.AddRange(api.Api(config));
        return routes;
    }

    private static bool UriMatches(ApiRoute route, string uri) =>
        route.Uris.Any(p => p.EndsWith('*') ? uri.StartsWith(p[..^1], StringComparison.Ordinal) : p == uri);

    /// <summary><c>_M.match(api_ctx)</c>: true when an API served the request.</summary>
    public static async ValueTask<bool> MatchAsync(ApiCtx ctx, PluginRegistry plugins)
    {
        if (ctx.Config == null) return false;
        var uri = ctx.Var.GetString("uri") ?? ctx.Request.Uri;
        var method = ctx.Request.Method;
        foreach (var route in FetchApiRouter(plugins, ctx.Config))
        {
            if (!UriMatches(route, uri)) continue;
            if (route.Methods.Length > 0 && !route.Methods.Contains(method)) continue;
            var (code, body) = await route.Handler(ctx);
            if (code != null || body != null)
            {
                if (body is JsonNode && !ctx.Request.ResponseHeaders.ContainsKey("Content-Type"))
                    CoreResponse.SetHeader(ctx, "Content-Type", "application/json");
                await CoreResponse.ExitAsync(ctx, ctx.Request, code, body);
            }
            return true;
        }
        return false;
    }
}
