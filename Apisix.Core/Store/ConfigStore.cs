using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Store;

/// <summary>One stored key, as etcd v3 reports it (with APISIX's v2-style index names).</summary>
/// <param name="Key">Full key including the prefix, e.g. <c>/apisix/routes/1</c>.</param>
/// <param name="Value">The stored JSON value. A copy: changing it does not change the store.</param>
/// <param name="CreatedIndex">Revision at which the key was created (etcd <c>create_revision</c>).</param>
/// <param name="ModifiedIndex">Revision of the last write to the key (etcd <c>mod_revision</c>).</param>
public sealed record StoreEntry(string Key, JsonNode? Value, long CreatedIndex, long ModifiedIndex)
{
    /// <summary>
    /// The stored bytes when they are not JSON (APISIX's <c>init_dir</c> placeholder);
    /// <see cref="Value"/> is then null, as a JSON decode of them gives nil.
    /// </summary>
    public string? Raw { get; init; }

    /// <summary>How many times the key was written since it was created (etcd <c>version</c>).</summary>
    public long Version { get; init; } = 1;

    /// <summary>The lease the key is attached to; 0 for none.</summary>
    public long Lease { get; init; }
}

/// <summary>What happened to a key.</summary>
public enum ChangeKind
{
    Put,
    Delete,
}

/// <summary>
/// A change notification, in revision order. <see cref="Entry"/> holds the new
/// value for a put and the last value for a delete (with the delete's revision
/// as <see cref="StoreEntry.ModifiedIndex"/>).
/// </summary>
public sealed record ConfigChange(ChangeKind Kind, StoreEntry Entry, StoreEntry? Previous, long Revision);

/// <summary>
/// In-memory stand-in for the etcd cluster APISIX keeps its configuration in.
///
/// Keys are full etcd keys (<c>/apisix/routes/1</c>). Every write takes the
/// next revision of one store-wide counter, like etcd's; a value is stored as
/// a private deep copy and handed out as a fresh copy, the way etcd hands out
/// JSON text that each reader decodes anew. Every change is kept in a history a
/// watch reads from (until <see cref="Compact"/>); keys attached to a lease go
/// when the lease runs out, checked at each operation.
///
/// A store belongs to one test file (or one standalone gateway), not to one
/// test block: blocks later in a file see what earlier blocks wrote, as they
/// did with a real etcd. Thread-safe; <see cref="Changed"/> handlers run on the
/// writing thread after the write, outside the lock, in revision order per writer.
/// </summary>
public sealed class ConfigStore : IEtcdStore
{
    private readonly object _lock = new();
    private readonly SortedDictionary<string, StoreEntry> _entries = new(StringComparer.Ordinal);
    private readonly List<ConfigChange> _history = new();
    private readonly Dictionary<long, LeaseState> _leases = new();
    private long _revision = 1; // a fresh etcd cluster starts at revision 1
    private long _compactRevision;
    private long _nextLease = 0x694d71ddd6b8f000;

    private sealed class LeaseState
    {
        public long Ttl;
        public double Deadline;
    }

    /// <summary>Creates an empty store whose clock is the wall clock.</summary>
    public ConfigStore() : this(null) { }

    /// <param name="clock">Unix time in seconds (ngx.time()); null for the wall clock.</param>
    public ConfigStore(Func<long>? clock)
    {
        Clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var watch = System.Diagnostics.Stopwatch.StartNew();
        LeaseClock = () => watch.Elapsed.TotalSeconds;
    }

    /// <summary>The key prefix APISIX uses by default (<c>deployment.etcd.prefix</c>).</summary>
    public const string DefaultPrefix = "/apisix";

    /// <summary>
    /// Unix time in seconds, used for <c>create_time</c>/<c>update_time</c> by
    /// writers (the admin API). Replaceable for tests.
    /// </summary>
    public Func<long> Clock { get; set; }

    /// <summary>Seconds on a monotonic clock, for lease deadlines. Replaceable for tests.</summary>
    public Func<double> LeaseClock { get; set; }

    /// <summary>Raised after every put and delete, once per key.</summary>
    public event Action<ConfigChange>? Changed;

    /// <summary>The revision of the last write (etcd's header revision).</summary>
    public long Revision
    {
        get { lock (_lock) return _revision; }
    }

    /// <inheritdoc />
    public long CompactRevision
    {
        get { lock (_lock) return _compactRevision; }
    }

    /// <summary>Number of keys held.</summary>
    public int Count
    {
        get
        {
            var expired = new List<ConfigChange>();
            int n;
            lock (_lock)
            {
                ExpireLocked(expired);
                n = _entries.Count;
            }
            Raise(expired);
            return n;
        }
    }

    /// <summary>The entry at <paramref name="key"/>, or null.</summary>
    public StoreEntry? Get(string key)
    {
        var expired = new List<ConfigChange>();
        StoreEntry? found;
        lock (_lock)
        {
            ExpireLocked(expired);
            found = _entries.TryGetValue(key, out var e) ? Copy(e) : null;
        }
        Raise(expired);
        return found;
    }

    /// <summary>
    /// The entry at <paramref name="key"/> as stored, not copied: for readers that never modify
    /// its value (the request path reading versions and matching routes).
    /// </summary>
    public StoreEntry? GetShared(string key)
    {
        List<ConfigChange>? expired = null;
        StoreEntry? found;
        lock (_lock)
        {
            if (_leases.Count > 0) ExpireLocked(expired = new List<ConfigChange>());
            found = _entries.GetValueOrDefault(key);
        }
        if (expired != null) Raise(expired);
        return found;
    }

    private readonly Dictionary<string, (long Revision, IReadOnlyList<StoreEntry> Entries)> _sharedLists = new(StringComparer.Ordinal);

    /// <summary>
    /// <see cref="List"/> without copies, kept until the next write: for readers that never modify
    /// the values (the router's match over every route, on every request).
    /// </summary>
    public IReadOnlyList<StoreEntry> ListShared(string prefix)
    {
        List<ConfigChange>? expired = null;
        IReadOnlyList<StoreEntry> result;
        lock (_lock)
        {
            if (_leases.Count > 0) ExpireLocked(expired = new List<ConfigChange>());
            if (_sharedLists.TryGetValue(prefix, out var known) && known.Revision == _revision) result = known.Entries;
            else
            {
                var list = new List<StoreEntry>();
                foreach (var k in KeysInRangeLocked(prefix, prefix.Length == 0 ? "\0" : PrefixEnd(prefix))) list.Add(_entries[k]);
                _sharedLists[prefix] = (_revision, list);
                result = list;
            }
        }
        if (expired != null) Raise(expired);
        return result;
    }

    /// <summary>
    /// All entries whose key starts with <paramref name="prefix"/>, in byte
    /// order of the keys (etcd's range order).
    /// </summary>
    public IReadOnlyList<StoreEntry> List(string prefix) => Range(prefix, prefix.Length == 0 ? "\0" : PrefixEnd(prefix));

    /// <inheritdoc />
    public IReadOnlyList<StoreEntry> Range(string key, string? rangeEnd)
    {
        var expired = new List<ConfigChange>();
        var result = new List<StoreEntry>();
        lock (_lock)
        {
            ExpireLocked(expired);
            foreach (var k in KeysInRangeLocked(key, rangeEnd)) result.Add(Copy(_entries[k]));
        }
        Raise(expired);
        return result;
    }

    /// <summary>
    /// The first key after every key that starts with <paramref name="prefix"/>:
    /// the prefix with its last byte incremented (lua-resty-etcd's <c>get_range_end</c>).
    /// </summary>
    public static string PrefixEnd(string prefix)
    {
        if (prefix.Length == 0) return "\0";
        return prefix[..^1] + (char)(prefix[^1] + 1);
    }

    private List<string> KeysInRangeLocked(string key, string? rangeEnd)
    {
        var keys = new List<string>();
        if (rangeEnd == null)
        {
            if (_entries.ContainsKey(key)) keys.Add(key);
            return keys;
        }
        bool toEnd = rangeEnd == "\0";
        foreach (var k in _entries.Keys)
        {
            if (string.CompareOrdinal(k, key) < 0) continue;
            if (!toEnd && string.CompareOrdinal(k, rangeEnd) >= 0) break;
            keys.Add(k);
        }
        return keys;
    }

    /// <summary>
    /// Writes <paramref name="value"/> at <paramref name="key"/> and returns the
    /// new entry and the one it replaced (null when the key is new).
    /// </summary>
    public (StoreEntry Entry, StoreEntry? Previous) Put(string key, JsonNode? value) => Put(key, value, 0);

    /// <inheritdoc />
    public (StoreEntry Entry, StoreEntry? Previous) Put(string key, JsonNode? value, long lease) =>
        Write(key, CJson.CloneNormalized(value), null, lease);

    /// <inheritdoc />
    public (StoreEntry Entry, StoreEntry? Previous) PutRaw(string key, string raw, long lease = 0) =>
        Write(key, null, raw, lease);

    private (StoreEntry Entry, StoreEntry? Previous) Write(string key, JsonNode? value, string? raw, long lease)
    {
        var changes = new List<ConfigChange>();
        ConfigChange change;
        lock (_lock)
        {
            ExpireLocked(changes);
            change = PutLocked(key, value, raw, lease);
            changes.Add(change);
        }
        Raise(changes);
        return (Copy(change.Entry), change.Previous == null ? null : Copy(change.Previous));
    }

    /// <summary>
    /// Writes only when the key's current <see cref="StoreEntry.ModifiedIndex"/>
    /// equals <paramref name="expectedModifiedIndex"/> (etcd txn compare on MOD;
    /// 0 means "the key does not exist"). Returns null when the compare fails.
    /// </summary>
    public StoreEntry? CompareAndPut(string key, JsonNode? value, long expectedModifiedIndex) =>
        CompareAndPut(key, value, expectedModifiedIndex, 0);

    /// <inheritdoc />
    public StoreEntry? CompareAndPut(string key, JsonNode? value, long expectedModifiedIndex, long lease)
    {
        var changes = new List<ConfigChange>();
        ConfigChange? change = null;
        lock (_lock)
        {
            ExpireLocked(changes);
            long current = _entries.TryGetValue(key, out var e) ? e.ModifiedIndex : 0;
            if (current == expectedModifiedIndex)
            {
                change = PutLocked(key, CJson.CloneNormalized(value), null, lease);
                changes.Add(change);
            }
        }
        Raise(changes);
        return change == null ? null : Copy(change.Entry);
    }

    /// <summary>Deletes one key; returns the deleted entry, or null when it was absent.</summary>
    public StoreEntry? Delete(string key)
    {
        var deleted = DeleteRange(key, null);
        return deleted.Count == 0 ? null : deleted[0];
    }

    /// <summary>Deletes every key starting with <paramref name="prefix"/>; returns how many went.</summary>
    public int DeletePrefix(string prefix) => DeleteRange(prefix, prefix.Length == 0 ? "\0" : PrefixEnd(prefix)).Count;

    /// <inheritdoc />
    public IReadOnlyList<StoreEntry> DeleteRange(string key, string? rangeEnd)
    {
        var changes = new List<ConfigChange>();
        var deleted = new List<StoreEntry>();
        lock (_lock)
        {
            ExpireLocked(changes);
            var keys = KeysInRangeLocked(key, rangeEnd);
            if (keys.Count > 0)
            {
                var batch = DeleteLocked(keys);
                changes.AddRange(batch);
                deleted.AddRange(batch.Select(c => Copy(c.Previous!)));
            }
        }
        Raise(changes);
        return deleted;
    }

    /// <summary>Removes everything (the revision counter keeps counting).</summary>
    public void Clear() => DeletePrefix("");

    /// <inheritdoc />
    public long Grant(long ttlSeconds)
    {
        lock (_lock)
        {
            long id = ++_nextLease;
            _leases[id] = new LeaseState { Ttl = ttlSeconds, Deadline = LeaseClock() + ttlSeconds };
            return id;
        }
    }

    /// <inheritdoc />
    public bool Revoke(long lease)
    {
        var changes = new List<ConfigChange>();
        bool found;
        lock (_lock)
        {
            ExpireLocked(changes);
            found = _leases.Remove(lease);
            if (found) changes.AddRange(DeleteLocked(KeysOfLeaseLocked(lease)));
        }
        Raise(changes);
        return found;
    }

    /// <inheritdoc />
    public long? KeepAlive(long lease)
    {
        var changes = new List<ConfigChange>();
        long? ttl = null;
        lock (_lock)
        {
            ExpireLocked(changes);
            if (_leases.TryGetValue(lease, out var state))
            {
                state.Deadline = LeaseClock() + state.Ttl;
                ttl = state.Ttl;
            }
        }
        Raise(changes);
        return ttl;
    }

    /// <inheritdoc />
    public IReadOnlyList<ConfigChange>? Changes(long fromRevision)
    {
        var expired = new List<ConfigChange>();
        List<ConfigChange>? result;
        lock (_lock)
        {
            ExpireLocked(expired);
            if (fromRevision > 0 && fromRevision <= _compactRevision)
            {
                result = null;
            }
            else
            {
                result = new List<ConfigChange>();
                // the history is in revision order: find the first change at or after fromRevision
                int lo = 0, hi = _history.Count;
                while (lo < hi)
                {
                    int mid = (lo + hi) / 2;
                    if (_history[mid].Revision < fromRevision) lo = mid + 1; else hi = mid;
                }
                for (int i = lo; i < _history.Count; i++) result.Add(_history[i]);
            }
        }
        Raise(expired);
        return result;
    }

    /// <inheritdoc />
    public void Compact(long revision)
    {
        lock (_lock)
        {
            if (revision <= _compactRevision) return;
            _compactRevision = Math.Min(revision, _revision);
            _history.RemoveAll(c => c.Revision < _compactRevision);
        }
    }

    private ConfigChange PutLocked(string key, JsonNode? value, string? raw, long lease)
    {
        _revision++;
        _entries.TryGetValue(key, out var previous);
        var entry = new StoreEntry(key, value, previous?.CreatedIndex ?? _revision, _revision)
        {
            Raw = raw,
            Version = (previous?.Version ?? 0) + 1,
            Lease = lease,
        };
        _entries[key] = entry;
        var change = new ConfigChange(ChangeKind.Put, Copy(entry), previous == null ? null : Copy(previous), _revision);
        _history.Add(change);
        return change;
    }

    /// <summary>Deletes the keys in one revision, as etcd deletes a range.</summary>
    private List<ConfigChange> DeleteLocked(List<string> keys)
    {
        var changes = new List<ConfigChange>();
        if (keys.Count == 0) return changes;
        _revision++;
        foreach (var key in keys)
        {
            _entries.Remove(key, out var old);
            var change = new ConfigChange(ChangeKind.Delete, old! with { ModifiedIndex = _revision }, Copy(old!), _revision);
            _history.Add(change);
            changes.Add(change);
        }
        return changes;
    }

    private List<string> KeysOfLeaseLocked(long lease) =>
        _entries.Where(kv => kv.Value.Lease == lease).Select(kv => kv.Key).ToList();

    /// <summary>Ends the leases whose time ran out, deleting their keys.</summary>
    private void ExpireLocked(List<ConfigChange> changes)
    {
        if (_leases.Count == 0) return;
        double now = LeaseClock();
        foreach (var (id, state) in _leases.ToList())
        {
            if (state.Deadline > now) continue;
            _leases.Remove(id);
            changes.AddRange(DeleteLocked(KeysOfLeaseLocked(id)));
        }
    }

    private void Raise(List<ConfigChange> changes)
    {
        foreach (var change in changes) Changed?.Invoke(change);
    }

    private static StoreEntry Copy(StoreEntry e) => e with { Value = CJson.CloneNormalized(e.Value) };
}
