using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Store;

namespace Apisix.Core.Http;

/// <summary>
/// The `radixtree_uri` HTTP router over the routes in the store: `uri`/`uris` matched exactly or,
/// ending in `*`, by prefix (exact paths first, then longer prefixes), then `priority` (higher
/// first), filtered by `methods`, `host`/`hosts` (a leading `*.` matches any subdomain) and
/// `status`. Reads the store on every match, so admin changes apply at once.
/// </summary>
public sealed class Router(ConfigStore store, string prefix = ConfigStore.DefaultPrefix)
{
    // the routes directory under the deployment's etcd prefix
    private readonly string _routesDir = prefix + "/routes/";

    public sealed record Match(string Id, JsonObject Route);

    public Match? Find(string method, string uri, string? host)
    {
        Match? best = null;
        (int Kind, int Length, long Priority) bestRank = default;
        foreach (var entry in store.List(_routesDir))
        {
            if (entry.Value is not JsonObject route) continue;
            if (JsonScalars.TryGetNumber(route["status"], out var status) && status == 0) continue;
            var rank = UriRank(route, uri);
            if (rank == null) continue;
            if (!MethodMatches(route, method) || !HostMatches(route, host)) continue;
            JsonScalars.TryGetNumber(route["priority"], out var prio);
            var r = (rank.Value.Kind, rank.Value.Length, (long)prio);
            if (best == null || r.CompareTo(bestRank) > 0)
            {
                best = new Match(entry.Key[_routesDir.Length..], route);
                bestRank = r;
            }
        }
        return best;
    }

    /// <summary>(2, len) for an exact path, (1, prefix length) for a wildcard; null when none matches.</summary>
    private static (int Kind, int Length)? UriRank(JsonObject route, string uri)
    {
        var paths = new List<string>();
        if (JsonScalars.TryGetString(route["uri"], out string one)) paths.Add(one);
        foreach (var p in route["uris"] as JsonArray ?? []) if (JsonScalars.TryGetString(p, out string s)) paths.Add(s);
        (int, int)? best = null;
        foreach (var p in paths)
        {
            (int, int)? r = p.EndsWith('*')
                ? uri.StartsWith(p[..^1], StringComparison.Ordinal) ? (1, p.Length - 1) : null
                : p == uri ? (2, p.Length) : null;
            if (r != null && (best == null || r.Value.CompareTo(best.Value) > 0)) best = r;
        }
        return best;
    }

    private static bool MethodMatches(JsonObject route, string method)
    {
        if (route["methods"] is not JsonArray methods || methods.Count == 0) return true;
        return methods.Any(m => JsonScalars.TryGetString(m, out string s) && s == method);
    }

    private static bool HostMatches(JsonObject route, string? host)
    {
        var hosts = new List<string>();
        if (JsonScalars.TryGetString(route["host"], out string one)) hosts.Add(one);
        foreach (var h in route["hosts"] as JsonArray ?? []) if (JsonScalars.TryGetString(h, out string s)) hosts.Add(s);
        if (hosts.Count == 0) return true;
        if (host == null) return false;
        return hosts.Any(h => h.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(h[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(h, host, StringComparison.OrdinalIgnoreCase));
    }
}
