// Twin of apisix/plugin_config.lua
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Store;

namespace Apisix.Core.Plugins;

/// <summary>
/// <c>apisix/plugin_config.lua</c>: a route's <c>plugin_config_id</c> names a set of plugins
/// stored under <c>/apisix/plugin_configs/</c>; <see cref="Merge"/> adds those the route does not
/// configure itself.
/// </summary>
public static class PluginConfig
{
    /// <summary><c>plugin_config.get(id)</c>.</summary>
    public static StoreEntry? Get(ConfigStore store, string id, Func<StoreEntry, bool>? refused = null) =>
        store.Get(ConfigStore.DefaultPrefix + "/plugin_configs/" + id) is { Value: JsonObject } e && (refused == null || !refused(e)) ? e : null;

    /// <summary>
    /// <c>plugin_config.merge(route_conf, plugin_config)</c>: a copy of the route whose plugins
    /// are its own plus the plugin config's others, and the merged version
    /// (<c>route_version#plugin_config_version</c>).
    /// </summary>
    public static (JsonObject Route, string Version) Merge(JsonObject route, string routeVersion, StoreEntry pluginConfig)
    {
        var merged = (JsonObject)route.DeepClone();
        var plugins = merged["plugins"] as JsonObject ?? new JsonObject();
        merged["plugins"] = plugins;
        if (pluginConfig.Value is JsonObject { } pc && pc["plugins"] is JsonObject pcPlugins)
        {
            foreach (var (name, conf) in pcPlugins)
                if (!plugins.ContainsKey(name)) plugins[name] = conf?.DeepClone();
        }
        return (merged, routeVersion + "#" + pluginConfig.ModifiedIndex.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A route's <c>plugin_config_id</c> as a string, or null.</summary>
    public static string? IdOf(JsonObject route) => route["plugin_config_id"] is { } v
        ? (JsonScalars.TryGetString(v, out var s) ? s : CtxVar.ToVarString(v))
        : null;
}
