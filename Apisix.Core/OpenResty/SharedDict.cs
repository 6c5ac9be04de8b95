namespace Apisix.Core.OpenResty;

/// <summary>
/// A lua_shared_dict: one per name for the whole emulated nginx, shared by all its workers.
/// Values are strings, numbers or booleans, each with optional flags and expiry.
/// </summary>
public sealed class SharedDict(string name, long capacity)
{
    private sealed record Entry(object Value, long Flags, double ExpiresAt);

    private readonly Dictionary<string, Entry> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkedList<object>> _lists = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    public string Name { get; } = name;
    public long Capacity { get; } = capacity;

    private static double Now => Environment.TickCount64 / 1000.0;

    private Entry? Live(string key)
    {
        if (!_items.TryGetValue(key, out var e)) return null;
        if (e.ExpiresAt > 0 && e.ExpiresAt <= Now) { _items.Remove(key); return null; }
        return e;
    }

    public (object? Value, long Flags, bool Stale) Get(string key, bool allowStale = false)
    {
        lock (_lock)
        {
            if (!_items.TryGetValue(key, out var e)) return (null, 0, false);
            var expired = e.ExpiresAt > 0 && e.ExpiresAt <= Now;
            if (expired && !allowStale) { _items.Remove(key); return (null, 0, false); }
            return (e.Value, e.Flags, expired);
        }
    }

    /// <summary>set/add/replace semantics in one place; returns (ok, err, forcible).</summary>
    public (bool Ok, string? Err) Store(string mode, string key, object? value, double exptime, long flags)
    {
        lock (_lock)
        {
            var exists = Live(key) != null || _lists.ContainsKey(key);
            if (mode == "add" && exists) return (false, "exists");
            if (mode == "replace" && !exists) return (false, "not found");
            _lists.Remove(key);
            if (value == null) { _items.Remove(key); return (true, null); }
            _items[key] = new Entry(value, flags, exptime > 0 ? Now + exptime : 0);
            return (true, null);
        }
    }

    public (object? Value, string? Err) Incr(string key, double by, double? init, double initTtl)
    {
        lock (_lock)
        {
            var e = Live(key);
            if (e == null)
            {
                if (init == null) return (null, "not found");
                var v = init.Value + by;
                _items[key] = new Entry(v, 0, initTtl > 0 ? Now + initTtl : 0);
                return (v, null);
            }
            if (e.Value is not double d) return (null, "not a number");
            _items[key] = e with { Value = d + by };
            return (d + by, null);
        }
    }

    public void Delete(string key) { lock (_lock) { _items.Remove(key); _lists.Remove(key); } }

    public void FlushAll() { lock (_lock) { _items.Clear(); _lists.Clear(); } }

    public int FlushExpired(int max)
    {
        lock (_lock)
        {
            var now = Now;
            var dead = _items.Where(kv => kv.Value.ExpiresAt > 0 && kv.Value.ExpiresAt <= now).Select(kv => kv.Key)
                .Take(max > 0 ? max : int.MaxValue).ToList();
            foreach (var k in dead) _items.Remove(k);
            return dead.Count;
        }
    }

    public List<string> Keys(int max)
    {
        lock (_lock)
        {
            var now = Now;
            return _items.Where(kv => kv.Value.ExpiresAt == 0 || kv.Value.ExpiresAt > now).Select(kv => kv.Key)
                .Concat(_lists.Keys).Take(max > 0 ? max : int.MaxValue).ToList();
        }
    }

    public (double? Ttl, string? Err) Ttl(string key)
    {
        lock (_lock)
        {
            var e = Live(key);
            if (e == null) return (null, "not found");
            // milliseconds, as nginx keeps them; also keeps (a + 100) - a from reading 100.00000000000001
            return (e.ExpiresAt == 0 ? 0 : Math.Round(Math.Max(0, e.ExpiresAt - Now), 3), null);
        }
    }

    public (bool Ok, string? Err) Expire(string key, double exptime)
    {
        lock (_lock)
        {
            var e = Live(key);
            if (e == null) return (false, "not found");
            _items[key] = e with { ExpiresAt = exptime > 0 ? Now + exptime : 0 };
            return (true, null);
        }
    }

    public (long? Len, string? Err) Push(string key, object value, bool left)
    {
        lock (_lock)
        {
            if (Live(key) != null) return (null, "value not a list");
            if (!_lists.TryGetValue(key, out var l)) _lists[key] = l = new LinkedList<object>();
            if (left) l.AddFirst(value); else l.AddLast(value);
            return (l.Count, null);
        }
    }

    public object? Pop(string key, bool left)
    {
        lock (_lock)
        {
            if (!_lists.TryGetValue(key, out var l) || l.Count == 0) return null;
            var node = left ? l.First! : l.Last!;
            l.Remove(node);
            if (l.Count == 0) _lists.Remove(key);
            return node.Value;
        }
    }

    public long Llen(string key) { lock (_lock) return _lists.TryGetValue(key, out var l) ? l.Count : 0; }
}
