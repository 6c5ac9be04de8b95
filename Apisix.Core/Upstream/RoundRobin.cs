// Twin of apisix/balancer/roundrobin.lua
namespace Apisix.Core.Upstream;

/// <summary>
/// Weighted round robin as lua-resty-balancer 0.05's <c>resty.roundrobin</c> picks (the
/// interleaved, gcd-stepped variant, not nginx's smooth one): a current weight starts at the
/// largest weight; a pass walks the nodes after the last pick and takes the first whose weight is
/// at least the current weight; when a pass finds none the current weight drops by the gcd of the
/// weights (wrapping to the largest). The walk starts after a random node.
///
/// Lua walks its node table with <c>next</c>, whose order is the hash's; this port walks the
/// nodes in the order they were given (the upstream's node list), which is the same cycle up to
/// where it starts.
/// </summary>
public sealed class RoundRobin
{
    private readonly List<(string Id, int Weight)> _nodes;
    private readonly string? _onlyKey;
    private readonly int _gcd;
    private readonly int _maxWeight;
    private int _cw;
    private int _last; // index of the last pick; -1 = before the first node

    /// <param name="nodes">Node ids (host:port) with their weights, in walk order; at least one.</param>
    /// <param name="random">Picks the node the walk starts after; null uses <see cref="Random.Shared"/>.</param>
    public RoundRobin(IEnumerable<(string Id, int Weight)> nodes, Random? random = null)
    {
        _nodes = nodes.ToList();
        if (_nodes.Count == 0) throw new ArgumentException("empty nodes", nameof(nodes));
        if (_nodes.Count == 1) _onlyKey = _nodes[0].Id;
        _gcd = _nodes[0].Weight;
        _maxWeight = _nodes[0].Weight;
        foreach (var (_, w) in _nodes.Skip(1))
        {
            _gcd = Gcd(_gcd, w);
            _maxWeight = Math.Max(_maxWeight, w);
        }
        _cw = _maxWeight;
        // math.random(count) steps of `next` from nil: lands on node 1..count
        _last = (random ?? Random.Shared).Next(_nodes.Count);
    }

    /// <summary>How many distinct nodes the picker holds.</summary>
    public int Count => _nodes.Count;

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>The next node id (<c>picker:find()</c>).</summary>
    public string Find()
    {
        if (_onlyKey != null) return _onlyKey;
        var last = _last;
        var cw = _cw;
        while (true)
        {
            for (last++; last < _nodes.Count; last++)
            {
                if (_nodes[last].Weight >= cw)
                {
                    _cw = cw;
                    _last = last;
                    return _nodes[last].Id;
                }
            }
            last = -1;
            cw -= _gcd;
            if (cw <= 0) cw = _maxWeight;
        }
    }
}

/// <summary>
/// APISIX's <c>apisix/balancer/roundrobin.lua</c>: a <see cref="RoundRobin"/> whose picks skip the
/// servers this request already tried (retries), giving up after a bounded number of draws.
/// </summary>
public sealed class RoundRobinPicker : IServerPicker
{
    private readonly RoundRobin _rr;
    private readonly int _safeLimit;

    public RoundRobinPicker(IReadOnlyList<(string Id, int Weight)> nodes, Random? random = null)
    {
        _rr = new RoundRobin(nodes, random);
        foreach (var (_, w) in nodes) _safeLimit += w + 1; // a weight can be zero
    }

    public (string? Server, string? Error) Get(BalancerState state)
    {
        if (state.TriedServers != null && state.TriedCount == _rr.Count)
            return (null, "all upstream servers tried");
        string server = _rr.Find();
        for (var i = 1; i < _safeLimit; i++)
        {
            if (state.TriedServers == null || !state.TriedServers.Contains(server)) break;
            server = _rr.Find();
        }
        return (server, null);
    }

    public void AfterBalance(BalancerState state, bool beforeRetry)
    {
        if (!beforeRetry)
        {
            state.TriedServers = null;
            state.TriedCount = 0;
            return;
        }
        state.TriedServers ??= new HashSet<string>(StringComparer.Ordinal);
        if (state.Server != null) state.TriedServers.Add(state.Server);
        state.TriedCount++;
    }

    public void BeforeRetryNextPriority(BalancerState state)
    {
        state.TriedServers = null;
        state.TriedCount = 0;
    }
}
