// Twin of apisix/balancer.lua
using System.Collections.Concurrent;
using System.Globalization;

namespace Apisix.Core.Upstream;

/// <summary>One node of an upstream after <c>fill_node_info</c>: an address, its weight and priority.</summary>
/// <param name="Domain">The host name the node was configured with when it had to be resolved.</param>
public sealed record UpstreamNode(string Host, int Port, long Weight, int Priority, string? Domain = null)
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
    /// <summary>Without an api_ctx (a Lua caller's plain ctx table): its <c>ctx.var</c> lookup, consumer and log.</summary>
    public Func<string, object?>? Vars { get; set; }
    public string? ConsumerName { get; set; }
    public Action<Apisix.Core.OpenResty.LogLevel, string>? LogTo { get; set; }
    /// <summary><c>ctx.up_checker</c>: the upstream's health checker, when it has one working.</summary>
    public Healthcheck.Healthchecker? Checker { get; set; }
    /// <summary>
    /// <c>balancer.get_last_failure()</c> before a retry: "failed" (connect/send/read error or
    /// timeout, with 502 or 504) or "next" (a status that made nginx go on), and the code.
    /// </summary>
    public (string? State, int Code) LastFailure { get; set; }
    /// <summary>Whether the balancer phase runs (nginx then adds "while connecting to upstream" to log lines).</summary>
    public bool InBalancerPhase { get; set; }

    /// <summary>
    /// The upstream URL of the last try (nginx's <c>upstream:</c> log field): set once a try
    /// went out, so balancer-phase lines of a retry name the peer that failed.
    /// </summary>
    public string? LastUpstreamUrl
    {
        get => _lastUpstreamUrl ??= _lastUpstream is var (scheme, address, uri) && scheme != null ? UpstreamProxy.UpstreamUrl(scheme, address!, uri!) : null;
        set
        {
            _lastUpstreamUrl = value;
            _lastUpstream = default;
        }
    }

    /// <summary>The parts of <see cref="LastUpstreamUrl"/> for a try; the URL is put together only when a line needs it.</summary>
    public void SetLastUpstream(string scheme, string address, string uri)
    {
        _lastUpstreamUrl = null;
        _lastUpstream = (scheme, address, uri);
    }

    private string? _lastUpstreamUrl;
    private (string? Scheme, string? Address, string? Uri) _lastUpstream;

    /// <summary>A log line of the request, in the balancer phase's context when it runs.</summary>
    public void Log(Apisix.Core.OpenResty.LogLevel level, string message)
    {
        if (Ctx == null)
        {
            LogTo?.Invoke(level, message);
            return;
        }
        if (!InBalancerPhase) Ctx.Log(level, message);
        else if (LastUpstreamUrl == null) Ctx.Log(level, message + " while connecting to upstream");
        else UpstreamProxy.LogUpstream(Ctx.Request, message + " while connecting to upstream", LastUpstreamUrl, level);
    }
}

/// <summary>What <c>apisix/balancer/&lt;type&gt;.lua</c>'s <c>new</c> returns: get / after_balance.</summary>
public interface IServerPicker
{
    (string? Server, string? Error) Get(BalancerState state);
    void AfterBalance(BalancerState state, bool beforeRetry);
    void BeforeRetryNextPriority(BalancerState state);
}

/// <summary>
/// Port of <c>apisix/balancer.lua</c>'s server picking: one node is taken directly; otherwise a
/// picker of the upstream's type (<see cref="Pickers"/>), over the healthy nodes when a checker
/// works for the upstream (all nodes for chash, whose unhealthy picks are skipped instead, so
/// its ring stays the same), grouped by priority (<see cref="PriorityPicker"/> when there are
/// several). The picker is cached per upstream key and version (lrucache_server_picker), the
/// checker's status version included, so its state goes on across requests; a request keeps
/// the picker it started with for its retries.
/// </summary>
public sealed class Balancer
{
    private readonly ConcurrentDictionary<(int Worker, string Key), (string Version, IServerPicker Picker)> _pickers = new();
    private readonly ConcurrentDictionary<(int Worker, string Key), (string Version, Dictionary<string, bool>? Status)> _healthStatus = new();

    /// <summary>Where new pickers draw their random start; null uses <see cref="Random.Shared"/>.</summary>
    public Random? Random { get; set; }

    /// <summary>Notice-level log lines (priority fall-through).</summary>
    public Action<string>? Notice { get; set; }

    /// <summary>The nginx whose shared dicts ewma pickers use.</summary>
    public Apisix.Core.OpenResty.Nginx? Nginx { get; set; }

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

    private static void Log(BalancerState state, Apisix.Core.OpenResty.LogLevel level, string msg) => state.Log(level, msg);

    /// <summary>
    /// <c>create_health_status</c>: each node's health by host:port, or null when no node is
    /// healthy ("use default": all nodes then).
    /// </summary>
    private static Dictionary<string, bool>? CreateHealthStatus(UpstreamConf up, Healthcheck.Healthchecker checker, BalancerState state)
    {
        var (host, port) = up.ActiveCheckHostPort();
        var status = new Dictionary<string, bool>(StringComparer.Ordinal);
        var any = false;
        foreach (var node in up.Nodes)
        {
            var (ok, err) = Healthcheck.HealthcheckManager.FetchNodeStatus(checker, node.Host, port ?? node.Port, host, state.Ctx?.Request);
            status[node.Address] = ok;
            if (ok) any = true;
            else if (err != null)
                Log(state, Apisix.Core.OpenResty.LogLevel.Warn,
                    $"failed to get health check target status, addr: {node.Host}:{port ?? node.Port}, host: {host ?? "nil"}, err: {err}");
        }
        if (!any)
        {
            Log(state, Apisix.Core.OpenResty.LogLevel.Warn, "all upstream nodes is unhealthy, use default");
            return null;
        }
        return status;
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
            // an upstream read once per version (UpstreamProxy) picks the same node request after request
            if (up.LastSinglePick is { } last && ReferenceEquals(last.Node, only) && last.Scheme == scheme)
            {
                state.Server = last.Address;
                return (last.Picked, null);
            }
            var picked = only with { UpstreamHost = UpstreamHostOf(only.Host, only.Port, only.Domain, scheme) };
            var address = only.Address;
            up.LastSinglePick = new(only, scheme, address, picked);
            state.Server = address;
            return (picked, null);
        }

        var version = up.Version;
        var checker = state.Checker;
        state.TryCount++;
        if (state.TryCount > 1)
        {
            state.Picker?.AfterBalance(state, true);
            if (checker != null && state.Ctx != null)
            {
                var (host, port) = up.ActiveCheckHostPort();
                var ip = state.Ctx.BalancerIp ?? "";
                var p = port ?? Convert.ToInt32(state.Ctx.BalancerPort ?? 0, CultureInfo.InvariantCulture);
                var (failState, code) = state.LastFailure;
                if (failState == "failed")
                {
                    if (code == 504) checker.ReportTimeout(ip, p, host);
                    else checker.ReportTcpFailure(ip, p, host);
                }
                else checker.ReportHttpStatus(ip, p, host, code);
            }
        }

        Dictionary<string, bool>? healthStatus = null;
        var hkey = (worker, up.Key);
        if (checker != null && up.Type == "chash")
        {
            var hver = version + "#" + checker.StatusVer.ToString(CultureInfo.InvariantCulture);
            if (_healthStatus.TryGetValue(hkey, out var hs) && hs.Version == hver) healthStatus = hs.Status;
            else
            {
                healthStatus = CreateHealthStatus(up, checker, state);
                _healthStatus[hkey] = (hver, healthStatus);
            }
        }
        if (checker != null && up.Type != "chash")
            version += "#" + checker.StatusVer.ToString(CultureInfo.InvariantCulture);

        // the same picker serves the whole request, retries included
        var picker = state.Picker;
        if (picker == null)
        {
            var key = (worker, up.Key);
            if (_pickers.TryGetValue(key, out var hit) && hit.Version == version) picker = hit.Picker;
            else
            {
                var (created, err) = CreateServerPicker(up, checker, state);
                if (created == null) return (null, err);
                picker = created;
                _pickers[key] = (version, picker);
            }
        }

        string? server = null;
        for (var i = 0; i < up.Nodes.Count; i++)
        {
            var (got, err2) = picker.Get(state);
            if (got == null) return (null, "failed to find valid upstream server, " + (err2 ?? "no valid upstream node"));
            server = got;
            if (healthStatus == null || healthStatus.GetValueOrDefault(server)) break;
            state.Server = server;
            picker.AfterBalance(state, true);
            server = null;
        }
        if (server == null) return (null, "failed to find valid upstream server, all upstream servers tried");
        state.Server = server;
        state.Picker = picker;

        var node = up.Nodes.FirstOrDefault(n => n.Address == server);
        if (node == null)
        {
            var (h, p) = UpstreamConf.ParseAddr(server);
            node = new UpstreamNode(h, p ?? 0, 0, 0);
        }
        return (node with { UpstreamHost = UpstreamHostOf(node.Host, node.Port, node.Domain, scheme) }, null);
    }

    /// <summary>
    /// <c>transform_node</c> over the nodes given: grouped by priority (highest first), a node
    /// listed twice keeping its last weight.
    /// </summary>
    private static List<(int Priority, List<(string Id, int Weight)> Nodes)> GroupByPriority(IEnumerable<UpstreamNode> nodes)
    {
        // Lua weights are numbers: weights past int's range are
        // divided by their gcd first, which leaves every picker's choices as they were
        var list0 = nodes.ToList();
        long gcd = 0;
        foreach (var n in list0) gcd = Gcd(gcd, n.Weight);
        if (list0.Any(n => n.Weight > int.MaxValue) && gcd > 1)
            list0 = list0.Select(n => n with { Weight = n.Weight / gcd }).ToList();
        var groups = new List<(int Priority, List<(string Id, int Weight)> Nodes)>();
        foreach (var n in list0)
        {
            var g = groups.FindIndex(x => x.Priority == n.Priority);
            if (g < 0)
            {
                groups.Add((n.Priority, new List<(string Id, int Weight)>()));
                g = groups.Count - 1;
            }
            var list = groups[g].Nodes;
            var idx = list.FindIndex(e => e.Id == n.Address);
            var w = (int)Math.Min(n.Weight, int.MaxValue);
            if (idx >= 0) list[idx] = (n.Address, w);
            else list.Add((n.Address, w));
        }
        return groups;
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary><c>fetch_health_nodes</c>: the healthy nodes, or all of them when none is healthy or there is no checker.</summary>
    private static IEnumerable<UpstreamNode> FetchHealthNodes(UpstreamConf up, Healthcheck.Healthchecker? checker, BalancerState state)
    {
        if (checker == null) return up.Nodes;
        var status = CreateHealthStatus(up, checker, state);
        if (status == null) return up.Nodes;
        return up.Nodes.Where(n => status.GetValueOrDefault(n.Address));
    }

    private static string DescribeNodes(List<(string Id, int Weight)> nodes)
    {
        var o = new System.Text.Json.Nodes.JsonObject();
        foreach (var (id, w) in nodes) o[id] = w;
        return Json.CJson.Encode(o);
    }

    /// <summary><c>create_server_picker</c>.</summary>
    private (IServerPicker? Picker, string? Error) CreateServerPicker(UpstreamConf up, Healthcheck.Healthchecker? checker, BalancerState state)
    {
        if (!Pickers.Ported.Contains(up.Type)) return (null, "invalid balancer type: " + up.Type);
        var nodes = up.Type == "chash" ? up.Nodes : FetchHealthNodes(up, checker, state);
        var groups = GroupByPriority(nodes);
        if (groups.Count == 0) return (null, "no valid upstream node");
        if (groups.Count > 1)
        {
            var desc = new System.Text.Json.Nodes.JsonObject();
            var index = new System.Text.Json.Nodes.JsonArray();
            foreach (var (prio, list) in groups)
            {
                var g = new System.Text.Json.Nodes.JsonObject();
                foreach (var (id, w) in list) g[id] = w;
                desc[prio.ToString(CultureInfo.InvariantCulture)] = g;
                index.Add(prio);
            }
            desc["_priority_index"] = index;
            Log(state, Apisix.Core.OpenResty.LogLevel.Info, "upstream nodes: " + Json.CJson.Encode(desc));
            var pickers = new List<(int Priority, IServerPicker Picker)>();
            foreach (var (prio, list) in groups.OrderByDescending(g => g.Priority))
            {
                var (p, err) = Pickers.Create(up.Type, list, up.Raw, Random, Nginx);
                if (p == null) return (null, $"failed to create picker with priority {prio}: {err}");
                pickers.Add((prio, p));
            }
            return (new PriorityPicker(pickers, Notice), null);
        }
        Log(state, Apisix.Core.OpenResty.LogLevel.Info, "upstream nodes: " + DescribeNodes(groups[0].Nodes));
        return Pickers.Create(up.Type, groups[0].Nodes, up.Raw, Random, Nginx);
    }
}
