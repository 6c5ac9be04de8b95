// Twin of apisix/consumer.lua
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Core.Plugins;

/// <summary>
/// One consumer as an auth plugin finds it (<c>construct_consumer_data</c>): the consumer's
/// stored value plus the fields APISIX adds. When it was found through a credential, the
/// credential's id is kept and the plugins are still the consumer's own.
/// </summary>
public sealed class ConsumerInfo
{
    /// <summary>The consumer's value as stored (username, plugins, labels, group_id, desc...).</summary>
    public required JsonObject Value { get; init; }

    /// <summary><c>consumer.consumer_name</c>: the consumer's id (its username).</summary>
    public required string ConsumerName { get; init; }

    public string? Username => JsonScalars.TryGetString(Value["username"], out var u) ? u : null;

    /// <summary><c>consumer.credential_id</c>, set when the match came from a credential.</summary>
    public string? CredentialId { get; init; }

    /// <summary><c>consumer.custom_id</c>: the <c>custom_id</c> label, if any.</summary>
    public string? CustomId => Value["labels"] is JsonObject l && JsonScalars.TryGetString(l["custom_id"], out var c) ? c : null;

    public string? GroupId => Value["group_id"] is { } g
        ? (JsonScalars.TryGetString(g, out var s) ? s : CtxVar.ToVarString(g))
        : null;

    /// <summary>The consumer's store key (<c>/apisix/consumers/NAME</c>), the parent of its plugin confs.</summary>
    public string Key { get; init; } = "";

    /// <summary>The consumer's (not the credential's) modifiedIndex.</summary>
    public long ModifiedIndex { get; init; }

    /// <summary><c>consumer.auth_conf</c>: the auth plugin's conf on the consumer or credential.</summary>
    public JsonObject AuthConf { get; init; } = new();

    /// <summary><c>consumer.plugins</c>.</summary>
    public JsonObject? Plugins => Value["plugins"] as JsonObject;
}

/// <summary><c>consumer_conf</c> as <c>find_consumer</c> returns it: the nodes of one auth plugin and the version.</summary>
public sealed class ConsumerConf
{
    public List<ConsumerInfo> Nodes { get; } = new();
    public required string ConfVersion { get; init; }
}

/// <summary>
/// <c>apisix/consumer.lua</c>: consumers (and their credentials) from the config store, grouped
/// by the auth plugin configured on them, looked up by a key attribute of that plugin's conf,
/// and attached to the request's ctx. Each store entry under <c>/apisix/consumers/</c> passes
/// the plugin checker first (defaults written, encrypted fields decrypted), as the config sync
/// does; one that fails is left out with the sync's error line.
/// </summary>
public sealed class Consumer
{
    private readonly ConfigStore _store;
    private readonly PluginRegistry _plugins;
    private readonly string _prefix;
    private long _confVersion;
    private Dictionary<string, ConsumerConf>? _byPlugin;
    private long _builtFor = -1;
    private readonly Dictionary<string, (string Version, Dictionary<string, ConsumerInfo> Map)> _kv = new(StringComparer.Ordinal);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ConfigStore, Consumer> ByStore = new();

    /// <summary>The consumer module of the store a request's route came from (one per gateway), or null.</summary>
    public static Consumer? For(ApiCtx ctx)
    {
        if (ctx.Store == null || !ByStore.TryGetValue(ctx.Store, out var c)) return null;
        c.Log = ctx.Log;
        return c;
    }

    /// <summary><c>consumer.init_worker()</c>: the module that serves this store's consumers from now on.</summary>
    public static Consumer InitWorker(ConfigStore store, PluginRegistry plugins, Action<LogLevel, string>? log = null)
    {
        var c = new Consumer(store, plugins) { Log = log };
        ByStore.AddOrUpdate(store, c);
        return c;
    }

    public Consumer(ConfigStore store, PluginRegistry plugins, string prefix = ConfigStore.DefaultPrefix)
    {
        _store = store;
        _plugins = plugins;
        _prefix = prefix + "/consumers/";
        _confVersion = 0;
        store.Changed += c =>
        {
            if (c.Entry.Key.StartsWith(_prefix, StringComparison.Ordinal)) Interlocked.Increment(ref _confVersion);
        };
    }

    /// <summary><c>consumers.conf_version</c>: changes whenever a consumer or credential does.</summary>
    public long ConfVersion => Interlocked.Read(ref _confVersion);

    /// <summary>Where check failures are logged (the config sync's error lines).</summary>
    public Action<LogLevel, string>? Log { get; set; }

    /// <summary>
    /// <c>is_credential_etcd_key</c>: /apisix/consumers/NAME/credentials/ID.
    /// </summary>
    public bool IsCredentialKey(string key, out string consumerName, out string credentialId)
    {
        consumerName = credentialId = "";
        if (!key.StartsWith(_prefix, StringComparison.Ordinal)) return false;
        var segs = key[_prefix.Length..].Split('/');
        if (segs.Length < 3 || segs[1] != "credentials") return false;
        consumerName = segs[0];
        credentialId = segs[2];
        return true;
    }

    /// <summary>The store's consumers and credentials that pass the checks, by key.</summary>
    private List<StoreEntry> CheckedEntries()
    {
        var list = new List<StoreEntry>();
        foreach (var e in _store.List(_prefix))
        {
            if (e.Value is not JsonObject value) continue;
            var (ok, err) = CheckConsumer(value);
            if (!ok)
            {
                Log?.Invoke(LogLevel.Error, "failed to check item data of [" + _prefix.TrimEnd('/')
                    + "] err:" + err + " ,val: " + CJson.Encode(value));
                continue;
            }
            list.Add(e);
        }
        return list;
    }

    /// <summary><c>check_consumer</c>: the plugin checker over the consumer's plugins (consumer schemas).</summary>
    private (bool Ok, string? Error) CheckConsumer(JsonObject value) =>
        _plugins.PluginChecker(value, SchemaType.Consumer);

    /// <summary><c>plugin_consumer</c>: for each auth plugin, the consumers (or credentials) that configure it.</summary>
    private Dictionary<string, ConsumerConf> PluginConsumer()
    {
        var version = ConfVersion;
        if (_byPlugin != null && _builtFor == version) return _byPlugin;
        var result = new Dictionary<string, ConsumerConf>(StringComparer.Ordinal);
        var confVersion = version.ToString(CultureInfo.InvariantCulture);
        var entries = CheckedEntries();
        var consumersByName = new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
        foreach (var e in entries)
            if (!IsCredentialKey(e.Key, out _, out _)) consumersByName[e.Key[_prefix.Length..]] = e;

        foreach (var e in entries)
        {
            var value = (JsonObject)e.Value!;
            if (value["plugins"] is not JsonObject plugins) continue;
            foreach (var (name, conf) in plugins)
            {
                var plugin = _plugins.Get(name);
                if (plugin is not { Type: "auth" } || conf is not JsonObject authConf) continue;
                ConsumerInfo consumer;
                if (IsCredentialKey(e.Key, out var consumerName, out var credentialId))
                {
                    if (!consumersByName.TryGetValue(consumerName, out var owner))
                    {
                        Log?.Invoke(LogLevel.Error, "failed to construct consumer data for plugin " + name
                            + ": failed to get the consumer for the credential, a wild credential has appeared!"
                            + " credential key: " + e.Key + ", consumer name: " + consumerName);
                        continue;
                    }
                    consumer = new ConsumerInfo
                    {
                        Value = (JsonObject)owner.Value!.DeepClone(),
                        ConsumerName = IdOf(owner),
                        CredentialId = credentialId,
                        Key = owner.Key,
                        ModifiedIndex = owner.ModifiedIndex,
                        AuthConf = authConf,
                    };
                }
                else
                {
                    consumer = new ConsumerInfo
                    {
                        Value = (JsonObject)value.DeepClone(),
                        ConsumerName = IdOf(e),
                        Key = e.Key,
                        ModifiedIndex = e.ModifiedIndex,
                        AuthConf = authConf,
                    };
                }
                if (!result.TryGetValue(name, out var pc))
                    result[name] = pc = new ConsumerConf { ConfVersion = confVersion };
                pc.Nodes.Add(consumer);
            }
        }
        _byPlugin = result;
        _builtFor = version;
        _kv.Clear();
        return result;
    }

    private string IdOf(StoreEntry e) =>
        e.Value is JsonObject v && JsonScalars.TryGetString(v["id"], out var id) ? id
        : e.Value is JsonObject v2 && JsonScalars.TryGetString(v2["username"], out var u) ? u
        : e.Key[_prefix.Length..];

    /// <summary><c>consumer.plugin(name)</c>: the consumers of one auth plugin, or null when none configures it.</summary>
    public ConsumerConf? Plugin(string pluginName) => PluginConsumer().GetValueOrDefault(pluginName);

    /// <summary><c>consumers_kv</c>: the consumers of one plugin keyed by an attribute of their auth conf.</summary>
    public Dictionary<string, ConsumerInfo> ConsumersKv(string pluginName, ConsumerConf consumerConf, string keyAttr)
    {
        var cacheKey = pluginName + "#" + keyAttr;
        if (_kv.TryGetValue(cacheKey, out var hit) && hit.Version == consumerConf.ConfVersion) return hit.Map;
        var map = new Dictionary<string, ConsumerInfo>(StringComparer.Ordinal);
        foreach (var c in consumerConf.Nodes)
        {
            var v = c.AuthConf[keyAttr];
            var k = JsonScalars.TryGetString(v, out var s) ? s : CtxVar.ToVarString(v);
            if (k != null) map[k] = c;
        }
        _kv[cacheKey] = (consumerConf.ConfVersion, map);
        return map;
    }

    /// <summary><c>consumer.find_consumer(plugin_name, key, key_value)</c>.</summary>
    public (ConsumerInfo? Consumer, ConsumerConf? Conf, string? Error) FindConsumer(string pluginName, string keyAttr, string keyValue)
    {
        var conf = Plugin(pluginName);
        if (conf == null) return (null, null, "Missing related consumer");
        var consumers = ConsumersKv(pluginName, conf, keyAttr);
        return (consumers.GetValueOrDefault(keyValue), conf, null);
    }

    /// <summary>
    /// <c>consumer.attach_consumer(ctx, consumer, conf)</c>: the consumer on the ctx, and the
    /// X-Consumer-Username / X-Credential-Identifier / X-Consumer-Custom-ID request headers
    /// (each removed when the consumer has no such value).
    /// </summary>
    public static void AttachConsumer(ApiCtx ctx, ConsumerInfo consumer, string confVersion)
    {
        ctx.Items["consumer"] = consumer;
        ctx.ConsumerName = consumer.ConsumerName;
        ctx.Items["consumer_group_id"] = consumer.GroupId;
        ctx.Var["consumer_group_id"] = consumer.GroupId;
        ctx.Items["consumer_ver"] = confVersion;
        PluginRequest.SetHeader(ctx, "X-Consumer-Username", consumer.Username);
        PluginRequest.SetHeader(ctx, "X-Credential-Identifier", consumer.CredentialId);
        PluginRequest.SetHeader(ctx, "X-Consumer-Custom-ID", consumer.CustomId);
    }

    /// <summary><c>ctx.consumer</c>, once an auth plugin attached one.</summary>
    public static ConsumerInfo? Of(ApiCtx ctx) => ctx.Items.GetValueOrDefault("consumer") as ConsumerInfo;

    /// <summary><c>consumer.get_anonymous_consumer(name)</c>: the named consumer, as is, for auth plugins' fallback.</summary>
    public (ConsumerInfo? Consumer, string? ConfVersion, string? Error) GetAnonymousConsumer(string name)
    {
        var e = _store.Get(_prefix + name);
        if (e?.Value is not JsonObject value || value["username"] == null && value["id"] == null)
            return (null, null, "failed to get anonymous consumer " + name);
        var consumer = new ConsumerInfo
        {
            Value = value,
            ConsumerName = IdOf(e),
            Key = e.Key,
            ModifiedIndex = e.ModifiedIndex,
        };
        return (consumer, e.ModifiedIndex.ToString(CultureInfo.InvariantCulture), null);
    }
}
