using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Store;
using Apisix.Core.Utils;

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

    public Match? Find(string method, string uri, string? host) => Candidates(method, uri, host, null).FirstOrDefault();

    /// <summary>
    /// The routes that match the request, best first (as radixtree tries them): by path kind and
    /// length, then priority. A route's <c>vars</c> must hold over <paramref name="vars"/> (when
    /// given); <c>filter_func</c> is the caller's to run, on each candidate in this order.
    /// A match's route is the stored value itself, not a copy: callers only read it (the access
    /// phase works on its own checked copy, see <c>ApisixHttp.CheckedConf</c>).
    /// </summary>
    public IEnumerable<Match> Candidates(string method, string uri, string? host, Func<string, object?>? vars,
        Func<StoreEntry, bool>? refused = null)
    {
        var found = new List<(Match Match, (int, int, long) Rank)>();
        // matched over the stored routes themselves (never modified here)
        foreach (var entry in store.ListShared(_routesDir))
        {
            if (entry.Value is not JsonObject route) continue;
            // a route the config sync's checks refused is not in the router
            if (refused != null && refused(entry)) continue;
            if (JsonScalars.TryGetNumber(route["status"], out var status) && status == 0) continue;
            var rank = UriRank(route, uri);
            if (rank == null) continue;
            if (!MethodMatches(route, method) || !HostMatches(RouteHosts(route), host)) continue;
            JsonScalars.TryGetNumber(route["priority"], out var prio);
            found.Add((new Match(entry.Key[_routesDir.Length..], route), (rank.Value.Kind, rank.Value.Length, (long)prio)));
        }
        found.Sort((a, b) => b.Rank.CompareTo(a.Rank));
        foreach (var (match, _) in found)
        {
            if (vars != null && !RemoteAddrMatches(match.Route, vars)) continue;
            if (vars != null && !VarsMatch(match.Route, vars)) continue;
            yield return match;
        }
    }

    /// <summary>
    /// radixtree's <c>remote_addrs</c> (the route's <c>remote_addrs</c> or <c>remote_addr</c>): the
    /// client's <c>$remote_addr</c> must be one of the addresses or inside one of the CIDRs.
    /// </summary>
    private static bool RemoteAddrMatches(JsonObject route, Func<string, object?> vars)
    {
        // most routes have neither: nothing to build
        if (route["remote_addrs"] is not JsonArray && route["remote_addr"] == null) return true;
        var addrs = new List<string>();
        foreach (var a in route["remote_addrs"] as JsonArray ?? []) if (JsonScalars.TryGetString(a, out string s)) addrs.Add(s);
        if (addrs.Count == 0 && JsonScalars.TryGetString(route["remote_addr"], out string one)) addrs.Add(one);
        if (addrs.Count == 0) return true;
        if (vars("remote_addr") is not string remote || remote.Length == 0) return false;
        return addrs.Any(a => IpMatcher.Matches(remote, a));
    }

    // the compiled `vars` of each route value (a changed route is a new value)
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JsonObject, ExprV1> VarsCache = new();

    private static bool VarsMatch(JsonObject route, Func<string, object?> vars)
    {
        if (route["vars"] is not { } rule) return true;
        if (!VarsCache.TryGetValue(route, out var expr))
        {
            // check_route refuses such a route upstream, so it never matches
            var (ex, _) = ExprV1.New(rule);
            if (ex == null) return false;
            expr = ex;
            VarsCache.AddOrUpdate(route, expr);
        }
        return expr.Eval(vars);
    }

    /// <summary>(2, len) for an exact path, (1, prefix length) for a wildcard; null when none matches.</summary>
    private static (int Kind, int Length)? UriRank(JsonObject route, string uri)
    {
        // uri first, then uris, in place (no list of the paths)
        (int, int)? best = null;
        if (JsonScalars.TryGetString(route["uri"], out string one)) best = Better(best, PathRank(one, uri));
        if (route["uris"] is JsonArray uris)
            foreach (var p in uris) if (JsonScalars.TryGetString(p, out string s)) best = Better(best, PathRank(s, uri));
        return best;
    }

    private static (int, int)? PathRank(string p, string uri) => p.EndsWith('*')
        ? uri.AsSpan().StartsWith(p.AsSpan(0, p.Length - 1), StringComparison.Ordinal) ? (1, p.Length - 1) : null
        : p == uri ? (2, p.Length) : null;

    private static (int, int)? Better((int, int)? best, (int, int)? r) =>
        r != null && (best == null || r.Value.CompareTo(best.Value) > 0) ? r : best;

    internal static bool MethodMatches(JsonObject route, string method)
    {
        if (route["methods"] is not JsonArray methods || methods.Count == 0) return true;
        return methods.Any(m => JsonScalars.TryGetString(m, out string s) && s == method);
    }

    /// <summary>The route's <c>hosts</c> (or <c>host</c>); without either, its service's <c>hosts</c>.</summary>
    internal List<string> RouteHosts(JsonObject route)
    {
        if (route["host"] == null && route["hosts"] == null && route["service_id"] == null) return NoHosts;
        var hosts = new List<string>();
        if (JsonScalars.TryGetString(route["host"], out string one)) hosts.Add(one);
        if (route["hosts"] is JsonArray routeHosts)
            foreach (var h in routeHosts) if (JsonScalars.TryGetString(h, out string s)) hosts.Add(s);
        if (hosts.Count == 0 && route["service_id"] is { } sid)
        {
            var id = JsonScalars.TryGetString(sid, out string sids) ? sids : sid.ToJsonString();
            // a missing service does not stop the route from matching
            if (store.GetShared(prefix + "/services/" + id)?.Value is JsonObject service)
                if (service["hosts"] is JsonArray serviceHosts)
                    foreach (var h in serviceHosts) if (JsonScalars.TryGetString(h, out string s)) hosts.Add(s);
        }
        return hosts;
    }

    // what RouteHosts gives a route without host, hosts or service: never changed by its callers
    private static readonly List<string> NoHosts = new();

    internal static bool HostMatches(List<string> hosts, string? host)
    {
        if (hosts.Count == 0) return true;
        if (host == null) return false;
        return hosts.Any(h => h.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(h[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(h, host, StringComparison.OrdinalIgnoreCase));
    }
}
