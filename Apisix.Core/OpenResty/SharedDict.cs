namespace Apisix.Core.OpenResty;

/// <summary>
/// A lua_shared_dict: one per name for the whole emulated nginx, shared by all its workers.
/// Values are strings, numbers, booleans or lists, each with optional flags and expiry.
/// Expiry works as lua-nginx-module's does: an expired entry stays (get_stale, ttl and expire
/// still see it) until it is reclaimed from the tail of the LRU queue — two at most by each
/// get/set/add/replace/incr/push/pop/llen, all of them by flush_expired — or replaced.
/// </summary>
public sealed class SharedDict(string name, long capacity)
{
    private sealed class Node
    {
        public required string Key { get; init; }
        public object Value { get; set; } = "";   // string, double, bool, or LinkedList<object> for a list
        public long Flags { get; set; }
        /// <summary>Milliseconds on <see cref="Now"/>'s clock; 0: never expires.</summary>
        public long Expires { get; set; }
        public LinkedListNode<Node>? Lru { get; set; }
    }

    private enum Found { Declined, Ok, Expired }

    private readonly Dictionary<string, Node> _items = new(StringComparer.Ordinal);
    private readonly LinkedList<Node> _lru = new();   // First: most recently used
    private readonly object _lock = new();

    public string Name { get; } = name;
    public long Capacity { get; } = capacity;

    private static long Now => Environment.TickCount64;

    private static long ExpiresAt(double exptime) => exptime > 0 ? Now + (long)(exptime * 1000) : 0;

    // ngx_http_lua_shdict_lookup: finds the key and moves it to the head of the LRU queue
    private Found Lookup(string key, out Node? node)
    {
        if (!_items.TryGetValue(key, out node)) return Found.Declined;
        _lru.Remove(node.Lru!);
        _lru.AddFirst(node.Lru!);
        return node.Expires != 0 && node.Expires - Now < 0 ? Found.Expired : Found.Ok;
    }

    // ngx_http_lua_shdict_expire(ctx, 1): frees one or two expired entries at the LRU tail
    private void ExpireTail()
    {
        for (var n = 0; n < 2 && _lru.Last is { } last; n++)
        {
            var e = last.Value;
            if (e.Expires == 0 || e.Expires - Now > 0) return;
            Remove(e);
        }
    }

    private void Remove(Node e)
    {
        _lru.Remove(e.Lru!);
        _items.Remove(e.Key);
    }

    private Node Insert(string key, object value, long flags, long expires)
    {
        var e = new Node { Key = key, Value = value, Flags = flags, Expires = expires };
        e.Lru = _lru.AddFirst(e);
        _items[key] = e;
        return e;
    }

    /// <summary>get / get_stale: (value, flags, stale); a list gives the error "value is a list".</summary>
    public (object? Value, long Flags, bool Stale) Get(string key, bool allowStale = false) =>
        GetWithError(key, allowStale) is var (v, f, s, _) ? (v, f, s) : default;

    public (object? Value, long Flags, bool Stale, string? Err) GetWithError(string key, bool allowStale)
    {
        lock (_lock)
        {
            if (!allowStale) ExpireTail();
            var rc = Lookup(key, out var e);
            if (rc == Found.Declined || rc == Found.Expired && !allowStale) return (null, 0, false, null);
            if (e!.Value is LinkedList<object>) return (null, 0, false, "value is a list");
            return (e.Value, e.Flags, rc == Found.Expired, null);
        }
    }

    /// <summary>set/add/replace (a null value deletes); returns (ok, err).</summary>
    public (bool Ok, string? Err) Store(string mode, string key, object? value, double exptime, long flags)
    {
        lock (_lock)
        {
            if (value == null && mode is "add" or "replace") return (false, "attempt to add or replace nil values");
            ExpireTail();
            var rc = Lookup(key, out var e);
            if (mode == "replace" && rc != Found.Ok) return (false, "not found");
            if (mode == "add" && rc == Found.Ok) return (false, "exists");
            if (rc == Found.Declined)
            {
                if (value != null) Insert(key, value, flags, ExpiresAt(exptime));
                return (true, null);
            }
            if (value == null) { Remove(e!); return (true, null); }
            // an existing entry (live, or expired and reused) takes the new value in place
            e!.Value = value;
            e.Flags = flags;
            e.Expires = ExpiresAt(exptime);
            return (true, null);
        }
    }

    public (object? Value, string? Err) Incr(string key, double by, double? init, double initTtl)
    {
        lock (_lock)
        {
            ExpireTail();
            var rc = Lookup(key, out var e);
            if (rc != Found.Ok)
            {
                if (init == null) return (null, "not found");
                var v = init.Value + by;
                if (e != null) Remove(e);   // an expired entry is replaced
                Insert(key, v, 0, ExpiresAt(initTtl));
                return (v, null);
            }
            if (e!.Value is not double d) return (null, "not a number");
            e.Value = d + by;   // the entry keeps its expiry
            return (d + by, null);
        }
    }

    public void Delete(string key) => Store("set", key, null, 0, 0);

    /// <summary>flush_all: every entry becomes expired; up to three are freed at once, the rest stay stale.</summary>
    public void FlushAll()
    {
        lock (_lock)
        {
            foreach (var e in _lru) e.Expires = 1;
            // ngx_http_lua_shdict_expire(ctx, 0): the tail entry by force, then up to two expired ones
            for (var n = 0; n < 3 && _lru.Last is { } last; n++) Remove(last.Value);
        }
    }

    /// <summary>flush_expired: frees expired entries from the LRU tail up, at most max when max > 0.</summary>
    public int FlushExpired(int max)
    {
        lock (_lock)
        {
            var now = Now;
            var freed = 0;
            for (var q = _lru.Last; q != null;)
            {
                var prev = q.Previous;
                if (q.Value.Expires != 0 && q.Value.Expires <= now)
                {
                    Remove(q.Value);
                    freed++;
                    if (max > 0 && freed >= max) break;
                }
                q = prev;
            }
            return freed;
        }
    }

    /// <summary>get_keys: live keys from the most recently used, at most max when max > 0.</summary>
    public List<string> Keys(int max)
    {
        lock (_lock)
        {
            var now = Now;
            return _lru.Where(e => e.Expires == 0 || e.Expires > now).Select(e => e.Key)
                .Take(max > 0 ? max : int.MaxValue).ToList();
        }
    }

    /// <summary>ttl in seconds (0: no expiry); an expired entry not yet freed gives a negative ttl.</summary>
    public (double? Ttl, string? Err) Ttl(string key)
    {
        lock (_lock)
        {
            if (Lookup(key, out var e) == Found.Declined) return (null, "not found");
            return (e!.Expires == 0 ? 0 : (e.Expires - Now) / 1000.0, null);
        }
    }

    /// <summary>expire: a new exptime (0: none) for an entry still held, even an expired one.</summary>
    public (bool Ok, string? Err) Expire(string key, double exptime)
    {
        lock (_lock)
        {
            if (Lookup(key, out var e) == Found.Declined) return (false, "not found");
            e!.Expires = ExpiresAt(exptime);
            return (true, null);
        }
    }

    public (long? Len, string? Err) Push(string key, object value, bool left)
    {
        lock (_lock)
        {
            ExpireTail();
            var rc = Lookup(key, out var e);
            if (rc == Found.Ok && e!.Value is not LinkedList<object>) return (null, "value not a list");
            if (rc == Found.Expired) { Remove(e!); rc = Found.Declined; }
            if (rc == Found.Declined) e = Insert(key, new LinkedList<object>(), 0, 0);
            var list = (LinkedList<object>)e!.Value;
            if (left) list.AddFirst(value); else list.AddLast(value);
            return (list.Count, null);
        }
    }

    public object? Pop(string key, bool left) => PopWithError(key, left).Value;

    public (object? Value, string? Err) PopWithError(string key, bool left)
    {
        lock (_lock)
        {
            ExpireTail();
            if (Lookup(key, out var e) != Found.Ok) return (null, null);
            if (e!.Value is not LinkedList<object> list) return (null, "value not a list");
            var node = left ? list.First! : list.Last!;
            list.Remove(node);
            if (list.Count == 0) Remove(e);
            return (node.Value, null);
        }
    }

    /// <summary>The list's length (0 when missing or expired), or "value not a list".</summary>
    public (long? Len, string? Err) Llen(string key)
    {
        lock (_lock)
        {
            ExpireTail();
            if (Lookup(key, out var e) != Found.Ok) return (0, null);
            return e!.Value is LinkedList<object> l ? (l.Count, null) : (null, "value not a list");
        }
    }
}
