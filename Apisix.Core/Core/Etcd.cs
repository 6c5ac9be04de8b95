// Twin of apisix/core/etcd.lua
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Core;

/// <summary>
/// <c>core.etcd</c>: APISIX's etcd API over lua-resty-etcd's v3 client (<see cref="EtcdClient"/>),
/// answering in the etcd v2 shapes the rest of APISIX reads (<c>node</c>, <c>nodes</c>,
/// <c>createdIndex</c>/<c>modifiedIndex</c>, the <c>X-Etcd-Index</c> header) or, with the v3
/// admin API, <c>list</c> instead of a directory node. Keys are given without the prefix.
/// A data plane that writes gets a warning, as upstream (writes still go through).
/// </summary>
public sealed class Etcd
{
    public const string NotAllowWriteEtcdWarn =
        "Data plane role should not write to etcd. This operation will be deprecated in future releases.";

    private readonly IEtcdStore _store;
    private readonly ApisixConfig _config;
    private EtcdClient? _cli;

    public Etcd(IEtcdStore store, ApisixConfig config)
    {
        _store = store;
        _config = config;
    }

    /// <summary>Where warnings and errors go (nginx level, message).</summary>
    public Action<LogLevel, string>? Log { get; set; }

    /// <summary><c>etcd.prefix</c> from the local configuration.</summary>
    public string Prefix => _config.EtcdPrefix;

    /// <summary><c>v3_adapter.enable_v3()</c>.</summary>
    public bool V3 => _config.AdminApiVersion == "v3";

    private void ToV3(JsonObject body, string action)
    {
        if (!V3) body["action"] = action;
    }

    private void ToV3List(JsonObject body)
    {
        if (!V3) return;
        if (body["node"] is JsonObject node && LuaText.FieldIsTruthy(node, "dir"))
        {
            body["list"] = node["nodes"]?.DeepClone();
            body.Remove("node");
        }
    }

    /// <summary>The directories APISIX keeps in etcd (<c>constants.HTTP_ETCD_DIRECTORY</c> and the stream ones).</summary>
    public static readonly IReadOnlyList<string> EtcdDirectories =
    [
        "/upstreams", "/plugins", "/ssls", "/stream_routes", "/plugin_metadata", "/routes", "/services",
        "/consumers", "/global_rules", "/protos", "/plugin_configs", "/consumer_groups", "/secrets",
    ];

    /// <summary>
    /// What <c>apisix init_etcd</c> does to a fresh cluster (<c>prepare_dirs</c> in
    /// apisix/cli/etcd.lua): one <c>init_dir</c> placeholder, not JSON, at each
    /// directory key with a trailing slash. APISIX's test runs start from this.
    /// </summary>
    public static void InitDirs(IEtcdStore store, string prefix)
    {
        foreach (var dir in EtcdDirectories) store.PutRaw(prefix + dir + "/", "init_dir");
    }

    private bool IsDataPlane() => _config.DeploymentRole == "data_plane";

    /// <summary>
    /// <c>disable_write_if_data_plane</c>: a data plane only gets a warning for now, so this
    /// never refuses; it returns (disable, err).
    /// </summary>
    private (bool Disable, string? Err) DisableWriteIfDataPlane()
    {
        if (IsDataPlane()) Log?.Invoke(LogLevel.Warn, NotAllowWriteEtcdWarn);
        return (false, null);
    }

    /// <summary><c>wrap_etcd_client</c>: the write methods warn on a data plane first.</summary>
    private EtcdClient WrapEtcdClient(EtcdClient cli)
    {
        cli.WriteGuard = () =>
        {
            var (disable, err) = DisableWriteIfDataPlane();
            return disable ? err ?? "" : null;
        };
        return cli;
    }

    /// <summary><c>core.etcd.new()</c>: a client (prefix not applied to its keys) and the prefix.</summary>
    public (EtcdClient Cli, string Prefix) New() =>
        (WrapEtcdClient(new EtcdClient(_store) { Unreachable = _store is not ConfigStore || ServesConfiguredHost() ? null : ErrUnhealthyAll }), Prefix);

    /// <summary>lua-resty-etcd's answer when no endpoint is healthy.</summary>
    public const string ErrUnhealthyAll = "has no healthy etcd endpoint available";

    /// <summary>Where the emulated cluster listens: plain HTTP on the loopback's 2379, as APISIX's default.</summary>
    public static readonly IReadOnlyList<string> EmulatedEndpoints = ["http://127.0.0.1:2379", "http://localhost:2379"];

    /// <summary>
    /// (For the in-memory store only: a real cluster's client is reached at its own endpoint.)
    /// Whether <c>etcd.host</c> names an endpoint the emulated cluster serves. Any other endpoint
    /// (another port, https with its TLS settings, an etcd of APISIX's CI) has nothing behind it,
    /// so the calls fail as they would against a dead cluster instead of silently reaching ours.
    /// </summary>
    private bool ServesConfiguredHost()
    {
        var hosts = _config.Get("deployment", "etcd", "host") ?? _config.Get("etcd", "host");
        if (hosts is not JsonArray list || list.Count == 0) return true;
        return list.Any(h => JsonScalars.TryGetString(h, out string url)
            && EmulatedEndpoints.Contains(url.TrimEnd('/'), StringComparer.OrdinalIgnoreCase));
    }

    /// <summary><c>core.etcd.new_without_proxy()</c>: the same client here (there is no conf server).</summary>
    public (EtcdClient Cli, string Prefix) NewWithoutProxy() => New();

    /// <summary><c>core.etcd.get_etcd_syncer()</c>.</summary>
    public (EtcdClient Cli, string Prefix) GetEtcdSyncer() => New();

    /// <summary><c>get_etcd_cli()</c>: one client, made on first use.</summary>
    public (EtcdClient Cli, string Prefix) GetEtcdCli()
    {
        _cli ??= New().Cli;
        return (_cli, Prefix);
    }

    /// <summary><c>kvs_to_node</c>: an etcd v3 kv as a v2 node.</summary>
    public static JsonObject KvsToNode(JsonObject kvs)
    {
        var node = new JsonObject();
        if (kvs["key"] is { } key) node["key"] = key.DeepClone();
        if (kvs.TryGetPropertyValue("value", out var value)) node["value"] = value?.DeepClone();
        if (ToNumber(kvs["create_revision"]) is { } c) node["createdIndex"] = c;
        if (ToNumber(kvs["mod_revision"]) is { } m) node["modifiedIndex"] = m;
        return node;
    }

    /// <summary>Lua's <c>tonumber</c> on a JSON scalar; integral numbers stay integers.</summary>
    private static JsonNode? ToNumber(JsonNode? v)
    {
        double? d = v is JsonValue jv && JsonScalars.TryGetNumber(jv, out var n) ? n
            : JsonScalars.TryGetString(v, out string s) ? LuaText.ToNumber(s) : null;
        if (d == null) return null;
        if (Math.Floor(d.Value) == d.Value && Math.Abs(d.Value) < 9.2e18) return JsonValue.Create((long)d.Value);
        return JsonValue.Create(d.Value);
    }

    private static void KvsToNodes(JsonObject body, bool excludeDir)
    {
        var node = (JsonObject)body["node"]!;
        node["dir"] = true;
        var nodes = new JsonArray();
        var kvs = body["kvs"] as JsonArray ?? new JsonArray();
        for (int i = excludeDir ? 1 : 0; i < kvs.Count; i++)
        {
            if (kvs[i] is JsonObject kv) nodes.Add(KvsToNode(kv));
        }
        node["nodes"] = nodes;
    }

    private static EtcdResponse NotFound(EtcdResponse res)
    {
        res.Body["message"] = "Key not found";
        res.Reason = "Not found";
        res.Status = 404;
        return res;
    }

    private static (JsonNode? Revision, string? Err) GetHeaderRevision(EtcdResponse res)
    {
        if (res.Body["header"] is not JsonObject header || !LuaText.FieldIsTruthy(header, "revision"))
            return (null, "etcd response missing header.revision");
        return (header["revision"], null);
    }

    /// <summary>
    /// <c>core.etcd.get_format(res, real_key, is_dir, formatter)</c>: checks the answer and turns
    /// the v3 kvs into a v2 node (or, for a directory, a node with <c>nodes</c>, or a v3
    /// <c>list</c>). With <paramref name="formatted"/> the caller formats the answer itself
    /// after the checks (the Lua <c>formatter</c>); null with the error otherwise.
    /// </summary>
    public (EtcdResponse? Res, string? Err) GetFormat(EtcdResponse res, string realKey, bool isDir, bool formatted = false)
    {
        var body = res.Body;
        string? error = body["error"] is { } e && LuaText.IsTruthy(e) ? LuaText.ToLuaString(e) : null;
        if (error == "etcdserver: user name is empty") return (null, "insufficient credentials code: 401");
        if (error == "etcdserver: permission denied") return (null, "etcd forbidden code: 403");
        if (error != null) return (null, error);

        var (revision, err) = GetHeaderRevision(res);
        if (revision == null) return (null, err);
        res.Headers["X-Etcd-Index"] = revision.DeepClone();

        if (!LuaText.FieldIsTruthy(body, "kvs")) return (NotFound(res), null);

        ToV3(body, "get");

        if (formatted) return (res, null);

        var kvs = body["kvs"] as JsonArray;
        var first = kvs is { Count: > 0 } ? kvs[0] as JsonObject : null;
        if (first == null)
            throw new InvalidOperationException("attempt to index a nil value (field '?')");

        if (!isDir)
        {
            string? key = JsonScalars.TryGetString(first["key"], out string k) ? k : null;
            if (key != realKey) return (NotFound(res), null);
            body["node"] = KvsToNode(first);
        }
        else
        {
            var node = KvsToNode(first);
            body["node"] = node;
            string nodeKey = JsonScalars.TryGetString(node["key"], out string nk) ? nk : "";
            if (first["value"] == null)
            {
                // the init_dir placeholder: its own key, without the last "/", names the directory
                if (nodeKey.EndsWith('/')) node["key"] = nodeKey[..^1];
                KvsToNodes(body, excludeDir: true);
            }
            else
            {
                int slash = nodeKey.LastIndexOf('/');
                if (slash >= 0) node["key"] = nodeKey[..slash];
                KvsToNodes(body, excludeDir: false);
            }
        }

        body.Remove("kvs");
        ToV3List(body);
        return (res, null);
    }

    /// <summary><c>core.etcd.watch_format(v3res)</c>: a watch message as a v2 answer, or "compacted".</summary>
    public static (JsonObject? Res, string? Err) WatchFormat(JsonObject v3res)
    {
        var result = v3res["result"] as JsonObject ?? new JsonObject();
        var v2 = new JsonObject
        {
            ["headers"] = new JsonObject { ["X-Etcd-Index"] = result["header"]?["revision"]?.DeepClone() },
        };
        var node = new JsonArray();
        var body = new JsonObject { ["node"] = node };
        v2["body"] = body;

        if (JsonScalars.TryGetNumber(ToNumber(result["compact_revision"]), out var cr) && cr > 0)
            return (null, "compacted");

        foreach (var ev in result["events"] as JsonArray ?? new JsonArray())
        {
            if (ev?["kv"] is JsonObject kv) node.Add(KvsToNode(kv));
            if (JsonScalars.TryGetString(ev?["type"], out string t) && t == "DELETE") body["action"] = "delete";
        }
        return (v2, null);
    }

    /// <summary><c>core.etcd.get(key, is_dir)</c>.</summary>
    public (EtcdResponse? Res, string? Err) Get(string key, bool isDir = false)
    {
        var (cli, prefix) = GetEtcdCli();
        key = prefix + key;
        // in v3 a get does not turn into a directory read by itself: read the range
        var (res, err) = cli.Readdir(key);
        if (res == null) return (null, err);
        return GetFormat(res, key, isDir);
    }

    /// <summary><c>core.etcd.set(key, value, ttl)</c>: 201 for a new key, 200 for a replaced one.</summary>
    public (EtcdResponse? Res, string? Err) Set(string key, JsonNode? value, long? ttl = null)
    {
        var (disable, derr) = DisableWriteIfDataPlane();
        if (disable) return (null, derr);

        var (cli, prefix) = GetEtcdCli();
        EtcdResponse? res;
        string? err;
        JsonNode? leaseId = null;
        if (ttl != null)
        {
            var (data, grantErr) = cli.Grant(ttl);
            if (data == null) return (null, grantErr);
            leaseId = data.Body["ID"]?.DeepClone();
            long lease = long.Parse(data.Body["ID"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            (res, err) = cli.Set(prefix + key, value, prevKv: true, lease: lease);
            if (res == null) return (null, err);
            res.Body["lease_id"] = leaseId;
        }
        else
        {
            (res, err) = cli.Set(prefix + key, value, prevKv: true);
        }
        if (res == null) return (null, err);

        if (res.Body["error"] is { } e && LuaText.IsTruthy(e)) return (null, LuaText.ToLuaString(e));

        var (revision, revErr) = GetHeaderRevision(res);
        if (revision == null) return (null, revErr);
        res.Headers["X-Etcd-Index"] = revision.DeepClone();

        ToV3(res.Body, "set");
        res.Body["node"] = new JsonObject { ["key"] = prefix + key, ["value"] = value?.DeepClone() };
        res.Status = 201;
        if (res.Body.ContainsKey("prev_kv"))
        {
            res.Status = 200;
            res.Body.Remove("prev_kv");
        }
        return (res, null);
    }

    /// <summary>
    /// <c>core.etcd.atomic_set(key, value, ttl, mod_revision)</c>: writes only while the key is
    /// still at <paramref name="modRevision"/>; else "value changed before overwritten".
    /// </summary>
    public (EtcdResponse? Res, string? Err) AtomicSet(string key, JsonNode? value, long? ttl, long modRevision)
    {
        var (disable, derr) = DisableWriteIfDataPlane();
        if (disable) return (null, derr);

        var (cli, prefix) = GetEtcdCli();
        JsonNode? leaseId = null;
        if (ttl != null)
        {
            var (data, grantErr) = cli.Grant(ttl);
            if (data == null) return (null, grantErr);
            leaseId = data.Body["ID"]?.DeepClone();
        }

        key = prefix + key;
        var compare = new JsonArray(new JsonObject
        {
            ["key"] = key, ["target"] = "MOD", ["result"] = "EQUAL", ["mod_revision"] = modRevision,
        });
        var put = new JsonObject { ["key"] = key, ["value"] = value?.DeepClone() };
        if (leaseId != null) put["lease"] = leaseId;
        var success = new JsonArray(new JsonObject { ["requestPut"] = put });

        var (res, err) = cli.Txn(compare, success, null);
        if (res == null) return (null, err);
        if (!LuaText.FieldIsTruthy(res.Body, "succeeded")) return (null, "value changed before overwritten");

        var (revision, revErr) = GetHeaderRevision(res);
        if (revision == null) return (null, revErr);
        res.Headers["X-Etcd-Index"] = revision.DeepClone();
        ToV3(res.Body, "compareAndSwap");
        res.Body["node"] = new JsonObject { ["key"] = key, ["value"] = value?.DeepClone() };
        return (res, null);
    }

    /// <summary>
    /// <c>core.etcd.push(key, value, ttl)</c>: a fresh revision (a write to <c>/gen_id</c>),
    /// zero-padded to 20 digits, becomes <c>value.id</c> and the last key segment.
    /// </summary>
    public (EtcdResponse? Res, string? Err) Push(string key, JsonObject value, long? ttl = null)
    {
        var (disable, derr) = DisableWriteIfDataPlane();
        if (disable) return (null, derr);

        var (res, err) = Set("/gen_id", 1);
        if (res == null) return (null, err);

        var (index, revErr) = GetHeaderRevision(res);
        if (index == null) return (null, revErr);
        double n = JsonScalars.TryGetNumber(ToNumber(index), out var num) ? num : 0;
        string id = ((long)n).ToString("D20", CultureInfo.InvariantCulture);

        value["id"] = id;
        (res, err) = Set(key + "/" + id, value, ttl);
        if (res == null) return (null, err);

        ToV3(res.Body, "create");
        return (res, null);
    }

    /// <summary><c>core.etcd.delete(key)</c>: 200 with <c>deleted</c>, or 404 "Key not found".</summary>
    public (EtcdResponse? Res, string? Err) Delete(string key)
    {
        var (disable, derr) = DisableWriteIfDataPlane();
        if (disable) return (null, derr);

        var (cli, prefix) = GetEtcdCli();
        var (res, err) = cli.Delete(prefix + key);
        return AfterDelete(res, err, prefix + key);
    }

    /// <summary><c>core.etcd.rmdir(key)</c>: deletes every key under the prefix.</summary>
    public (EtcdResponse? Res, string? Err) Rmdir(string key)
    {
        var (disable, derr) = DisableWriteIfDataPlane();
        if (disable) return (null, derr);

        var (cli, prefix) = GetEtcdCli();
        var (res, err) = cli.Rmdir(prefix + key);
        return AfterDelete(res, err, prefix + key);
    }

    private (EtcdResponse? Res, string? Err) AfterDelete(EtcdResponse? res, string? err, string fullKey)
    {
        if (res == null) return (null, err);
        var (revision, revErr) = GetHeaderRevision(res);
        if (revision == null) return (null, revErr);
        res.Headers["X-Etcd-Index"] = revision.DeepClone();

        if (!LuaText.FieldIsTruthy(res.Body, "deleted")) return (NotFound(res), null);

        ToV3(res.Body, "delete");
        res.Body["node"] = new JsonObject();
        res.Body["key"] = fullKey;
        return (res, null);
    }

    /// <summary><c>core.etcd.server_version()</c>: <c>body = {etcdserver, etcdcluster}</c>.</summary>
    public (EtcdResponse? Res, string? Err) ServerVersion() => GetEtcdCli().Cli.Version();

    /// <summary><c>core.etcd.keepalive(id)</c>.</summary>
    public (EtcdResponse? Res, string? Err) KeepAlive(long? id)
    {
        var (disable, derr) = DisableWriteIfDataPlane();
        if (disable) return (null, derr);
        return GetEtcdCli().Cli.KeepAlive(id);
    }
}
