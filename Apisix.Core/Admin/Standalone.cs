// Twin of apisix/admin/standalone.lua
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Core.Admin;

/// <summary>
/// What the standalone admin API needs from the running nginx: the <c>standalone-config</c>
/// shared dict where the whole configuration is kept as JSON, and the broadcast that makes
/// every worker take a new configuration (<c>config_yaml._update_config</c>).
/// </summary>
public interface IStandaloneHost
{
    /// <summary><c>ngx.shared["standalone-config"]</c>, or null when nginx has no such dict.</summary>
    SharedDict? ConfigDict { get; }

    /// <summary>The update event every worker receives: it now serves <paramref name="config"/> (metadata keys removed).</summary>
    void Broadcast(JsonObject config);
}

/// <summary>
/// <c>/apisix/admin/configs</c> when the config provider is yaml and the admin API is on: the
/// whole configuration is replaced at once (PUT, with an <c>X-Digest</c> header; each resource
/// list keeps its <c>*_conf_version</c>, which may not go down), read back (GET) or only its
/// metadata headers (HEAD). The configuration lives in the <c>standalone-config</c> shared dict.
/// </summary>
internal sealed class Standalone(Resources resources)
{
    private const string NotFoundErr = "not found";
    private const string MetadataLastModified = "X-Last-Modified";
    private const string MetadataDigest = "X-Digest";
    private const string ConfVersionKeySuffix = "_conf_version";

    /// <summary><c>ALL_RESOURCE_KEYS</c>: each resource key with its conf_version key.</summary>
    private static IEnumerable<(string Key, string VersionKey)> AllResourceKeys =>
        Etcd.EtcdDirectories.Select(d => (d[1..], d[1..] + ConfVersionKeySuffix));

    /// <summary>The answer of one call: status, body (a table is JSON-encoded) and headers to set.</summary>
    public readonly record struct Result(int Status, JsonNode? Json = null, string? Text = null,
        IReadOnlyList<(string Name, string? Value)>? Headers = null);

    private static (JsonObject? Config, string? Err) GetConfig(IStandaloneHost host)
    {
        var dict = host.ConfigDict;
        var raw = dict?.Get("config").Value;
        if (raw is not string text) return (null, NotFoundErr);
        var (config, err) = CJson.Decode(text);
        if (config is not JsonObject obj) return (null, "failed to decode json: " + (err ?? "not an object"));
        return (obj, null);
    }

    private static (bool Ok, string? Err) UpdateAndBroadcastConfig(IStandaloneHost host, JsonObject apisixYaml,
        Action<string, string> log)
    {
        string raw = CJson.Encode(apisixYaml);
        var dict = host.ConfigDict;
        if (dict != null)
        {
            var (ok, err) = dict.Store("set", "config", raw, 0, 0);
            if (!ok) return (false, "failed to save config to shared dict: " + err);
            log("info", "standalone config updated: " + raw);
        }
        else
        {
            log("crit", "failed to read config from shared dict: shared dict not found");
        }

        var copy = (JsonObject)apisixYaml.DeepClone();
        copy.Remove(MetadataLastModified);
        copy.Remove(MetadataDigest);
        host.Broadcast(copy);
        return (true, null);
    }

    /// <summary><c>update</c>: PUT /apisix/admin/configs.</summary>
    public Result Update(IStandaloneHost host, IReadOnlyDictionary<string, string> headers, string? body,
        Action<string, string> log)
    {
        if (!headers.TryGetValue("x-digest", out var digest))
            return new Result(400, new JsonObject { ["error_msg"] = "missing digest header" });

        string contentType = headers.TryGetValue("content-type", out var ct) ? ct : "application/json";
        if (string.IsNullOrEmpty(body))
            return new Result(400, new JsonObject { ["error_msg"] = "invalid request body: empty request body" });

        JsonNode? data;
        string? err = null;
        if (contentType.StartsWith("application/yaml", StringComparison.Ordinal))
        {
            try { data = YamlLoader.Load(body); }
            catch (Exception) { data = null; }
            if (data is not (JsonObject or JsonArray)) err = "invalid yaml request body";
        }
        else
        {
            (data, err) = CJson.Decode(body);
        }
        if (err != null)
        {
            log("error", "invalid request body: " + body + " err: " + err);
            return new Result(400, new JsonObject { ["error_msg"] = "invalid request body: " + err });
        }
        if (data is not JsonObject req)
        {
            // the Lua code indexes the decoded value as a table
            throw new LuaRuntimeError("attempt to index local 'req_body' (a " + ConfigMerge.LuaType(data) + " value)");
        }

        var (config, cerr) = GetConfig(host);
        if (cerr != null && cerr != NotFoundErr)
        {
            log("error", "failed to get config from shared dict: " + cerr);
            return new Result(500, new JsonObject { ["error_msg"] = "failed to get config from shared dict: " + cerr });
        }

        // the same digest again: accepted, nothing changes
        if (config != null && JsonScalars.TryGetString(config[MetadataDigest], out var had) && had == digest)
        {
            log("info", "config not changed: same digest");
            return new Result(204, Text: "");
        }

        var (valid, errorMsg) = new ConfigValidate(resources).ValidateFirst(req);
        if (!valid) return new Result(400, new JsonObject { ["error_msg"] = errorMsg });

        var apisixYaml = new JsonObject();
        foreach (var (key, versionKey) in AllResourceKeys)
        {
            double confVersion = config != null && JsonScalars.TryGetNumber(config[versionKey], out var cv) ? cv : 0;
            var items = req[key];
            double newConfVersion;
            if (req[versionKey] is JsonValue nv && JsonScalars.TryGetNumber(nv, out var n))
            {
                newConfVersion = n;
                if (newConfVersion < confVersion)
                {
                    return new Result(400, new JsonObject
                    {
                        ["error_msg"] = versionKey + " must be greater than or equal to ("
                                        + LuaNumber.ToLuaString(confVersion) + ")",
                    });
                }
            }
            else
            {
                newConfVersion = confVersion + 1;
            }

            apisixYaml[versionKey] = newConfVersion;
            if (newConfVersion == confVersion)
            {
                if (config?[key] is { } kept) apisixYaml[key] = kept.DeepClone();
            }
            else if (items is JsonArray arr && arr.Count > 0)
            {
                apisixYaml[key] = arr.DeepClone();
            }
        }

        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        apisixYaml[MetadataLastModified] = now;
        apisixYaml[MetadataDigest] = digest;

        var (ok, uerr) = UpdateAndBroadcastConfig(host, apisixYaml, log);
        if (!ok) return new Result(500, Text: uerr);

        return new Result(202, Text: "", Headers:
        [
            (MetadataLastModified, now.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (MetadataDigest, digest),
        ]);
    }

    /// <summary><c>get</c>: GET /apisix/admin/configs (JSON; all conf versions 0 before the first PUT).</summary>
    public Result Get(IStandaloneHost host, IReadOnlyDictionary<string, string> headers, Action<string, string> log)
    {
        string accept = headers.TryGetValue("accept", out var a) ? a : "application/json";
        var (config, err) = GetConfig(host);
        if (config == null)
        {
            if (err != NotFoundErr)
            {
                log("error", "failed to get config from shared_dict: " + err);
                return new Result(500, new JsonObject { ["error_msg"] = "failed to get config from shared_dict: " + err });
            }
            config = new JsonObject();
            foreach (var (_, versionKey) in AllResourceKeys) config[versionKey] = 0;
        }

        if (accept.StartsWith("application/yaml", StringComparison.Ordinal))
        {
            // APISIX answers with lyaml's dump here; there is no YAML writer in the port
            return new Result(500, new JsonObject { ["error_msg"] = "failed to encode yaml" });
        }

        return new Result(200, Text: CJson.Encode(config), Headers: MetadataHeaders(config, "application/json"));
    }

    /// <summary><c>head</c>: HEAD /apisix/admin/configs, the metadata headers only.</summary>
    public Result Head(IStandaloneHost host, Action<string, string> log)
    {
        var (config, err) = GetConfig(host);
        if (config == null && err != NotFoundErr)
        {
            log("error", "failed to get config from shared_dict: " + err);
            return new Result(500, new JsonObject { ["error_msg"] = "failed to get config from shared_dict: " + err });
        }
        return new Result(200, Text: "", Headers: MetadataHeaders(config, null));
    }

    private static List<(string, string?)> MetadataHeaders(JsonObject? config, string? contentType)
    {
        var list = new List<(string, string?)>();
        if (contentType != null) list.Add(("Content-Type", contentType));
        list.Add((MetadataLastModified, config?[MetadataLastModified] is { } lm ? LuaText.ToLuaString(lm) : null));
        list.Add((MetadataDigest, config?[MetadataDigest] is { } d ? LuaText.ToLuaString(d) : null));
        return list;
    }
}
