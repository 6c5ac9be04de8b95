using System.Text.Json.Nodes;

namespace Apisix.Core.Store;

/// <summary>
/// The etcd v3 key-value semantics APISIX relies on, as one seam: ranges by key or
/// key range, puts and deletes that each take a revision, a compare-on-revision
/// transaction, leases (keys that expire), the ordered change history a watch reads
/// from, and compaction of that history.
///
/// <see cref="ConfigStore"/> is the in-memory implementation; a client of a real
/// etcd cluster can stand behind the same interface.
/// </summary>
public interface IEtcdStore
{
    /// <summary>The revision of the last write (etcd's response header revision).</summary>
    long Revision { get; }

    /// <summary>The revision the history was compacted at; 0 when never compacted.</summary>
    long CompactRevision { get; }

    /// <summary>
    /// The entries in <c>[key, rangeEnd)</c> in byte order of the keys. A null
    /// <paramref name="rangeEnd"/> reads the one key; <c>"\0"</c> reads every key from
    /// <paramref name="key"/> on (etcd's <c>range_end</c>).
    /// </summary>
    IReadOnlyList<StoreEntry> Range(string key, string? rangeEnd);

    /// <summary>Writes a JSON value, attached to a lease when <paramref name="lease"/> is not 0.</summary>
    (StoreEntry Entry, StoreEntry? Previous) Put(string key, JsonNode? value, long lease);

    /// <summary>Writes bytes that are not JSON (APISIX's <c>init_dir</c> placeholders).</summary>
    (StoreEntry Entry, StoreEntry? Previous) PutRaw(string key, string raw, long lease = 0);

    /// <summary>
    /// Writes only when the key's mod revision equals <paramref name="expectedModRevision"/>
    /// (0: the key must not exist). Null when the compare fails.
    /// </summary>
    StoreEntry? CompareAndPut(string key, JsonNode? value, long expectedModRevision, long lease);

    /// <summary>Deletes the keys in <c>[key, rangeEnd)</c> (one key when null), in one revision.</summary>
    IReadOnlyList<StoreEntry> DeleteRange(string key, string? rangeEnd);

    /// <summary>A lease that ends after <paramref name="ttlSeconds"/>; returns its id.</summary>
    long Grant(long ttlSeconds);

    /// <summary>Ends a lease now and deletes its keys; false when it does not exist.</summary>
    bool Revoke(long lease);

    /// <summary>Restarts a lease's time to live; returns the TTL, or null when the lease is gone.</summary>
    long? KeepAlive(long lease);

    /// <summary>
    /// The changes after <paramref name="fromRevision"/> - 1 (that is, at revision
    /// <paramref name="fromRevision"/> or later), in order. Null when that part of the
    /// history was compacted away.
    /// </summary>
    IReadOnlyList<ConfigChange>? Changes(long fromRevision);

    /// <summary>Drops the history before <paramref name="revision"/>.</summary>
    void Compact(long revision);

    /// <summary>Raised after every change, outside the store's lock, in revision order per writer.</summary>
    event Action<ConfigChange>? Changed;
}
