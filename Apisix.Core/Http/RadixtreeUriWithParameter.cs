// Twin of apisix/http/router/radixtree_uri_with_parameter.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Store;

namespace Apisix.Core.Http;

/// <summary>
/// The `radixtree_uri_with_parameter` HTTP router (`apisix.router.http`): as `radixtree_uri`, but a
/// path segment written `:name` matches one segment of the request path and `*name` (or a bare
/// trailing `*`) the rest of it; the values are the request's matched parameters
/// (`ctx.curr_req_matched`, read back as `uri_param_<name>`). Exact paths rank first, then the
/// path with the longer literal part before its first parameter, then `priority`. Filtered by
/// `methods`, `host`/`hosts` and `status` like the uri router.
/// </summary>
public sealed class RadixtreeUriWithParameter(ConfigStore store, string prefix = ConfigStore.DefaultPrefix)
{
    // method and host filters are the uri router's
    private readonly Router _filters = new(store, prefix);

    public const string Name = "radixtree_uri_with_parameter";

    public sealed record ParamMatch(Router.Match Match, Dictionary<string, string> Params);

    public ParamMatch? Find(string method, string uri, string? host)
    {
        ParamMatch? best = null;
        (int Kind, int Length, long Priority) bestRank = default;
        foreach (var entry in store.List(prefix + "/routes/"))
        {
            if (entry.Value is not JsonObject route) continue;
            if (JsonScalars.TryGetNumber(route["status"], out var status) && status == 0) continue;
            if (!Router.MethodMatches(route, method) || !Router.HostMatches(_filters.RouteHosts(route), host)) continue;
            var paths = new List<string>();
            if (JsonScalars.TryGetString(route["uri"], out string one)) paths.Add(one);
            foreach (var p in route["uris"] as JsonArray ?? []) if (JsonScalars.TryGetString(p, out string s)) paths.Add(s);
            JsonScalars.TryGetNumber(route["priority"], out var prio);
            foreach (var path in paths)
            {
                var m = MatchPath(path, uri);
                if (m == null) continue;
                var rank = (m.Value.Kind, m.Value.Length, (long)prio);
                if (best == null || rank.CompareTo(bestRank) > 0)
                {
                    best = new ParamMatch(new Router.Match(entry.Key[(prefix + "/routes/").Length..], route), m.Value.Params);
                    bestRank = rank;
                }
            }
        }
        return best;
    }

    /// <summary>
    /// One route path against the request path: (2, length) when equal, (1, literal prefix length)
    /// when it matches with parameters or a trailing wildcard; null otherwise.
    /// </summary>
    public static (int Kind, int Length, Dictionary<string, string> Params)? MatchPath(string path, string uri)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (path == uri) return (2, path.Length, values);
        var literal = 0;
        var sawParam = false;
        int pi = 0, ui = 0;
        while (pi < path.Length)
        {
            var c = path[pi];
            if (c == ':' && (pi == 0 || path[pi - 1] == '/'))
            {
                var end = path.IndexOf('/', pi);
                if (end < 0) end = path.Length;
                var name = path[(pi + 1)..end];
                var valueEnd = uri.IndexOf('/', ui);
                if (valueEnd < 0) valueEnd = uri.Length;
                if (valueEnd == ui) return null; // a parameter matches a non-empty segment
                values[name] = uri[ui..valueEnd];
                sawParam = true;
                pi = end;
                ui = valueEnd;
                continue;
            }
            if (c == '*')
            {
                var name = path[(pi + 1)..];
                if (name.Contains('/')) return null; // a wildcard ends the path
                if (name.Length > 0) values[name] = uri[ui..];
                return (1, literal, values);
            }
            if (ui >= uri.Length || uri[ui] != c) return null;
            if (!sawParam) literal++;
            pi++;
            ui++;
        }
        return ui == uri.Length ? (1, literal, values) : null;
    }
}
