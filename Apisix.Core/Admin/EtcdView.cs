using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Store;

namespace Apisix.Core.Admin;

/// <summary>An etcd answer as <c>core.etcd</c> hands it to the admin code: status and body.</summary>
internal readonly record struct EtcdResult(int Status, JsonObject Body);

/// <summary>
/// The admin code's view of <c>core.etcd</c> (<see cref="Etcd"/>): keys without the prefix,
/// answers as status and body. Where <c>core.etcd</c> fails (no answer at all) the admin
/// resources answer 503 with the error, so that is what comes back here.
/// </summary>
internal sealed class EtcdView
{
    private readonly IEtcdStore _store;

    public EtcdView(IEtcdStore store, Etcd etcd)
    {
        _store = store;
        Core = etcd;
    }

    /// <summary>The <c>core.etcd</c> behind this view.</summary>
    public Etcd Core { get; }

    public string Prefix => Core.Prefix;

    public bool V3 => Core.V3;

    private static EtcdResult Result((EtcdResponse? Res, string? Err) r) =>
        r.Res == null
            ? new EtcdResult(503, new JsonObject { ["error_msg"] = r.Err })
            : new EtcdResult(r.Res.Status, r.Res.Body);

    /// <summary><c>core.etcd.get(key, is_dir)</c>.</summary>
    public EtcdResult Get(string key, bool isDir = false) => Result(Core.Get(key, isDir));

    /// <summary><c>core.etcd.set(key, value, ttl)</c>: 201 for a new key, 200 for a replaced one.</summary>
    public EtcdResult Set(string key, JsonNode? value, long? ttl = null) => Result(Core.Set(key, value, ttl));

    /// <summary>
    /// <c>core.etcd.atomic_set(key, value, ttl, mod_revision)</c>; null when the key moved on
    /// ("value changed before overwritten").
    /// </summary>
    public EtcdResult? AtomicSet(string key, JsonNode? value, long modRevision, long? ttl = null)
    {
        var (res, err) = Core.AtomicSet(key, value, ttl, modRevision);
        if (res == null && err == "value changed before overwritten") return null;
        return Result((res, err));
    }

    /// <summary><c>core.etcd.push(key, value, ttl)</c>: the value gets a generated 20-digit id.</summary>
    public EtcdResult Push(string key, JsonObject value, long? ttl = null) => Result(Core.Push(key, value, ttl));

    /// <summary><c>core.etcd.delete(key)</c>.</summary>
    public EtcdResult Delete(string key) => Result(Core.Delete(key));

    /// <summary><c>core.etcd.rmdir(key)</c>.</summary>
    public EtcdResult Rmdir(string key) => Result(Core.Rmdir(key));

    /// <summary>The stored objects under a resource directory (for delete and conflict checks).</summary>
    public IReadOnlyList<StoreEntry> Values(string dir) =>
        _store.Range(Prefix + dir + "/", ConfigStore.PrefixEnd(Prefix + dir + "/")).Where(e => e.Value is JsonObject).ToList();

    /// <summary>Unix seconds from the store's clock (<c>ngx.time()</c>).</summary>
    public long Now => _store is ConfigStore local ? local.Clock() : DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
