// Twin of apisix/core/config_yaml.lua (the part that loads the file; no file watching)
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Store;

namespace Apisix.Core.Core;

/// <summary>
/// The standalone data plane's configuration (<c>conf/apisix.yaml</c> or <c>conf/apisix.json</c>)
/// put into the store the router and the proxy read, as <c>config_yaml</c> serves it: each
/// resource list (<c>routes</c>, <c>upstreams</c>, ...) becomes <c>/apisix/&lt;type&gt;/&lt;id&gt;</c>
/// entries, an item without <c>id</c> keyed by its <c>username</c> or <c>arr_&lt;index&gt;</c>
/// (1-based), and its <c>id</c> set to that key as a string. A YAML file must end with the
/// <c>#END</c> marker. The file is read once, when the worker starts: a block's config does
/// not change while it runs.
/// </summary>
public static class ConfigYaml
{
    /// <summary>The resource lists a standalone file can hold.</summary>
    public static readonly string[] ResourceTypes =
    [
        "routes", "services", "upstreams", "consumers", "consumer_groups", "plugin_configs", "global_rules",
        "ssls", "protos", "stream_routes", "secrets", "plugin_metadata",
    ];

    private static readonly Regex EndFlag = new(@"#END\s*$", RegexOptions.CultureInvariant);

    /// <summary>The item schema config_yaml checks each item of a list against, where the port has it.</summary>
    private static JsonObject? ItemSchema(string type) => type switch
    {
        "routes" => Admin.SchemaDefs.RouteSchema(),
        "services" => Admin.SchemaDefs.ServiceSchema(),
        "upstreams" => Admin.SchemaDefs.UpstreamSchema(),
        "consumers" => Admin.SchemaDefs.ConsumerSchema(),
        "global_rules" => Admin.SchemaDefs.GlobalRuleSchema(),
        "plugin_configs" => Admin.SchemaDefs.PluginConfigSchema(),
        _ => null,
    };

    private static readonly Dictionary<string, JsonObject?> Schemas = new(StringComparer.Ordinal);

    /// <summary>
    /// Replaces the store's resources with those of <paramref name="text"/>. Returns the error
    /// <c>config_yaml</c> logs ("missing valid end flag in file ...", a parse error), or null.
    /// An item that fails its schema is left out, with <c>config_yaml</c>'s error line passed
    /// to <paramref name="logError"/>.
    /// </summary>
    /// <param name="checker">The resource type's <c>checker</c> (its plugins' check), run after the
    /// item schema passed: (type, item) → the error, or null.</param>
    public static string? Load(ConfigStore store, string text, bool json, string path = "conf/apisix.yaml", Action<string>? logError = null,
        Func<string, JsonObject, string?>? checker = null)
    {
        JsonNode? doc;
        try
        {
            if (!json)
            {
                var tail = text.Length > 10 ? text[^10..] : text;
                if (!EndFlag.IsMatch(tail)) return "missing valid end flag in file " + path;
                doc = YamlLoader.Load(text);
            }
            else doc = JsonNode.Parse(text);
        }
        catch (Exception e) when (e is ConfigException or System.Text.Json.JsonException)
        {
            return "failed to parse " + path + ": " + e.Message;
        }

        Apply(store, doc as JsonObject, logError, checker);
        return null;
    }

    /// <summary>
    /// <c>_update_config</c>: the store now holds exactly the resources of <paramref name="root"/>
    /// (none when it is null), each item checked as <see cref="Load"/> describes.
    /// </summary>
    public static void Apply(ConfigStore store, JsonObject? root, Action<string>? logError = null,
        Func<string, JsonObject, string?>? checker = null)
    {
        foreach (var type in ResourceTypes) store.DeletePrefix(ConfigStore.DefaultPrefix + "/" + type + "/");
        if (root == null) return;
        foreach (var type in ResourceTypes)
        {
            if (root[type] is not JsonArray items) continue;
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is not JsonObject item) continue;
                var id = IdOf(item["id"]) ?? IdOf(item["username"]) ?? (type == "plugin_metadata" ? null : "arr_" + (i + 1));
                if (id == null) continue;
                var value = (JsonObject)item.DeepClone();
                JsonObject? schema;
                lock (Schemas)
                    if (!Schemas.TryGetValue(type, out schema)) Schemas[type] = schema = ItemSchema(type);
                // checked on a copy: the defaults the check writes are not kept (with them, a
                // route's health checks behaved differently from Lua's here; not looked into yet)
                if (schema != null && Schema.JsonSchema.Check(schema, value.DeepClone()) is (false, var err))
                {
                    logError?.Invoke($"failed to check item data of [{type}] err:{err} ,val: {CJson.Encode(item)}");
                    continue;
                }
                if (schema != null && checker?.Invoke(type, (JsonObject)value.DeepClone()) is { } checkErr)
                {
                    logError?.Invoke($"failed to check item data of [{type}] err:{checkErr} ,val: {CJson.Encode(item)}");
                    continue;
                }
                if (type != "plugin_metadata") value["id"] = id;
                store.Put(ConfigStore.DefaultPrefix + "/" + type + "/" + id, value);
            }
        }
    }

    /// <summary><c>sync_status_to_shdict</c>: whether this worker has its configuration, in the <c>status-report</c> dict.</summary>
    public static void SyncStatus(OpenResty.Nginx nginx, int workerId, bool status) =>
        nginx.SharedDicts.GetValueOrDefault("status-report")?.Store("set", workerId.ToString(System.Globalization.CultureInfo.InvariantCulture), status, 0, 0);

    private static string? IdOf(JsonNode? n) => n switch
    {
        null => null,
        JsonValue v when JsonScalars.TryGetString(v, out var s) => s,
        JsonValue v when JsonScalars.TryGetNumber(v, out var d) => LuaNumber.ToLuaString(d),
        _ => null,
    };
}
