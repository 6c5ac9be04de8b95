using System.Collections.Concurrent;
using System.Globalization;

namespace Apisix.Core.Upstream;

/// <summary>One node of an upstream after <c>fill_node_info</c>: an address, its weight and priority.</summary>
/// <param name="Domain">The host name the node was configured with when it had to be resolved.</param>
public sealed record UpstreamNode(string Host, int Port, int Weight, int Priority, string? Domain = null)
{
    /// <summary>The node's key in pickers and <c>$upstream_addr</c>: host:port.</summary>
    public string Address => Host + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Set on the node that was picked: the Host header pass_host "node" sends.</summary>
    public string? UpstreamHost { get; init; }
}

/// <summary>The balancer fields APISIX keeps on api_ctx for one request (and its retries).</summary>
public sealed class BalancerState
{
    /// <summary><c>ctx.balancer_try_count</c>.</summary>
    public int TryCount { get; set; }
    /// <summary><c>ctx.balancer_server</c>: the address last picked.</summary>
    public string? Server { get; set; }
    /// <summary><c>ctx.balancer_tried_servers</c> / <c>_count</c>.</summary>
    public HashSet<string>? TriedServers { get; set; }
    public int TriedCount { get; set; }
    /// <summary><c>ctx.priority_balancer_picker_idx</c> (0-based).</summary>
    public int PriorityIndex { get; set; }
    /// <summary><c>ctx.server_picker</c>: the same picker serves the whole request.</summary>
    public IServerPicker? Picker { get; set; }
    /// <summary>The request's <c>api_ctx</c>, for pickers that read it (chash takes its key from it).</summary>
    public ApiCtx? Ctx { get; set; }
}

/// <summary>What <c>apisix/balancer/&lt;type&gt;.lua</c>'s <c>new</c> returns: get / after_balance.</summary>
public interface IServerPicker
{
    (string? Server, string? Error) Get(BalancerState state);
    void AfterBalance(BalancerState state, bool beforeRetry);
    void BeforeRetryNextPriority(BalancerState state);
}

/// <summary>
/// <c>apisix/balancer/priority.lua</c>: one picker per priority, highest first; a request moves
/// to the next priority once every server of the current one failed it.
/// </summary>
public sealed class PriorityPicker(IReadOnlyList<(int Priority, IServerPicker Picker)> pickers, Action<string>? notice = null) : IServerPicker
{
    public (string? Server, string? Error) Get(BalancerState state)
    {
        for (var i = state.PriorityIndex; i < pickers.Count; i++)
        {
            var (priority, picker) = pickers[i];
            var (server, err) = picker.Get(state);
            if (server != null)
            {
                state.PriorityIndex = i;
                return (server, null);
            }
            // the request being served logs it; a picker outlives the request that built it
            var msg = $"failed to get server from current priority {priority}, try next one, err: {err}";
            if (state.Ctx != null) state.Ctx.Log(Apisix.Core.OpenResty.LogLevel.Notice, msg);
            else notice?.Invoke(msg);
            picker.BeforeRetryNextPriority(state);
        }
        return (null, "all servers tried");
    }

    public void AfterBalance(BalancerState state, bool beforeRetry)
    {
        if (state.PriorityIndex < pickers.Count) pickers[state.PriorityIndex].Picker.AfterBalance(state, beforeRetry);
    }

    public void BeforeRetryNextPriority(BalancerState state) { }
}

/// <summary>
/// Port of <c>apisix/balancer.lua</c>'s server picking: one node is taken directly; otherwise a
/// picker, cached per upstream key and version (lrucache_server_picker) so its round robin goes
/// on across requests, picks a server the request has not tried yet. Only the roundrobin type is
/// ported; chash, ewma and least_conn fail the pick with a plain error.
/// </summary>
public sealed class Balancer
{
    private readonly ConcurrentDictionary<(int Worker, string Key), (string Version, IServerPicker Picker)> _pickers = new();

    /// <summary>Where new pickers draw their random start; null uses <see cref="Random.Shared"/>.</summary>
    public Random? Random { get; set; }

    /// <summary>Notice-level log lines (priority fall-through).</summary>
    public Action<string>? Notice { get; set; }

    /// <summary>
    /// <c>parse_server_for_upstream_host</c>: the node's domain (else IP), with the port unless it
    /// is the scheme's standard one.
    /// </summary>
    public static string UpstreamHostOf(string host, int port, string? domain, string? scheme)
    {
        var h = domain ?? host;
        if (scheme != null && (UpstreamConf.SchemeToPort(scheme) is not int std || std != port))
            h += ":" + port.ToString(CultureInfo.InvariantCulture);
        return h;
    }

    /// <summary>
    /// <c>pick_server(route, ctx)</c>: the node to try next, or the error. Called once before the
    /// first try and again for every retry.
    /// </summary>
    public (UpstreamNode? Node, string? Error) PickServer(UpstreamConf up, BalancerState state, int worker, string? scheme)
    {
        if (up.Nodes.Count == 1)
        {
            var only = up.Nodes[0];
            state.Server = only.Address;
            return (only with { UpstreamHost = UpstreamHostOf(only.Host, only.Port, only.Domain, scheme) }, null);
        }

        state.TryCount++;
        if (state.TryCount > 1) state.Picker?.AfterBalance(state, true);

        var picker = state.Picker;
        if (picker == null)
        {
            var key = (worker, up.Key);
            if (_pickers.TryGetValue(key, out var hit) && hit.Version == up.Version) picker = hit.Picker;
            else
            {
                var (created, err) = CreatePicker(up);
                if (created == null) return (null, err);
                picker = created;
                _pickers[key] = (up.Version, picker);
            }
        }

        // no health checker here, so the first server the picker gives is taken
        var (server, err2) = picker.Get(state);
        if (server == null) return (null, "failed to find valid upstream server, " + (err2 ?? "no valid upstream node"));
        state.Server = server;
        state.Picker = picker;

        var node = up.Nodes.FirstOrDefault(n => n.Address == server);
        if (node == null)
        {
            var colon = server.LastIndexOf(':');
            node = new UpstreamNode(server[..colon], int.Parse(server[(colon + 1)..], CultureInfo.InvariantCulture), 0, 0);
        }
        return (node with { UpstreamHost = UpstreamHostOf(node.Host, node.Port, node.Domain, scheme) }, null);
    }

    private (IServerPicker? Picker, string? Error) CreatePicker(UpstreamConf up)
    {
        if (up.Type != "roundrobin") return (null, $"balancer type {up.Type} is not ported (only roundrobin is)");
        // transform_node: nodes grouped by priority; a node listed twice keeps its last weight
        var groups = new SortedDictionary<int, List<(string Id, int Weight)>>(Comparer<int>.Create((a, b) => b.CompareTo(a)));
        foreach (var n in up.Nodes)
        {
            if (!groups.TryGetValue(n.Priority, out var list)) groups[n.Priority] = list = new();
            var idx = list.FindIndex(e => e.Id == n.Address);
            if (idx >= 0) list[idx] = (n.Address, n.Weight);
            else list.Add((n.Address, n.Weight));
        }
        if (groups.Count == 1) return (new RoundRobinPicker(groups.First().Value, Random), null);
        var pickers = groups.Select(g => (g.Key, (IServerPicker)new RoundRobinPicker(g.Value, Random))).ToList();
        return (new PriorityPicker(pickers, Notice), null);
    }
}
