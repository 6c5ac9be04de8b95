using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Store;

/// <summary>One stored key, as etcd v3 reports it (with APISIX's v2-style index names).</summary>
/// <param name="Key">Full key including the prefix, e.g. <c>/apisix/routes/1</c>.</param>
/// <param name="Value">The stored JSON value. A copy: changing it does not change the store.</param>
/// <param name="CreatedIndex">Revision at which the key was created (etcd <c>create_revision</c>).</param>
/// <param name="ModifiedIndex">Revision of the last write to the key (etcd <c>mod_revision</c>).</param>
public sealed record StoreEntry(string Key, JsonNode? Value, long CreatedIndex, long ModifiedIndex);

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
/// JSON text that each reader decodes anew.
///
/// A store belongs to one test file (or one standalone gateway), not to one
/// test block: blocks later in a file see what earlier blocks wrote, as they
/// did with a real etcd. Thread-safe; <see cref="Changed"/> handlers run on the
/// writing thread after the write, outside the lock, in revision order per writer.
/// </summary>
public sealed class ConfigStore
{
    private readonly object _lock = new();
    private readonly SortedDictionary<string, StoreEntry> _entries = new(StringComparer.Ordinal);
    private long _revision = 1; // a fresh etcd cluster starts at revision 1

    /// <summary>Creates an empty store whose clock is the wall clock.</summary>
    public ConfigStore() : this(null) { }

    /// <param name="clock">Unix time in seconds (ngx.time()); null for the wall clock.</param>
    public ConfigStore(Func<long>? clock)
    {
        Clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    /// <summary>The key prefix APISIX uses by default (<c>deployment.etcd.prefix</c>).</summary>
    public const string DefaultPrefix = "/apisix";

    /// <summary>
    /// Unix time in seconds, used for <c>create_time</c>/<c>update_time</c> by
    /// writers (the admin API). Replaceable for tests.
    /// </summary>
    public Func<long> Clock { get; set; }

    /// <summary>Raised after every put and delete, once per key.</summary>
    public event Action<ConfigChange>? Changed;

    /// <summary>The revision of the last write (etcd's header revision).</summary>
    public long Revision
    {
        get { lock (_lock) return _revision; }
    }

    /// <summary>Number of keys held.</summary>
    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    /// <summary>The entry at <paramref name="key"/>, or null.</summary>
    public StoreEntry? Get(string key)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(key, out var e) ? Copy(e) : null;
        }
    }

    /// <summary>
    /// All entries whose key starts with <paramref name="prefix"/>, in byte
    /// order of the keys (etcd's range order).
    /// </summary>
    public IReadOnlyList<StoreEntry> List(string prefix)
    {
        lock (_lock)
        {
            var result = new List<StoreEntry>();
            foreach (var (key, entry) in _entries)
            {
                if (key.StartsWith(prefix, StringComparison.Ordinal)) result.Add(Copy(entry));
            }
            return result;
        }
    }

    /// <summary>
    /// Writes <paramref name="value"/> at <paramref name="key"/> and returns the
    /// new entry and the one it replaced (null when the key is new).
    /// </summary>
    public (StoreEntry Entry, StoreEntry? Previous) Put(string key, JsonNode? value)
    {
        ConfigChange change;
        lock (_lock)
        {
            change = PutLocked(key, value);
        }
        Changed?.Invoke(change);
        return (Copy(change.Entry), change.Previous == null ? null : Copy(change.Previous));
    }

    /// <summary>
    /// Writes only when the key's current <see cref="StoreEntry.ModifiedIndex"/>
    /// equals <paramref name="expectedModifiedIndex"/> (etcd txn compare on MOD;
    /// 0 means "the key does not exist"). Returns null when the compare fails.
    /// </summary>
    public StoreEntry? CompareAndPut(string key, JsonNode? value, long expectedModifiedIndex)
    {
        ConfigChange change;
        lock (_lock)
        {
            long current = _entries.TryGetValue(key, out var e) ? e.ModifiedIndex : 0;
            if (current != expectedModifiedIndex) return null;
            change = PutLocked(key, value);
        }
        Changed?.Invoke(change);
        return Copy(change.Entry);
    }

    /// <summary>Deletes one key; returns the deleted entry, or null when it was absent.</summary>
    public StoreEntry? Delete(string key)
    {
        ConfigChange change;
        lock (_lock)
        {
            if (!_entries.Remove(key, out var old)) return null;
            _revision++;
            change = new ConfigChange(ChangeKind.Delete, old with { ModifiedIndex = _revision }, Copy(old), _revision);
        }
        Changed?.Invoke(change);
        return Copy(change.Entry);
    }

    /// <summary>Deletes every key starting with <paramref name="prefix"/>; returns how many went.</summary>
    public int DeletePrefix(string prefix)
    {
        var changes = new List<ConfigChange>();
        lock (_lock)
        {
            var keys = _entries.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            if (keys.Count == 0) return 0;
            // etcd deletes a range in one revision.
            _revision++;
            foreach (var key in keys)
            {
                _entries.Remove(key, out var old);
                changes.Add(new ConfigChange(ChangeKind.Delete, old! with { ModifiedIndex = _revision }, old, _revision));
            }
        }
        foreach (var change in changes) Changed?.Invoke(change);
        return changes.Count;
    }

    /// <summary>Removes everything (the revision counter keeps counting).</summary>
    public void Clear() => DeletePrefix("");

    private ConfigChange PutLocked(string key, JsonNode? value)
    {
        _revision++;
        _entries.TryGetValue(key, out var previous);
        var entry = new StoreEntry(key, CJson.CloneNormalized(value), previous?.CreatedIndex ?? _revision, _revision);
        _entries[key] = entry;
        return new ConfigChange(ChangeKind.Put, Copy(entry), previous == null ? null : Copy(previous), _revision);
    }

    private static StoreEntry Copy(StoreEntry e) => e with { Value = CJson.CloneNormalized(e.Value) };
}
