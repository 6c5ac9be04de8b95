using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Store;

/// <summary>
/// An HTTP-style answer of the etcd v3 JSON gateway as lua-resty-etcd hands it over:
/// status, response headers and the decoded body (keys and values already decoded).
/// <c>core.etcd</c> rewrites these in place (status, reason, body), as the Lua does.
/// </summary>
public sealed class EtcdResponse
{
    public int Status { get; set; } = 200;
    public string? Reason { get; set; }
    public JsonObject Headers { get; set; } = new();
    public JsonObject Body { get; set; } = new();

    /// <summary>The Lua table shape: <c>{status, reason, headers, body}</c>.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["status"] = Status, ["headers"] = Headers.DeepClone(), ["body"] = Body.DeepClone() };
        if (Reason != null) o["reason"] = Reason;
        return o;
    }

    /// <summary>Reads the Lua table shape back; a missing body or headers becomes an empty object.</summary>
    public static EtcdResponse FromJson(JsonObject o) => new()
    {
        Status = o["status"] is JsonValue s && JsonScalars.TryGetNumber(s, out var n) ? (int)n : 0,
        Reason = JsonScalars.TryGetString(o["reason"], out string r) ? r : null,
        Headers = o["headers"]?.DeepClone() as JsonObject ?? new JsonObject(),
        Body = o["body"]?.DeepClone() as JsonObject ?? new JsonObject(),
    };
}

/// <summary>
/// lua-resty-etcd's v3 client (<c>resty.etcd</c> with <c>protocol = "v3"</c>) over an
/// <see cref="IEtcdStore"/>: the same operations and the same answer shapes as the etcd
/// JSON gateway gives (64-bit numbers as strings, zero values left out, values decoded
/// from JSON, a non-JSON value absent).
/// </summary>
public sealed class EtcdClient
{
    /// <summary>The identity of the emulated cluster, as etcd puts it in every header.</summary>
    private const string ClusterId = "14841639068965178418";
    private const string MemberId = "10276657743932975437";
    private const string RaftTerm = "2";

    /// <summary>What <c>/version</c> answers.</summary>
    public const string ServerVersion = "3.5.0";

    public EtcdClient(IEtcdStore store, string keyPrefix = "")
    {
        Store = store;
        KeyPrefix = keyPrefix;
    }

    public IEtcdStore Store { get; }

    /// <summary>lua-resty-etcd's <c>key_prefix</c>, put before every key.</summary>
    public string KeyPrefix { get; }

    /// <summary>
    /// When set, called before each write method (set, setnx, setx, delete, rmdir, grant,
    /// revoke, keepalive); returning an error refuses the call with it (APISIX's
    /// <c>wrap_etcd_client</c>).
    /// </summary>
    public Func<string?>? WriteGuard { get; set; }

    /// <summary>
    /// Set when none of the configured endpoints is one the emulated cluster serves: every call
    /// then fails with this error, as lua-resty-etcd's do when all endpoints are unhealthy.
    /// </summary>
    public string? Unreachable { get; set; }

    private string RealKey(string key) => KeyPrefix.Length == 0 ? key : KeyPrefix.TrimEnd('/') + "/" + key.TrimStart('/');

    private JsonObject Header() => new()
    {
        ["cluster_id"] = ClusterId,
        ["member_id"] = MemberId,
        ["revision"] = Store.Revision.ToString(CultureInfo.InvariantCulture),
        ["raft_term"] = RaftTerm,
    };

    private EtcdResponse Answer(JsonObject body) => new()
    {
        Status = 200,
        Headers = new JsonObject { ["Content-Type"] = "application/json" },
        Body = body,
    };

    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>A kv as the gateway shows it, value decoded (absent when it is not JSON).</summary>
    public static JsonObject Kv(StoreEntry e, bool withValue = true)
    {
        var kv = new JsonObject
        {
            ["key"] = e.Key,
            ["create_revision"] = N(e.CreatedIndex),
            ["mod_revision"] = N(e.ModifiedIndex),
            ["version"] = N(e.Version),
        };
        if (withValue && e.Raw == null) kv["value"] = e.Value?.DeepClone() ?? JsonValue.Create((string?)null);
        if (e.Lease != 0) kv["lease"] = N(e.Lease);
        return kv;
    }

    /// <summary>A kv in the gateway's raw form: key and value base64 (for prev_kv, which nobody decodes).</summary>
    private static JsonObject RawKv(StoreEntry e)
    {
        string text = e.Raw ?? CJson.Encode(e.Value);
        return new JsonObject
        {
            ["key"] = Convert.ToBase64String(Encoding.Latin1.GetBytes(e.Key)),
            ["create_revision"] = N(e.CreatedIndex),
            ["mod_revision"] = N(e.ModifiedIndex),
            ["version"] = N(e.Version),
            ["value"] = Convert.ToBase64String(Encoding.Latin1.GetBytes(text)),
        };
    }

    private (EtcdResponse? Res, string? Err) Range(string key, string? rangeEnd)
    {
        var entries = Store.Range(key, rangeEnd);
        var body = new JsonObject { ["header"] = Header() };
        if (entries.Count > 0)
        {
            var kvs = new JsonArray();
            foreach (var e in entries) kvs.Add(Kv(e));
            body["kvs"] = kvs;
            body["count"] = N(entries.Count);
        }
        return (Answer(body), null);
    }

    /// <summary><c>cli:get(key)</c>: one key.</summary>
    public (EtcdResponse? Res, string? Err) Get(string key) => Unreachable is { } down ? (null, down) : Range(RealKey(key), null);

    /// <summary><c>cli:readdir(key)</c>: every key starting with <paramref name="key"/>.</summary>
    public (EtcdResponse? Res, string? Err) Readdir(string key)
    {
        if (Unreachable is { } down) return (null, down);
        string k = RealKey(key);
        return Range(k, ConfigStore.PrefixEnd(k));
    }

    /// <summary><c>cli:set(key, val, {prev_kv, lease})</c>.</summary>
    public (EtcdResponse? Res, string? Err) Set(string key, JsonNode? value, bool prevKv = false, long lease = 0)
    {
        if (Unreachable is { } down) return (null, down);
        if (WriteGuard?.Invoke() is { } refused) return (null, refused);
        var (_, previous) = Store.Put(RealKey(key), value, lease);
        var body = new JsonObject { ["header"] = Header() };
        if (prevKv && previous != null) body["prev_kv"] = RawKv(previous);
        return (Answer(body), null);
    }

    /// <summary><c>cli:setnx(key, val)</c>: create only when the key is absent (a txn).</summary>
    public (EtcdResponse? Res, string? Err) Setnx(string key, JsonNode? value)
    {
        if (Unreachable is { } down) return (null, down);
        if (WriteGuard?.Invoke() is { } refused) return (null, refused);
        bool ok = Store.CompareAndPut(RealKey(key), value, 0, 0) != null;
        return (TxnAnswer(ok, ok), null);
    }

    /// <summary><c>cli:setx(key, val)</c>: update only when the key exists (a txn).</summary>
    public (EtcdResponse? Res, string? Err) Setx(string key, JsonNode? value)
    {
        if (Unreachable is { } down) return (null, down);
        if (WriteGuard?.Invoke() is { } refused) return (null, refused);
        string k = RealKey(key);
        bool exists = Store.Range(k, null).Count > 0;
        if (exists) Store.Put(k, value, 0);
        // the compare is "not created yet"; the put is the failure branch
        return (TxnAnswer(!exists, exists), null);
    }

    private EtcdResponse TxnAnswer(bool succeeded, bool put)
    {
        var body = new JsonObject { ["header"] = Header() };
        if (succeeded) body["succeeded"] = true;
        if (put)
        {
            body["responses"] = new JsonArray(new JsonObject
            {
                ["response_put"] = new JsonObject { ["header"] = new JsonObject { ["revision"] = Store.Revision.ToString(CultureInfo.InvariantCulture) } },
            });
        }
        return Answer(body);
    }

    /// <summary>
    /// <c>cli:txn(compare, success, failure)</c> with the compares APISIX uses (target MOD,
    /// CREATE or VERSION with EQUAL/GREATER/LESS/NOT_EQUAL) and put or delete requests.
    /// </summary>
    public (EtcdResponse? Res, string? Err) Txn(JsonArray compare, JsonArray? success, JsonArray? failure)
    {
        if (Unreachable is { } down) return (null, down);
        if (compare.Count < 1) return (null, "compare couldn't be empty");
        if ((success == null || success.Count < 1) && (failure == null || failure.Count < 1))
            return (null, "success and failure couldn't be empty at the same time");

        bool ok = true;
        foreach (var c in compare)
        {
            if (c is not JsonObject rule || !JsonScalars.TryGetString(rule["key"], out string key))
                return (null, "invalid compare rule");
            var e = Store.Range(RealKey(key), null).FirstOrDefault();
            string target = JsonScalars.TryGetString(rule["target"], out string t) ? t : "VERSION";
            string result = JsonScalars.TryGetString(rule["result"], out string r) ? r : "EQUAL";
            long have = target switch
            {
                "MOD" => e?.ModifiedIndex ?? 0,
                "CREATE" => e?.CreatedIndex ?? 0,
                _ => e?.Version ?? 0,
            };
            JsonNode? wantNode = target switch
            {
                "MOD" => rule["mod_revision"] ?? rule["modRevision"],
                "CREATE" => rule["create_revision"] ?? rule["createRevision"],
                _ => rule["version"],
            };
            long want = wantNode != null && long.TryParse(LuaNumberText(wantNode), NumberStyles.Integer, CultureInfo.InvariantCulture, out var w) ? w : 0;
            bool pass = result switch
            {
                "GREATER" => have > want,
                "LESS" => have < want,
                "NOT_EQUAL" => have != want,
                _ => have == want,
            };
            if (!pass) ok = false;
        }

        var ops = ok ? success : failure;
        var responses = new JsonArray();
        foreach (var op in ops ?? new JsonArray())
        {
            if (op?["requestPut"] is JsonObject put && JsonScalars.TryGetString(put["key"], out string pk))
            {
                long lease = put["lease"] != null && long.TryParse(LuaNumberText(put["lease"]!), out var l) ? l : 0;
                if (ok && compare.Count == 1 && compare[0] is JsonObject only && ops == success
                    && JsonScalars.TryGetString(only["target"], out string ot) && ot == "MOD"
                    && JsonScalars.TryGetString(only["key"], out string ok2) && ok2 == pk)
                {
                    // compare and put in one step, so no writer slips in between
                    long want = long.TryParse(LuaNumberText(only["mod_revision"] ?? only["modRevision"] ?? 0), out var mw) ? mw : 0;
                    if (Store.CompareAndPut(RealKey(pk), put["value"], want, lease) == null)
                        return (TxnAnswer(false, false), null);
                }
                else
                {
                    Store.Put(RealKey(pk), put["value"]?.DeepClone(), lease);
                }
                responses.Add(new JsonObject { ["response_put"] = new JsonObject { ["header"] = Header() } });
            }
            else if (op?["requestDeleteRange"] is JsonObject del && JsonScalars.TryGetString(del["key"], out string dk))
            {
                string? end = JsonScalars.TryGetString(del["range_end"], out string re) ? re : null;
                var gone = Store.DeleteRange(RealKey(dk), end);
                var d = new JsonObject { ["header"] = Header() };
                if (gone.Count > 0) d["deleted"] = N(gone.Count);
                responses.Add(new JsonObject { ["response_delete_range"] = d });
            }
        }

        var body = new JsonObject { ["header"] = Header() };
        if (ok) body["succeeded"] = true;
        if (responses.Count > 0) body["responses"] = responses;
        return (Answer(body), null);
    }

    private static string LuaNumberText(JsonNode n) =>
        JsonScalars.TryGetString(n, out string s) ? s : LuaNumber.ToLuaString(JsonScalars.TryGetNumber(n, out var d) ? d : 0);

    /// <summary><c>cli:delete(key)</c>.</summary>
    public (EtcdResponse? Res, string? Err) Delete(string key) => Unreachable is { } down ? (null, down) : DeleteRange(RealKey(key), null);

    /// <summary><c>cli:rmdir(key)</c>: every key starting with <paramref name="key"/>.</summary>
    public (EtcdResponse? Res, string? Err) Rmdir(string key)
    {
        if (Unreachable is { } down) return (null, down);
        string k = RealKey(key);
        return DeleteRange(k, ConfigStore.PrefixEnd(k));
    }

    private (EtcdResponse? Res, string? Err) DeleteRange(string key, string? rangeEnd)
    {
        if (WriteGuard?.Invoke() is { } refused) return (null, refused);
        var gone = Store.DeleteRange(key, rangeEnd);
        var body = new JsonObject { ["header"] = Header() };
        if (gone.Count > 0) body["deleted"] = N(gone.Count);
        return (Answer(body), null);
    }

    /// <summary><c>cli:grant(ttl)</c>: a lease; the body carries its <c>ID</c> and <c>TTL</c>.</summary>
    public (EtcdResponse? Res, string? Err) Grant(long? ttl)
    {
        if (Unreachable is { } down) return (null, down);
        if (WriteGuard?.Invoke() is { } refused) return (null, refused);
        if (ttl == null) return (null, "lease grant command needs TTL argument");
        long id = Store.Grant(ttl.Value);
        return (Answer(new JsonObject { ["header"] = Header(), ["ID"] = N(id), ["TTL"] = N(ttl.Value) }), null);
    }

    /// <summary><c>cli:revoke(id)</c>.</summary>
    public (EtcdResponse? Res, string? Err) Revoke(long? id)
    {
        if (Unreachable is { } down) return (null, down);
        if (WriteGuard?.Invoke() is { } refused) return (null, refused);
        if (id == null) return (null, "lease revoke command needs ID argument");
        if (!Store.Revoke(id.Value))
            return (Answer(new JsonObject { ["error"] = "etcdserver: requested lease not found", ["code"] = 5 }), null);
        return (Answer(new JsonObject { ["header"] = Header() }), null);
    }

    /// <summary><c>cli:keepalive(id)</c>: the body is <c>{result = {header, ID, TTL}}</c>.</summary>
    public (EtcdResponse? Res, string? Err) KeepAlive(long? id)
    {
        if (Unreachable is { } down) return (null, down);
        if (WriteGuard?.Invoke() is { } refused) return (null, refused);
        if (id == null) return (null, "lease keepalive command needs ID argument");
        long? ttl = Store.KeepAlive(id.Value);
        var result = new JsonObject { ["header"] = Header(), ["ID"] = N(id.Value) };
        if (ttl is > 0) result["TTL"] = N(ttl.Value);
        return (Answer(new JsonObject { ["result"] = result }), null);
    }

    /// <summary><c>cli:version()</c>.</summary>
    public (EtcdResponse? Res, string? Err) Version() =>
        (Answer(new JsonObject { ["etcdserver"] = ServerVersion, ["etcdcluster"] = "3.5.0" }), null);

    /// <summary>
    /// The next watch message for keys in <c>[key, rangeEnd)</c> from <paramref name="startRevision"/>
    /// on: the changes already in the history, grouped per revision, or null when there are none
    /// yet. A start revision the history was compacted past gives the cancel message etcd sends.
    /// </summary>
    public JsonObject? WatchMessage(string key, string? rangeEnd, long startRevision, out long nextRevision)
    {
        nextRevision = startRevision;
        var changes = Store.Changes(startRevision);
        if (changes == null)
        {
            return new JsonObject
            {
                ["result"] = new JsonObject
                {
                    ["header"] = Header(),
                    ["compact_revision"] = N(Store.CompactRevision),
                    ["canceled"] = true,
                },
            };
        }

        var events = new JsonArray();
        long revision = 0;
        foreach (var c in changes)
        {
            if (revision != 0 && c.Revision != revision) break;
            nextRevision = c.Revision + 1;
            if (!InRange(c.Entry.Key, key, rangeEnd)) continue;
            revision = c.Revision;
            var ev = new JsonObject();
            if (c.Kind == ChangeKind.Delete)
            {
                ev["type"] = "DELETE";
                ev["kv"] = new JsonObject { ["key"] = c.Entry.Key, ["mod_revision"] = N(c.Revision) };
            }
            else
            {
                ev["kv"] = Kv(c.Entry);
            }
            events.Add(ev);
        }
        if (events.Count == 0) return null;
        var header = Header();
        header["revision"] = N(revision);
        return new JsonObject { ["result"] = new JsonObject { ["header"] = header, ["events"] = events } };
    }

    private static bool InRange(string k, string key, string? rangeEnd)
    {
        if (rangeEnd == null) return k == key;
        if (string.CompareOrdinal(k, key) < 0) return false;
        return rangeEnd == "\0" || string.CompareOrdinal(k, rangeEnd) < 0;
    }

    /// <summary>The first watch message: the watch was created.</summary>
    public JsonObject WatchCreated() =>
        new() { ["result"] = new JsonObject { ["header"] = Header(), ["created"] = true } };

    /// <summary>The real key for a watch on one key or a directory.</summary>
    public (string Key, string? RangeEnd) WatchRange(string key, bool dir)
    {
        string k = RealKey(key);
        return dir ? (k, ConfigStore.PrefixEnd(k)) : (k, null);
    }
}
