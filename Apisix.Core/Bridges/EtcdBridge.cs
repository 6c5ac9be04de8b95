using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Store;
using NLua;

namespace Apisix.Core.Bridges;

/// <summary>
/// The C# half of the Lua modules <c>apisix.core.etcd</c> (<see cref="Etcd"/>) and
/// <c>resty.etcd</c> (<see cref="EtcdClient"/>), over the file's store: answers go to Lua as
/// tables (<c>{status, headers, body}</c>), errors as a second value, never as an exception.
/// </summary>
public sealed class EtcdBridge
{
    public const string Name = "apisix.core.etcd";

    private readonly LuaWorker _worker;
    private readonly IEtcdStore _store;

    public EtcdBridge(LuaWorker worker, IEtcdStore store, ApisixConfig config)
    {
        _worker = worker;
        _store = store;
        Etcd = new Etcd(store, config) { Log = (level, msg) => worker.Nginx.Log(worker, level, msg, worker.CurrentRequest) };
    }

    public Etcd Etcd { get; }

    private Lua Lua => _worker.Lua;

    private object? Table(JsonNode? node) => LuaJson.FromJson(Lua, node);

    private object? Answer((EtcdResponse? Res, string? Err) r, out string? err)
    {
        err = r.Err;
        return r.Res == null ? null : Table(r.Res.ToJson());
    }

    private JsonNode? Json(object? value) => LuaJson.ToJson(Lua, value);

    private static bool Truthy(object? v) => v is not (null or false);

    private static long? Integer(object? v) => v switch
    {
        long l => l,
        double d => (long)d,
        string s when LuaText.ToNumber(s) is double d => (long)d,
        _ => null,
    };

    // core.etcd

    public object? Get(string key, object? isDir, out string? err) => Answer(Etcd.Get(key, Truthy(isDir)), out err);

    public object? Set(string key, object? value, object? ttl, out string? err) =>
        Answer(Etcd.Set(key, Json(value), Integer(ttl)), out err);

    public object? AtomicSet(string key, object? value, object? ttl, object? modRevision, out string? err) =>
        Answer(Etcd.AtomicSet(key, Json(value), Integer(ttl), Integer(modRevision) ?? 0), out err);

    public object? Push(string key, object? value, object? ttl, out string? err)
    {
        var obj = Json(value) as JsonObject ?? new JsonObject();
        return Answer(Etcd.Push(key, obj, Integer(ttl)), out err);
    }

    public object? Delete(string key, out string? err) => Answer(Etcd.Delete(key), out err);

    public object? Rmdir(string key, out string? err) => Answer(Etcd.Rmdir(key), out err);

    public object? ServerVersion(out string? err) => Answer(Etcd.ServerVersion(), out err);

    public object? Keepalive(object? id, out string? err) => Answer(Etcd.KeepAlive(Integer(id)), out err);

    /// <summary>get_format on a table the caller built: the answer is written back into it.</summary>
    public bool GetFormat(LuaTable res, object? realKey, object? isDir, object? formatted, out string? err)
    {
        var json = Json(res) as JsonObject ?? new JsonObject();
        var response = EtcdResponse.FromJson(json);
        var (done, e) = Etcd.GetFormat(response, realKey as string ?? "", Truthy(isDir), Truthy(formatted));
        err = e;
        if (done == null) return false;
        LuaJson.SyncInto(Lua, res, done.ToJson());
        return true;
    }

    public object? WatchFormat(LuaTable v3res, out string? err)
    {
        var (v2, e) = Etcd.WatchFormat(Json(v3res) as JsonObject ?? new JsonObject());
        err = e;
        return v2 == null ? null : Table(v2);
    }

    public object? KvsToNode(LuaTable kvs) => Table(Etcd.KvsToNode(Json(kvs) as JsonObject ?? new JsonObject()));

    public EtcdClient New(out string? prefix)
    {
        var (cli, p) = Etcd.New();
        prefix = p;
        return cli;
    }

    public EtcdClient GetEtcdCli(out string? prefix)
    {
        var (cli, p) = Etcd.GetEtcdCli();
        prefix = p;
        return cli;
    }

    // core.config (config_etcd)

    /// <summary><c>config:getkey(key)</c> with the prefix already added.</summary>
    public object? ConfigGetkey(EtcdClient cli, string key, out string? err) =>
        Answer(new ConfigEtcd(Etcd).GetKey(cli, key), out err);

    // resty.etcd (v3): a client over the same store

    /// <summary><c>etcd.new(opts)</c> with the options APISIX passes; the hosts all lead to this store.</summary>
    public EtcdClient? NewClient(LuaTable? opts, out string? err)
    {
        err = null;
        string keyPrefix = opts?["key_prefix"] as string ?? "";
        return new EtcdClient(_store, keyPrefix);
    }

    public object? CliGet(EtcdClient cli, string key, out string? err) => Answer(cli.Get(key), out err);

    public object? CliReaddir(EtcdClient cli, string key, out string? err) => Answer(cli.Readdir(key), out err);

    public object? CliSet(EtcdClient cli, string key, object? value, LuaTable? opts, out string? err) =>
        Answer(cli.Set(key, Json(value), Truthy(opts?["prev_kv"]), Integer(opts?["lease"]) ?? 0), out err);

    public object? CliSetnx(EtcdClient cli, string key, object? value, out string? err) => Answer(cli.Setnx(key, Json(value)), out err);

    public object? CliSetx(EtcdClient cli, string key, object? value, out string? err) => Answer(cli.Setx(key, Json(value)), out err);

    public object? CliDelete(EtcdClient cli, string key, out string? err) => Answer(cli.Delete(key), out err);

    public object? CliRmdir(EtcdClient cli, string key, out string? err) => Answer(cli.Rmdir(key), out err);

    public object? CliTxn(EtcdClient cli, object? compare, object? success, object? failure, out string? err) =>
        Answer(cli.Txn(Json(compare) as JsonArray ?? new JsonArray(), Json(success) as JsonArray, Json(failure) as JsonArray), out err);

    public object? CliGrant(EtcdClient cli, object? ttl, out string? err) => Answer(cli.Grant(Integer(ttl)), out err);

    public object? CliRevoke(EtcdClient cli, object? id, out string? err) => Answer(cli.Revoke(Integer(id)), out err);

    public object? CliKeepalive(EtcdClient cli, object? id, out string? err) => Answer(cli.KeepAlive(Integer(id)), out err);

    public object? CliVersion(EtcdClient cli, out string? err) => Answer(cli.Version(), out err);

    /// <summary>A watch on a key or a directory: the state a Lua reader function keeps.</summary>
    public sealed class Watch
    {
        public required EtcdClient Cli { get; init; }
        public required string Key { get; init; }
        public string? RangeEnd { get; init; }
        public long Next { get; set; }
        public bool Created { get; set; }
        public bool Closed { get; set; }
        public double Timeout { get; init; }
    }

    public Watch CliWatch(EtcdClient cli, string key, object? dir, LuaTable? opts)
    {
        var (k, end) = cli.WatchRange(key, Truthy(dir));
        long start = Integer(opts?["start_revision"]) ?? 0;
        if (start <= 0) start = _store.Revision + 1;
        double timeout = opts?["timeout"] switch { long l => l, double d => d, _ => 0 };
        return new Watch { Cli = cli, Key = k, RangeEnd = end, Next = start, Timeout = timeout };
    }

    /// <summary>
    /// Starts reading the next watch message; returns an op to await, whose results are the
    /// message (a table) or nil and "timeout" / "closed".
    /// </summary>
    public long WatchRead(Watch w)
    {
        return _worker.NewOp(ReadAsync(w));
    }

    private async Task<object?[]> ReadAsync(Watch w)
    {
        var (msg, err) = await ReadJsonAsync(w);
        return msg == null ? [null, err] : [Table(msg)];
    }

    /// <summary>
    /// <c>waitdir</c> of core.config's automatic sync: the next change under the directory
    /// <paramref name="key"/> after revision <paramref name="prevIndex"/>, in the v2 shape
    /// <c>watch_format</c> gives (<c>body.node</c> a list of items), or nil and "timeout",
    /// "compacted" or "closed".
    /// </summary>
    public long ConfigWaitdir(EtcdClient cli, string key, object? prevIndex, object? timeout)
    {
        var (k, end) = cli.WatchRange(key, true);
        double t = timeout switch { long l => l, double d => d, _ => 0 };
        var w = new Watch { Cli = cli, Key = k, RangeEnd = end, Next = (Integer(prevIndex) ?? 0) + 1, Timeout = t, Created = true };
        return _worker.NewOp(WaitdirAsync(w));
    }

    private async Task<object?[]> WaitdirAsync(Watch w)
    {
        var (msg, err) = await ReadJsonAsync(w);
        if (msg == null) return [null, err];
        var (v2, e) = ConfigEtcd.WaitdirFormat(msg);
        return v2 == null ? [null, e] : [Table(v2)];
    }

    private async Task<(JsonObject? Msg, string? Err)> ReadJsonAsync(Watch w)
    {
        if (w.Closed) return (null, "closed");
        if (!w.Created)
        {
            w.Created = true;
            return (w.Cli.WatchCreated(), null);
        }

        var deadline = w.Timeout > 0 ? DateTime.UtcNow.AddSeconds(w.Timeout) : DateTime.MaxValue;
        while (true)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnChange(ConfigChange _) => signal.TrySetResult();
            _store.Changed += OnChange;
            try
            {
                var msg = w.Cli.WatchMessage(w.Key, w.RangeEnd, w.Next, out long next);
                w.Next = next;
                if (msg != null) return (msg, null);
                if (w.Closed) return (null, "closed");
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return (null, "timeout");
                var wait = left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200);
                try
                {
                    await signal.Task.WaitAsync(wait, _worker.Stopping);
                }
                catch (TimeoutException)
                {
                }
                catch (OperationCanceledException)
                {
                    return (null, "closed");
                }
            }
            finally
            {
                _store.Changed -= OnChange;
            }
        }
    }

    public long WatchCancel(Watch w)
    {
        w.Closed = true;
        return 1;
    }

    /// <summary>For messages: a number as Lua's tostring shows it.</summary>
    public static string Text(long n) => n.ToString(CultureInfo.InvariantCulture);
}
