// Twin of apisix/balancer/least_conn.lua
namespace Apisix.Core.Upstream;

/// <summary>
/// APISIX's <c>apisix/balancer/least_conn.lua</c>: every server has a score, 1/weight to start
/// with; a pick takes the server with the lowest score and adds 1/weight to it, and the end of
/// its try (<c>after_balance</c>) takes that back. The servers sit in a min-heap keyed by score
/// (<see cref="UniqueMinHeap"/>, the <c>binaryheap</c> library's unique heap).
/// A retry skips the servers the request already tried by popping them off the heap and putting
/// them back after the pick.
/// </summary>
public sealed class LeastConnPicker : IServerPicker
{
    /// <summary>A server's entry in the heap (the Lua <c>info</c> table).</summary>
    private sealed class Info
    {
        public required string Server { get; init; }
        public required double EffectWeight { get; init; }
        public double Score { get; set; }
    }

    private readonly UniqueMinHeap<Info> _heap = new((a, b) => a.Score < b.Score);

    /// <param name="nodes">Servers (host:port) and weights; a server listed twice keeps its last weight.</param>
    public LeastConnPicker(IReadOnlyList<(string Id, int Weight)> nodes)
    {
        foreach (var (server, weight) in Dedup(nodes))
        {
            // a weight of 0 gives an infinite score, as 1/0 does in Lua
            var ew = 1.0 / weight;
            _heap.Insert(new Info { Server = server, EffectWeight = ew, Score = ew }, server);
        }
    }

    internal static List<(string Id, int Weight)> Dedup(IReadOnlyList<(string Id, int Weight)> nodes)
    {
        var merged = new List<(string Id, int Weight)>();
        foreach (var n in nodes)
        {
            var at = merged.FindIndex(e => e.Id == n.Id);
            if (at >= 0) merged[at] = n;
            else merged.Add(n);
        }
        return merged;
    }

    /// <summary>The current score of a server (for tests), or null when it has none.</summary>
    public double? ScoreOf(string server) => _heap.ValueByPayload(server)?.Score;

    public (string? Server, string? Error) Get(BalancerState state)
    {
        string? server;
        Info? info;
        string? err = null;
        if (state.TriedServers != null)
        {
            var tried = new List<Info>();
            while (true)
            {
                (server, info) = _heap.Peek();
                // a retry count above the node count lets this end, so the next priority is tried
                if (server == null)
                {
                    err = "all upstream servers tried";
                    break;
                }
                if (!state.TriedServers.Contains(server)) break;
                _heap.Pop();
                tried.Add(info!);
            }
            foreach (var t in tried) _heap.Insert(t, t.Server);
        }
        else
        {
            (server, info) = _heap.Peek();
        }

        if (server == null) return (null, err);
        info!.Score += info.EffectWeight;
        _heap.Update(server, info);
        return (server, null);
    }

    public void AfterBalance(BalancerState state, bool beforeRetry)
    {
        var server = state.Server;
        var info = server == null ? null : _heap.ValueByPayload(server);
        if (info == null)
        {
            // Lua would index a nil info here and fail the phase; say what went wrong instead
            state.Ctx?.Log(Apisix.Core.OpenResty.LogLevel.Error, $"least_conn: server {server ?? "nil"} is not in the picker");
            return;
        }
        info.Score -= info.EffectWeight;
        _heap.Update(server!, info);

        if (!beforeRetry)
        {
            state.TriedServers = null;
            return;
        }
        state.TriedServers ??= new HashSet<string>(StringComparer.Ordinal);
        state.TriedServers.Add(server!);
    }

    public void BeforeRetryNextPriority(BalancerState state) => state.TriedServers = null;
}

/// <summary>
/// The unique min-heap of the <c>binaryheap</c> Lua library (<c>binaryHeap.minUnique</c>): values
/// ordered by <c>lt</c>, each stored with a payload that is unique and finds its value back.
/// Kept as the library behaves, ties included: <see cref="Update"/> moves a value up only when it
/// compares below the value it replaces, and <c>least_conn</c> updates with the same (mutated)
/// object, so an updated entry only ever sinks.
/// </summary>
public sealed class UniqueMinHeap<T> where T : class
{
    private readonly Func<T, T, bool> _lt;
    private readonly List<T> _values = new();
    private readonly List<string> _payloads = new();
    private readonly Dictionary<string, int> _reverse = new(StringComparer.Ordinal);

    public UniqueMinHeap(Func<T, T, bool> lt) => _lt = lt;

    public int Count => _values.Count;

    private void Swap(int a, int b)
    {
        (_values[a], _values[b]) = (_values[b], _values[a]);
        (_payloads[a], _payloads[b]) = (_payloads[b], _payloads[a]);
        _reverse[_payloads[a]] = a;
        _reverse[_payloads[b]] = b;
    }

    // positions are 0-based here; the parent of i is (i-1)/2, its children 2i+1 and 2i+2
    private void BubbleUp(int pos)
    {
        while (pos > 0)
        {
            var parent = (pos - 1) / 2;
            if (!_lt(_values[pos], _values[parent])) break;
            Swap(parent, pos);
            pos = parent;
        }
    }

    private void SinkDown(int pos)
    {
        var last = _values.Count - 1;
        while (true)
        {
            var min = pos;
            var child = 2 * pos + 1;
            for (var c = child; c <= child + 1; c++)
                if (c <= last && _lt(_values[c], _values[min])) min = c;
            if (min == pos) break;
            Swap(pos, min);
            pos = min;
        }
    }

    /// <summary><c>heap:insert(value, payload)</c>; a payload already present is an error.</summary>
    public void Insert(T value, string payload)
    {
        if (_reverse.ContainsKey(payload)) throw new InvalidOperationException("duplicate payload " + payload);
        _values.Add(value);
        _payloads.Add(payload);
        _reverse[payload] = _values.Count - 1;
        BubbleUp(_values.Count - 1);
    }

    /// <summary><c>heap:peek()</c>: the payload and value at the top, or nulls when empty.</summary>
    public (string? Payload, T? Value) Peek() => _values.Count == 0 ? (null, null) : (_payloads[0], _values[0]);

    /// <summary><c>heap:pop()</c>: takes the top off.</summary>
    public (string? Payload, T? Value) Pop()
    {
        if (_values.Count == 0) return (null, null);
        var top = (_payloads[0], _values[0]);
        Remove(0);
        return top;
    }

    private void Remove(int pos)
    {
        var last = _values.Count - 1;
        if (pos < last)
        {
            Swap(pos, last);
            Erase(last);
            BubbleUp(pos);
            SinkDown(pos);
        }
        else Erase(last);
    }

    private void Erase(int pos)
    {
        _reverse.Remove(_payloads[pos]);
        _values.RemoveAt(pos);
        _payloads.RemoveAt(pos);
    }

    /// <summary><c>heap:update(payload, value)</c>.</summary>
    public void Update(string payload, T value)
    {
        if (!_reverse.TryGetValue(payload, out var pos)) throw new InvalidOperationException("unknown payload " + payload);
        var old = _values[pos];
        _values[pos] = value;
        if (_lt(value, old)) BubbleUp(pos);
        else SinkDown(pos);
    }

    /// <summary><c>heap:valueByPayload(payload)</c>.</summary>
    public T? ValueByPayload(string payload) => _reverse.TryGetValue(payload, out var pos) ? _values[pos] : null;
}
