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

    /// <summary>
    /// Replaces the store's resources with those of <paramref name="text"/>. Returns the error
    /// <c>config_yaml</c> logs ("missing valid end flag in file ...", a parse error), or null.
    /// </summary>
    public static string? Load(ConfigStore store, string text, bool json, string path = "conf/apisix.yaml")
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

        foreach (var type in ResourceTypes) store.DeletePrefix(ConfigStore.DefaultPrefix + "/" + type + "/");
        if (doc is not JsonObject root) return null;
        foreach (var type in ResourceTypes)
        {
            if (root[type] is not JsonArray items) continue;
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is not JsonObject item) continue;
                var id = IdOf(item["id"]) ?? IdOf(item["username"]) ?? (type == "plugin_metadata" ? null : "arr_" + (i + 1));
                if (id == null) continue;
                var value = (JsonObject)item.DeepClone();
                if (type != "plugin_metadata") value["id"] = id;
                store.Put(ConfigStore.DefaultPrefix + "/" + type + "/" + id, value);
            }
        }
        return null;
    }

    private static string? IdOf(JsonNode? n) => n switch
    {
        null => null,
        JsonValue v when JsonScalars.TryGetString(v, out var s) => s,
        JsonValue v when JsonScalars.TryGetNumber(v, out var d) => LuaNumber.ToLuaString(d),
        _ => null,
    };
}
