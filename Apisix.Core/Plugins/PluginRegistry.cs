using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Plugins;

/// <summary>
/// The plugin table of <c>apisix/plugin.lua</c>: which plugin modules exist
/// (<see cref="Register"/>, like the files under <c>apisix/plugins/</c>),
/// which of them the configuration enables (<see cref="Load"/>), and the
/// schema checks of plugin confs that the admin API and the config sync use.
///
/// Only enabled plugins are usable: <see cref="Get"/> and the checks know
/// nothing of a registered plugin that the <c>plugins</c> list leaves out.
/// </summary>
public sealed class PluginRegistry
{
    private readonly Dictionary<string, IPlugin> _available = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IPlugin> _enabledByName = new(StringComparer.Ordinal);
    private List<IPlugin> _enabled = new();

    /// <param name="log">Log sink: (nginx level name such as "error"/"warn"/"info", message).</param>
    public PluginRegistry(Action<string, string>? log = null)
    {
        Log = log;
    }

    /// <summary>Where the registry writes its log lines: (level, message).</summary>
    public Action<string, string>? Log { get; set; }

    /// <summary>
    /// Names that may appear in the <c>plugins</c> list without a registered
    /// implementation and are skipped quietly (at info level) instead of
    /// logging APISIX's load error: plugins that exist in APISIX but are not
    /// ported. Starts with every name of the default http and stream lists,
    /// since real APISIX never fails to load those; any other unregistered
    /// name is logged as the error APISIX gives for a missing module.
    /// </summary>
    public ISet<string> SilentlyMissing { get; } =
        new HashSet<string>(Config.DefaultConfig.Plugins.Concat(Config.DefaultConfig.StreamPlugins), StringComparer.Ordinal);

    /// <summary>Data encryption of <c>encrypt_fields</c>; null or disabled means none.</summary>
    public DataEncryption? Encryption { get; set; }

    /// <summary>
    /// <c>plugin.enable_data_encryption</c>: unknown (null) until the first encrypt or decrypt
    /// asks <see cref="EnableGde"/>, then whether data encryption is on.
    /// </summary>
    public bool? EnableDataEncryption { get; private set; }

    /// <summary><c>plugin.enable_gde()</c>: whether plugin fields are encrypted; decided once, on first use.</summary>
    public bool EnableGde()
    {
        EnableDataEncryption ??= Encryption is { Enabled: true };
        return EnableDataEncryption.Value;
    }

    /// <summary>
    /// Validates <c>_meta.filter</c> (APISIX: <c>resty.expr</c>'s <c>expr.new</c>);
    /// returns the error text or null. Not set: any array is accepted.
    /// </summary>
    public Func<JsonNode, string?>? MetaFilterValidator { get; set; }

    /// <summary>
    /// Compiles <c>_meta.pre_function</c> (APISIX: Lua <c>load</c>); returns the
    /// error text or null. Not set: any string is accepted.
    /// </summary>
    public Func<string, string?>? MetaPreFunctionValidator { get; set; }

    /// <summary>How many times <see cref="Load"/> ran (<c>plugin.load_times</c>).</summary>
    public int LoadTimes { get; private set; }

    /// <summary>Makes a plugin module available under its name (replacing one of the same name).</summary>
    public void Register(IPlugin plugin)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        _available[plugin.Name] = plugin;
    }

    /// <summary>The registered module of that name, enabled or not (<c>require "apisix.plugins.NAME"</c>).</summary>
    public IPlugin? GetAvailable(string name) => _available.GetValueOrDefault(name);

    /// <summary>Names of all registered modules.</summary>
    public IReadOnlyCollection<string> AvailableNames => _available.Keys;

    /// <summary>The enabled plugins, highest priority first.</summary>
    public IReadOnlyList<IPlugin> Enabled => _enabled;

    /// <summary>The enabled plugin of that name, or null (<c>local_plugins_hash[name]</c>).</summary>
    public IPlugin? Get(string name) => _enabledByName.GetValueOrDefault(name);

    /// <summary>
    /// <c>plugin.get_all(attrs)</c> as the admin API asks for it: for each loaded http plugin its
    /// <c>version</c>, <c>priority</c>, <c>schema</c>, <c>metadata_schema</c>,
    /// <c>consumer_schema</c>, <c>type</c> and <c>scope</c>, where the module has them; and the
    /// same for the stream plugins (none are ported, so that object is empty).
    /// </summary>
    public (JsonObject Http, JsonObject Stream) GetAll()
    {
        var http = new JsonObject();
        foreach (var p in _enabled)
        {
            var o = new JsonObject
            {
                ["version"] = p.Version,
                ["priority"] = p.Priority,
                ["schema"] = p.Schema.DeepClone(),
            };
            if (p.MetadataSchema != null) o["metadata_schema"] = p.MetadataSchema.DeepClone();
            if (p.ConsumerSchema != null) o["consumer_schema"] = p.ConsumerSchema.DeepClone();
            if (p.Type != null) o["type"] = p.Type;
            if (p.Scope != null) o["scope"] = p.Scope;
            http[p.Name] = o;
        }
        return (http, new JsonObject());
    }

    /// <summary>
    /// <c>plugin.load()</c>: enables exactly the named plugins (duplicates
    /// count once), injects <c>_meta</c> into their schemas and sorts them by
    /// priority, descending (ties keep list order). Names with no registered
    /// module, or whose module is invalid, are logged and left out.
    /// </summary>
    public bool Load(IEnumerable<string> enabledNames)
    {
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in enabledNames)
        {
            if (seen.Add(n)) names.Add(n);
        }

        var processed = new JsonObject();
        foreach (var n in names) processed[n] = true;
        Log?.Invoke("warn", "new plugins: " + CJson.Encode(processed));

        var loaded = new List<IPlugin>();
        foreach (var name in names)
        {
            if (!_available.TryGetValue(name, out var plugin))
            {
                if (SilentlyMissing.Contains(name))
                    Log?.Invoke("info", "plugin [" + name + "] has no implementation here, skipped");
                else
                    Log?.Invoke("error", "failed to load plugin [" + name + "] err: module 'apisix.plugins."
                                         + name + "' not found");
                continue;
            }

            string? err = PluginSchemas.InjectMeta(plugin.Schema);
            if (err != null)
            {
                Log?.Invoke("error", "invalid plugin [" + name + "]" + (err == "schema field" ? " " : ": ") + err);
                continue;
            }
            loaded.Add(plugin);
        }

        // List.Sort is not stable; keep the list order for equal priorities.
        _enabled = loaded
            .Select((p, i) => (p, i))
            .OrderByDescending(t => t.p.Priority)
            .ThenBy(t => t.i)
            .Select(t => t.p)
            .ToList();

        _enabledByName.Clear();
        foreach (var p in _enabled) _enabledByName[p.Name] = p;

        LoadTimes++;
        Log?.Invoke("info", "load plugin times: " + LoadTimes);
        return true;
    }

    /// <summary>
    /// <c>plugin.check_schema(plugins_conf, schema_type, skip_disabled_plugin)</c>:
    /// checks each entry of a <c>plugins</c> object; stops at the first failure.
    /// Defaults are written into the confs.
    /// </summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject pluginsConf, SchemaType type = SchemaType.Plugin,
        bool skipDisabledPlugin = false)
    {
        foreach (var (name, conf) in pluginsConf.ToList())
        {
            var (ok, err) = CheckSinglePluginSchema(name, conf, type, skipDisabledPlugin);
            if (!ok) return (false, err);
        }
        return (true, null);
    }

    /// <summary>
    /// <c>check_single_plugin_schema</c>: the conf must be a table, the plugin
    /// enabled (else "unknown plugin [name]" unless skipped/ignored), and the
    /// plugin's own check must pass; then the <c>_meta</c> filter and
    /// pre_function are compiled.
    /// </summary>
    public (bool Ok, string? Error) CheckSinglePluginSchema(string name, JsonNode? conf, SchemaType type,
        bool skipDisabledPlugin, bool ignoreDisabledPlugin = false)
    {
        if (conf is not (JsonObject or JsonArray))
        {
            return (false, "invalid plugin conf " + CJson.Encode(conf) + " for plugin [" + name + "]");
        }

        var plugin = Get(name);
        if (plugin == null)
        {
            if (ignoreDisabledPlugin) return (true, null);
            if (skipDisabledPlugin)
            {
                Log?.Invoke("warn", "skipping check schema for disabled or unknown plugin [" + name
                                    + "]. Enable the plugin or modify configuration");
                return (true, null);
            }
            return (false, "unknown plugin [" + name + "]");
        }

        (bool ok, string? error) = conf is JsonObject obj
            ? plugin.CheckSchema(obj, type)
            // An empty Lua table decoded from "[]": every plugin starts its
            // check with core.schema.check, which reports the type mismatch.
            : PluginSchemas.DefaultCheck(plugin, conf, type);
        if (!ok)
        {
            return (false, "failed to check the configuration of plugin " + name + " err: " + error);
        }

        if (conf is JsonObject c && c["_meta"] is JsonObject meta)
        {
            if (meta.TryGetPropertyValue("filter", out var filter) && IsTruthy(filter) && MetaFilterValidator != null)
            {
                var ferr = MetaFilterValidator(filter!);
                if (ferr != null) return (false, "failed to validate the 'vars' expression: " + ferr);
            }

            if (meta.TryGetPropertyValue("pre_function", out var pre) && IsTruthy(pre)
                && MetaPreFunctionValidator != null && JsonScalars.TryGetString(pre, out string code))
            {
                var perr = MetaPreFunctionValidator(code);
                if (perr != null)
                    return (false, "failed to load _meta.pre_function in plugin " + name + ": " + perr);
            }
        }

        return (true, null);
    }

    /// <summary>
    /// <c>plugin.plugin_checker(item, schema_type)</c> as the etcd config sync
    /// runs it: decrypts the item's plugin confs, then checks them, skipping
    /// plugins that are not enabled.
    /// </summary>
    public (bool Ok, string? Error) PluginChecker(JsonObject item, SchemaType type = SchemaType.Plugin)
    {
        if (item["plugins"] is not JsonObject plugins) return (true, null);
        foreach (var (name, conf) in plugins.ToList())
        {
            if (conf != null) DecryptConf(name, conf, type);
        }
        return CheckSchema(plugins, type, skipDisabledPlugin: true);
    }

    /// <summary><c>plugin.encrypt_conf(name, conf, schema_type)</c>: encrypts the schema's <c>encrypt_fields</c> in place.</summary>
    public void EncryptConf(string name, JsonNode conf, SchemaType type = SchemaType.Plugin)
    {
        var enc = Encryption;
        if (!EnableGde() || enc == null) return;
        var fields = EncryptFields(name, type);
        if (fields == null) return;
        foreach (var path in fields)
        {
            DataEncryption.ProcessField(conf, path, s => (enc.Encrypt(s), null),
                (where, err) => Log?.Invoke("warn", "failed to encrypt the conf of plugin [" + name + "] key ["
                                                    + where + "], err: " + err));
        }
    }

    /// <summary><c>plugin.decrypt_conf(name, conf, schema_type)</c>: decrypts the schema's <c>encrypt_fields</c> in place.</summary>
    public void DecryptConf(string name, JsonNode conf, SchemaType type = SchemaType.Plugin)
    {
        var enc = Encryption;
        if (!EnableGde() || enc == null) return;
        var fields = EncryptFields(name, type);
        if (fields == null) return;
        foreach (var path in fields)
        {
            DataEncryption.ProcessField(conf, path, enc.Decrypt,
                (where, err) => Log?.Invoke("info", "failed to decrypt the conf of plugin [" + name + "] key ["
                                                    + where + "], err: " + err + DecryptHint));
        }
    }

    private const string DecryptHint = ". This can happen after upgrading if the field was recently "
        + "added to encrypt_fields; if the value was encrypted, verify the data_encryption "
        + "keyring. Re-save the configuration via the Admin API to resolve.";

    private List<string>? EncryptFields(string name, SchemaType type)
    {
        var plugin = Get(name);
        if (plugin == null)
        {
            Log?.Invoke("warn", "failed to get schema for plugin: " + name);
            return null;
        }

        JsonNode? schema = type switch
        {
            SchemaType.Consumer => plugin.ConsumerSchema ?? plugin.Schema,
            SchemaType.Metadata => plugin.MetadataSchema,
            _ => plugin.Schema,
        };
        if (schema == null)
        {
            Log?.Invoke("warn", "failed to get schema for plugin: " + name);
            return null;
        }
        if (schema["encrypt_fields"] is not JsonArray arr || arr.Count == 0) return null;

        var list = new List<string>();
        foreach (var item in arr)
        {
            if (JsonScalars.TryGetString(item, out string s)) list.Add(s);
        }
        return list;
    }

    /// <summary>Lua truthiness of a present value: all but false (JSON null is cjson.null, which is truthy).</summary>
    private static bool IsTruthy(JsonNode? v) => !(JsonScalars.TryGetBoolean(v, out bool b) && !b);
}
