using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;

namespace Apisix.Core.Admin;

/// <summary>The outcome of a resource's own checker: ok with a value (an id or name), or an error body.</summary>
internal readonly record struct CheckResult(bool Ok, JsonNode? Value, JsonObject? Error)
{
    public static CheckResult Pass(JsonNode? value = null) => new(true, value, null);

    public static CheckResult Fail(string message) => new(false, null, Msg(message));

    public static JsonObject Msg(string message) => new() { ["error_msg"] = message };
}

/// <summary>A resource handler's answer: status and body (a JSON value, or plain text).</summary>
internal readonly record struct HandlerResult(int Status, JsonNode? Body, string? Text = null);

/// <summary>
/// The generic resource of <c>apisix/admin/resource.lua</c>: GET (one or
/// list), POST (generated id), PUT, PATCH (merge or sub-path) and DELETE over
/// the store, with the id and timestamp rules, calling the resource's own
/// checker on a copy of the conf.
/// </summary>
internal sealed class AdminResource
{
    public required string Name { get; init; }
    public required string Kind { get; init; }

    /// <summary>(id, conf copy, need_id) → check result; the copy gets schema defaults, the stored conf does not.</summary>
    public required Func<JsonNode?, JsonObject, bool, CheckResult> Checker { get; init; }

    public Action<JsonNode?, JsonObject>? EncryptConf { get; init; }

    /// <summary>(id) → null, or the status and body refusing the delete.</summary>
    public Func<string, (int, JsonObject)?>? DeleteChecker { get; init; }

    public string[] UnsupportedMethods { get; init; } = Array.Empty<string>();

    public HashSet<string> ListFilterFields { get; init; } = new();

    /// <summary>The id is part of the body (consumers: username) or the path (plugin_metadata), not checked as an id.</summary>
    public bool NoIdResource { get; init; }

    public required EtcdView Etcd { get; init; }

    /// <summary>A checker that also gets the resource's type segment (secrets: the secret manager).</summary>
    public Func<JsonNode?, JsonObject, bool, string?, CheckResult>? TypedChecker { get; init; }

    /// <summary>
    /// <c>get_resource_etcd_key(id, conf, sub_path)</c>: where a resource whose key is not
    /// <c>/NAME/ID</c> lives (credentials, under their consumer).
    /// </summary>
    public Func<string?, string, string>? GetResourceEtcdKey { get; init; }

    /// <summary>Secrets live under <c>/secrets/TYPE/ID</c>: the id's path segment is the type.</summary>
    private bool IsSecrets => Name == "secrets";

    /// <summary><c>split_typ_and_id(id, sub_path)</c>: the type is the id segment, the id the first sub-path segment.</summary>
    private static (string? Typ, string? Id) SplitTypAndId(string? id, string subPath)
    {
        var segs = AdminUtils.Split(subPath);
        return (id, segs.Count > 0 ? segs[0] : null);
    }

    private HandlerResult? Unsupported(string method)
    {
        if (Array.IndexOf(UnsupportedMethods, method) < 0) return null;
        return new HandlerResult(405, CheckResult.Msg("not supported `" + method.ToUpperInvariant()
                                                       + "` method for " + Kind));
    }

    /// <summary>
    /// <c>_M:check_conf(id, conf, need_id, typ, allow_time)</c>. Returns the id
    /// to store under (or the checker's value for id-less resources).
    /// </summary>
    public (bool Ok, JsonNode? Id, JsonObject? Error) CheckConf(JsonNode? id, JsonNode? conf, bool present,
        bool needId, bool allowTime = false, string? typ = null)
    {
        if (IsSecrets) id = JsonValue.Create(typ + "/" + LuaText.ToLuaString(id));
        if (!present) return (false, null, CheckResult.Msg("missing configurations"));
        if (conf is not JsonObject obj)
        {
            if (conf is JsonArray) obj = new JsonObject(); // keys on an array are lost; the schema will object
            else throw new LuaRuntimeError("attempt to index local 'conf' (a " + ConfigMerge.LuaType(conf) + " value)");
        }

        if (!NoIdResource)
        {
            // id = id or conf.id (JSON null is a truthy cjson.null in Lua).
            JsonNode? idVal = id;
            bool idIsNil = id == null;
            if (idIsNil && obj.TryGetPropertyValue("id", out var confId))
            {
                idVal = confId;
                idIsNil = false;
            }
            bool idTruthy = !idIsNil && LuaText.IsTruthy(idVal);

            if (needId && !idTruthy) return (false, null, CheckResult.Msg("missing " + Kind + " id"));
            if (!needId && idTruthy) return (false, null, CheckResult.Msg("wrong " + Kind + " id, do not need it"));

            if (needId && LuaText.FieldIsTruthy(obj, "id")
                && LuaText.ToLuaString(obj["id"]) != LuaText.ToLuaString(idVal))
            {
                return (false, null, CheckResult.Msg("wrong " + Kind + " id"));
            }

            if (idIsNil) obj.Remove("id");
            else obj["id"] = idVal == null ? null : idVal.Parent == null ? idVal : idVal.DeepClone();
            id = idVal;
        }

        if (!allowTime)
        {
            string? err = CheckForbiddenProperties(obj, "create_time", "update_time");
            if (err != null) return (false, null, CheckResult.Msg(err));
        }

        var copy = (JsonObject)CJson.CloneNormalized(obj)!;
        var result = TypedChecker != null ? TypedChecker(id, copy, needId, typ) : Checker(id, copy, needId);

        EncryptConf?.Invoke(id, obj);

        if (!result.Ok) return (false, null, result.Error);
        if (NoIdResource) return (true, result.Value, null);
        return (true, needId ? id : JsonValue.Create(true), null);
    }

    private static string? CheckForbiddenProperties(JsonObject conf, params string[] names)
    {
        const string prefix = "the property is forbidden: ";
        foreach (var v in names)
        {
            if (LuaText.FieldIsTruthy(conf, v)) return prefix + " " + v;
        }
        if (conf["upstream"] is JsonObject up)
        {
            foreach (var v in names)
            {
                if (LuaText.FieldIsTruthy(up, v)) return prefix + " upstream." + v;
            }
        }
        if (conf["plugins"] is JsonObject plugins)
        {
            foreach (var v in names)
            {
                if (LuaText.FieldIsTruthy(plugins, v)) return prefix + " plugins." + v;
            }
        }
        return null;
    }

    private string KeyOf(JsonNode? id) => "/" + Name + "/" + LuaText.ToLuaString(id);

    public HandlerResult Get(string? id, string subPath = "")
    {
        if (Unsupported("get") is { } u) return u;

        string key = "/" + Name;
        string? typ = null;
        if (IsSecrets)
        {
            key += "/";
            (typ, id) = SplitTypAndId(id, subPath);
        }
        if (id != null)
        {
            if (IsSecrets) key += typ;
            key += "/" + id;
        }
        if (GetResourceEtcdKey != null) key = GetResourceEtcdKey(id, subPath);
        var res = Etcd.Get(key, id == null);

        if (Name == "ssls")
        {
            // private keys never leave through the admin API
            if (res.Body["node"]?["value"] is JsonObject one) { one.Remove("key"); one.Remove("keys"); }
            if (res.Body["list"] is JsonArray items)
                foreach (var item in items)
                    if (item?["value"] is JsonObject v) { v.Remove("key"); v.Remove("keys"); }
        }

        if (Name == "consumers" && res.Body["list"] is JsonArray list)
        {
            var kept = new JsonArray();
            foreach (var item in list.ToList())
            {
                list.Remove(item);
                if (item is JsonObject o && JsonScalars.TryGetString(o["key"], out string k) && IsCredentialKey(k))
                    continue;
                kept.Add(item);
            }
            res.Body["list"] = kept;
            res.Body["total"] = kept.Count;
        }

        FixCount(res.Body, id);

        return new HandlerResult(res.Status, res.Body);
    }

    /// <summary><c>utils.fix_count</c>: a listing does not count the init_dir placeholder.</summary>
    private static void FixCount(JsonObject body, string? id)
    {
        if (!LuaText.FieldIsTruthy(body, "count")) return;
        double n = LuaText.ToNumber(LuaText.ToLuaString(body["count"])) ?? 0;
        body["count"] = id == null ? (long)n - 1 : (long)n;
    }

    private bool IsCredentialKey(string key)
    {
        if (key.StartsWith(Etcd.Prefix, StringComparison.Ordinal)) key = key.Substring(Etcd.Prefix.Length);
        var segs = AdminUtils.Split(key);
        return segs.Count >= 4 && segs[1] == "consumers" && segs[3] == "credentials";
    }

    public HandlerResult Post(string? id, JsonNode? conf, bool present, long? ttl = null)
    {
        if (Unsupported("post") is { } u) return u;

        var (ok, _, err) = CheckConf(id == null ? null : JsonValue.Create(id), conf, present, needId: false);
        if (!ok) return new HandlerResult(400, err);

        var obj = AsObject(conf);
        AdminUtils.InjectTimestamp(obj, null, Etcd.Now);
        var res = Etcd.Push("/" + Name, obj, ttl);
        return new HandlerResult(res.Status, res.Body);
    }

    public HandlerResult Put(string? id, JsonNode? conf, bool present, long? ttl = null, string subPath = "")
    {
        if (Unsupported("put") is { } u) return u;

        string? typ = null;
        if (IsSecrets) (typ, id) = SplitTypAndId(id, subPath);

        var (ok, newId, err) = CheckConf(id == null ? null : JsonValue.Create(id), conf, present, needId: !NoIdResource, typ: typ);
        if (!ok) return new HandlerResult(400, err);

        var obj = AsObject(conf);
        string key = IsSecrets ? "/" + Name + "/" + typ + "/" + id : KeyOf(newId);
        if (GetResourceEtcdKey != null) key = GetResourceEtcdKey(LuaText.ToLuaString(newId), subPath);

        if (Name == "credentials")
        {
            string consumerKey = Credentials.ConsumerKey(key);
            var consumer = Etcd.Get(consumerKey);
            if (consumer.Status == 503) return new HandlerResult(503, consumer.Body);
            if (consumer.Status == 404) return new HandlerResult(404, CheckResult.Msg("consumer not found"));
            if (consumer.Status != 200) return new HandlerResult(consumer.Status, CheckResult.Msg("failed to get the consumer"));
        }

        if (Name != "plugin_metadata")
        {
            var prev = Etcd.Get(key);
            if (prev.Status is not (200 or 404))
                return new HandlerResult(503, new JsonObject { ["error_msg"] = prev.Body["error_msg"]?.DeepClone() });
            JsonObject? prevValue = prev.Status == 200 ? prev.Body["node"]?["value"] as JsonObject : null;
            AdminUtils.InjectTimestamp(obj, prevValue, Etcd.Now);
        }
        else
        {
            obj["id"] = newId?.DeepClone();
        }

        var res = Etcd.Set(key, obj, ttl);
        return new HandlerResult(res.Status, res.Body);
    }

    public HandlerResult Delete(string? id, IReadOnlyDictionary<string, string> args, string subPath = "")
    {
        if (Unsupported("delete") is { } u) return u;
        string? typ = null;
        if (IsSecrets) (typ, id) = SplitTypAndId(id, subPath);
        if (id == null) return new HandlerResult(400, CheckResult.Msg("missing " + Kind + " id"));

        string key = "/" + Name + (IsSecrets ? "/" + typ : "") + "/" + id;
        if (GetResourceEtcdKey != null) key = GetResourceEtcdKey(id, subPath);

        if (DeleteChecker != null && !(args.TryGetValue("force", out var force) && force == "true"))
        {
            var refused = DeleteChecker(id);
            if (refused is var (code, body)) return new HandlerResult(code, body);
        }

        if (Name == "consumers") Etcd.Rmdir(key + "/credentials/");

        var res = Etcd.Delete(key);
        return new HandlerResult(res.Status, res.Body);
    }

    public HandlerResult Patch(string? id, JsonNode? conf, bool present, string subPath, long? ttl = null)
    {
        if (Unsupported("patch") is { } u) return u;
        string? typ = null;
        if (IsSecrets)
        {
            var segs = AdminUtils.Split(subPath);
            if (segs.Count < 1) return new HandlerResult(400, CheckResult.Msg("no secret id"));
            typ = id;
            id = segs[0];
            subPath = AdminUtils.Concat(segs, "/", 2);
        }
        if (id == null) return new HandlerResult(400, CheckResult.Msg("missing " + Kind + " id"));

        string key = "/" + Name + (IsSecrets ? "/" + typ : "") + "/" + id;

        if (!present) return new HandlerResult(400, CheckResult.Msg("missing new configuration"));
        if (subPath == "" && conf is not (JsonObject or JsonArray))
            return new HandlerResult(400, CheckResult.Msg("invalid configuration"));

        var old = Etcd.Get(key);
        if (old.Status != 200) return new HandlerResult(old.Status, old.Body);

        var oldNode = (JsonObject)old.Body["node"]!;
        long modifiedIndex = oldNode["modifiedIndex"]!.GetValue<long>();
        if (oldNode["value"] is not JsonObject nodeValue)
            throw new LuaRuntimeError("attempt to index a non-table stored value");
        oldNode.Remove("value");

        // The stored encrypt_fields are ciphertext; open them before merging.
        DecryptStored?.Invoke(nodeValue);

        JsonNode? newValue;
        if (subPath != "")
        {
            var (root, code, perr) = AdminUtils.Patch(nodeValue, subPath, conf);
            if (code != null) return new HandlerResult(code.Value, CheckResult.Msg(perr!));
            newValue = root;
            if (newValue is JsonObject nv) AdminUtils.InjectTimestamp(nv, null, Etcd.Now, AdminUtils.SubPathPatch);
        }
        else
        {
            var patch = conf is JsonObject po ? po : new JsonObject();
            newValue = AdminUtils.Merge(nodeValue, patch);
            AdminUtils.InjectTimestamp((JsonObject)newValue, null, Etcd.Now, patch);
        }

        var (ok, _, err) = CheckConf(JsonValue.Create(id), newValue, true, needId: true, allowTime: true, typ: typ);
        if (!ok) return new HandlerResult(400, err);

        var res = Etcd.AtomicSet(key, newValue, modifiedIndex, ttl);
        if (res == null) return new HandlerResult(503, CheckResult.Msg("value changed before overwritten"));
        return new HandlerResult(res.Value.Status, res.Value.Body);
    }

    /// <summary>Decrypts the plugin confs of a stored value (set when data encryption is on).</summary>
    public Action<JsonObject>? DecryptStored { get; init; }

    private static JsonObject AsObject(JsonNode? conf) => conf as JsonObject ?? new JsonObject();
}
