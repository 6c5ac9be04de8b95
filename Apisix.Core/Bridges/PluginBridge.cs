using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Plugins;
using NLua;

namespace Apisix.Core.Bridges;

/// <summary>
/// The C# half of the Lua module <c>apisix.plugin</c> (Bridges/Lua/apisix/plugin.lua) over the
/// file's <see cref="PluginRegistry"/>: the loaded plugins, their checks, data encryption of
/// their fields and <c>plugin_attr</c>. Tables from Lua are read as JSON and what the C# side
/// changed in them (defaults, encrypted values) is written back into the caller's own table.
/// Errors go back to Lua as values, never as exceptions.
/// </summary>
public sealed class PluginBridge(LuaWorker worker, PluginRegistry registry, ApisixConfig config)
{
    public const string Name = "apisix.plugin";

    private Lua Lua => worker.Lua;

    private void Log(string level, string message) =>
        worker.Nginx.Log(worker, ErrorLog.Parse(level), message, worker.CurrentRequest);

    /// <summary>Runs <paramref name="work"/> with the registry's log lines going to this worker's error log.</summary>
    private T Logged<T>(Func<T> work)
    {
        var saved = registry.Log;
        registry.Log = Log;
        try { return work(); }
        finally { registry.Log = saved; }
    }

    /// <summary><c>plugin.load_times</c>.</summary>
    public long LoadTimes() => registry.LoadTimes;

    /// <summary><c>plugin.enable_data_encryption</c>: nil until decided, then true or false.</summary>
    public object? EnableDataEncryption() => registry.EnableDataEncryption;

    /// <summary><c>plugin.enable_gde()</c>.</summary>
    public bool EnableGde() => registry.EnableGde();

    /// <summary><c>plugin.load()</c>: enables the plugins of the <c>plugins</c> list again; returns their names, highest priority first.</summary>
    public object? Load()
    {
        Logged(() => registry.Load(config.Plugins));
        return LuaJson.FromJson(Lua, new JsonArray(registry.Enabled.Select(p => (JsonNode?)p.Name).ToArray()));
    }

    /// <summary>
    /// The fields of the loaded plugin <paramref name="name"/> (<c>plugin.get</c>) as a table:
    /// name, priority, version, type, scope and its schemas; nil when it is not loaded.
    /// </summary>
    public object? Get(string name)
    {
        var p = registry.Get(name);
        if (p == null) return null;
        var o = new JsonObject
        {
            ["name"] = p.Name,
            ["priority"] = p.Priority,
            ["version"] = p.Version,
            ["schema"] = p.Schema.DeepClone(),
        };
        if (p.Type != null) o["type"] = p.Type;
        if (p.Scope != null) o["scope"] = p.Scope;
        if (p.ConsumerSchema != null) o["consumer_schema"] = p.ConsumerSchema.DeepClone();
        if (p.MetadataSchema != null) o["metadata_schema"] = p.MetadataSchema.DeepClone();
        return LuaJson.FromJson(Lua, o, arrayMt: false);
    }

    /// <summary>The <c>check_schema(conf, schema_type)</c> of the loaded plugin <paramref name="name"/> itself.</summary>
    public bool CheckPlugin(string name, object? conf, long schemaType, out string? error)
    {
        var p = registry.Get(name);
        if (p == null)
        {
            error = "unknown plugin [" + name + "]";
            return false;
        }
        return new PluginSchemaBridge(worker, p).CheckAs(conf, schemaType, out error);
    }

    /// <summary><c>plugin.get_all(attrs)</c>: the http plugins' picked fields, then the stream ones.</summary>
    public object? GetAll(object? attrs, out object? stream)
    {
        var (http, str) = registry.GetAll();
        var keep = LuaJson.ToJson(Lua, attrs) as JsonObject;
        if (keep != null)
        {
            foreach (var all in new[] { http, str })
            foreach (var (_, v) in all)
            {
                if (v is not JsonObject o) continue;
                foreach (var k in o.Select(kv => kv.Key).ToList())
                    if (keep[k] is not JsonValue t || !t.TryGetValue(out bool on) || !on) o.Remove(k);
            }
        }
        stream = LuaJson.FromJson(Lua, str, arrayMt: false);
        return LuaJson.FromJson(Lua, http, arrayMt: false);
    }

    /// <summary><c>plugin.plugin_attr(name)</c>: the plugin's <c>plugin_attr</c> entry of the local config, or nil.</summary>
    public object? PluginAttr(string name) =>
        config.Get("plugin_attr", name) is { } attr ? LuaJson.FromJson(Lua, attr.DeepClone()) : null;

    /// <summary><c>plugin.conf_version(conf)</c>.</summary>
    public string? ConfVersion(object? conf) =>
        LuaJson.ToJson(Lua, conf) is JsonObject o ? PluginMeta.ConfVersion(o) : null;

    /// <summary><c>plugin.check_schema(plugins_conf, schema_type, skip_disabled_plugin)</c>.</summary>
    public bool CheckSchema(object? pluginsConf, long schemaType, bool skipDisabled, out string? error)
    {
        var (conf, err) = LuaJson.TryToJson(Lua, pluginsConf);
        if (conf is not JsonObject obj)
        {
            error = err ?? "bad argument #1 to 'pairs' (table expected)";
            return false;
        }
        var (ok, msg) = Logged(() => registry.CheckSchema(obj, (SchemaType)schemaType, skipDisabled));
        if (pluginsConf is LuaTable t) LuaJson.SyncInto(Lua, t, obj);
        error = msg;
        return ok;
    }

    /// <summary><c>plugin.plugin_checker(item, schema_type)</c>.</summary>
    public bool PluginChecker(object? item, long schemaType, out string? error)
    {
        var (conf, err) = LuaJson.TryToJson(Lua, item);
        if (conf is not JsonObject obj)
        {
            error = err ?? "attempt to index a " + (item == null ? "nil" : "non-table") + " value";
            return false;
        }
        var (ok, msg) = Logged(() => registry.PluginChecker(obj, (SchemaType)schemaType));
        if (item is LuaTable t) LuaJson.SyncInto(Lua, t, obj);
        error = msg;
        return ok;
    }

    /// <summary><c>plugin.encrypt_conf(name, conf, schema_type)</c> (or decrypt): in the caller's table.</summary>
    public void CryptConf(string name, object? conf, long schemaType, bool encrypt)
    {
        if (conf is not LuaTable t || LuaJson.ToJson(Lua, conf) is not JsonNode node) return;
        Logged(() =>
        {
            if (encrypt) registry.EncryptConf(name, node, (SchemaType)schemaType);
            else registry.DecryptConf(name, node, (SchemaType)schemaType);
            return 0;
        });
        LuaJson.SyncInto(Lua, t, node);
    }

    private const string DecryptHint = ". This can happen after upgrading if the field was recently "
        + "added to encrypt_fields; if the value was encrypted, verify the data_encryption "
        + "keyring. Re-save the configuration via the Admin API to resolve.";

    /// <summary>
    /// <c>plugin.process_encrypt_field(conf, key_path, operation, plugin_name, op_name)</c>: the
    /// walk of <see cref="DataEncryption.ProcessField"/> with the caller's Lua
    /// <paramref name="operation"/> applied to each string it reaches.
    /// </summary>
    public void ProcessEncryptField(object? conf, string keyPath, LuaFunction operation, object? pluginName, object? opName)
    {
        if (conf is not LuaTable t || LuaJson.ToJson(Lua, conf) is not JsonNode node) return;
        bool decrypt = opName as string == "decrypt";
        string op = opName?.ToString() ?? "nil";
        string plugin = pluginName?.ToString() ?? "nil";
        DataEncryption.ProcessField(node, keyPath, s =>
            {
                var r = operation.Call(s, "data_encrypt");
                var result = r is { Length: > 0 } ? r[0] as string : null;
                var err = r is { Length: > 1 } ? r[1]?.ToString() : null;
                return (result, err);
            },
            (where, err) => Log(decrypt ? "info" : "warn", "failed to " + op + " the conf of plugin [" + plugin
                + "] key [" + where + "], err: " + err + (decrypt ? DecryptHint : "")));
        LuaJson.SyncInto(Lua, t, node);
    }
}
