using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Store;

namespace Apisix.Core.Admin;

/// <summary>An etcd answer as <c>core.etcd</c> hands it to the admin code: status and body.</summary>
internal readonly record struct EtcdResult(int Status, JsonObject Body);

/// <summary>
/// The parts of <c>apisix/core/etcd.lua</c> the admin API calls, over a
/// <see cref="ConfigStore"/>: keys are given without the prefix
/// (<c>/routes/1</c>) and bodies come in the shape <c>core.etcd</c> builds
/// (etcd's own header fields are never added, so there is nothing to strip).
/// With the v2-style admin API each body carries its <c>action</c>.
///
/// A directory read behaves as if APISIX's <c>init_dir</c> placeholder
/// existed, so an empty resource lists as empty rather than "not found".
/// </summary>
internal sealed class EtcdView
{
    private readonly ConfigStore _store;

    public EtcdView(ConfigStore store, string prefix, bool v3)
    {
        _store = store;
        Prefix = prefix;
        V3 = v3;
    }

    public string Prefix { get; }

    public bool V3 { get; }

    private JsonObject NewBody(string action)
    {
        var body = new JsonObject();
        if (!V3) body["action"] = action;
        return body;
    }

    private static JsonObject Node(StoreEntry e) => new()
    {
        ["key"] = e.Key,
        ["value"] = e.Value,
        ["createdIndex"] = e.CreatedIndex,
        ["modifiedIndex"] = e.ModifiedIndex,
    };

    private static EtcdResult NotFound() => new(404, new JsonObject { ["message"] = "Key not found" });

    /// <summary><c>core.etcd.get(key, is_dir)</c>.</summary>
    public EtcdResult Get(string key, bool isDir = false)
    {
        string full = Prefix + key;
        if (!isDir)
        {
            var e = _store.Get(full);
            if (e == null) return NotFound();
            var body = NewBody("get");
            body["node"] = Node(e);
            return new EtcdResult(200, body);
        }

        string dirKey = full.EndsWith('/') ? full.Substring(0, full.Length - 1) : full;
        var nodes = new JsonArray();
        foreach (var e in _store.List(dirKey + "/")) nodes.Add(Node(e));

        var dirBody = NewBody("get");
        if (V3)
        {
            dirBody["list"] = nodes;
        }
        else
        {
            dirBody["node"] = new JsonObject
            {
                ["key"] = dirKey,
                ["dir"] = true,
                ["nodes"] = nodes,
            };
        }
        return new EtcdResult(200, dirBody);
    }

    /// <summary><c>core.etcd.set(key, value)</c>: 201 for a new key, 200 for a replaced one.</summary>
    public EtcdResult Set(string key, JsonNode? value)
    {
        string full = Prefix + key;
        var (_, previous) = _store.Put(full, value);
        var body = NewBody("set");
        body["node"] = new JsonObject { ["key"] = full, ["value"] = value?.DeepClone() };
        return new EtcdResult(previous == null ? 201 : 200, body);
    }

    /// <summary>
    /// <c>core.etcd.atomic_set(key, value, ttl, mod_revision)</c>: writes only
    /// if the key is still at that revision; null means "value changed before
    /// overwritten".
    /// </summary>
    public EtcdResult? AtomicSet(string key, JsonNode? value, long modRevision)
    {
        string full = Prefix + key;
        if (_store.CompareAndPut(full, value, modRevision) == null) return null;
        var body = NewBody("compareAndSwap");
        body["node"] = new JsonObject { ["key"] = full, ["value"] = value?.DeepClone() };
        return new EtcdResult(200, body);
    }

    /// <summary>
    /// <c>core.etcd.push(key, value)</c>: takes a fresh revision from
    /// <c>/gen_id</c>, uses it zero-padded to 20 digits as the id, sets
    /// <c>value.id</c> and stores the value under it.
    /// </summary>
    public EtcdResult Push(string key, JsonObject value)
    {
        Set("/gen_id", 1);
        string index = _store.Revision.ToString("D20", CultureInfo.InvariantCulture);
        value["id"] = index;
        var res = Set(key + "/" + index, value);
        if (!V3) res.Body["action"] = "create";
        return res;
    }

    /// <summary><c>core.etcd.delete(key)</c>: 200 with <c>deleted</c> "1", or 404 "Key not found".</summary>
    public EtcdResult Delete(string key)
    {
        string full = Prefix + key;
        if (_store.Delete(full) == null) return NotFound();
        var body = NewBody("delete");
        body["deleted"] = "1";
        body["node"] = new JsonObject();
        body["key"] = full;
        return new EtcdResult(200, body);
    }

    /// <summary><c>core.etcd.rmdir(key)</c>: deletes every key under the prefix.</summary>
    public EtcdResult Rmdir(string key)
    {
        string full = Prefix + key;
        int n = _store.DeletePrefix(full);
        if (n == 0) return NotFound();
        var body = NewBody("delete");
        body["deleted"] = n.ToString(CultureInfo.InvariantCulture);
        body["node"] = new JsonObject();
        body["key"] = full;
        return new EtcdResult(200, body);
    }

    /// <summary>The stored entries under a resource directory (for delete and conflict checks).</summary>
    public IReadOnlyList<StoreEntry> Values(string dir) => _store.List(Prefix + dir + "/");

    /// <summary>Unix seconds from the store's clock (<c>ngx.time()</c>).</summary>
    public long Now => _store.Clock();
}
