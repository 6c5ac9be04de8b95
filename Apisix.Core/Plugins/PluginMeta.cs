using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins;

/// <summary>
/// Two pieces of <c>apisix/plugin.lua</c> that stateful plugins (limit-count) key their state by:
/// <c>set_plugins_meta_parent</c> (which resource a plugin conf came from: the route, its service,
/// its plugin config, the consumer, the consumer group, a global rule) and <c>conf_version</c>
/// (a CRC-32 of the conf's stable JSON). The parents of the confs a request runs are kept on the
/// ctx by plugin name, once for the route's merged plugins and once for the global rules'.
/// </summary>
public static class PluginMeta
{
    private const string RouteParents = "plugin_parents";
    private const string GlobalParents = "global_plugin_parents";

    /// <summary>Records that the route's (or, with <paramref name="global"/>, the global rules') conf of each of these plugins comes from <paramref name="resourceKey"/>.</summary>
    public static void SetParent(ApiCtx ctx, JsonObject? plugins, string resourceKey, bool global = false, bool onlyNew = false)
    {
        if (plugins == null) return;
        var key = global ? GlobalParents : RouteParents;
        if (ctx.Items.GetValueOrDefault(key) is not Dictionary<string, string> parents)
            ctx.Items[key] = parents = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, _) in plugins)
        {
            if (onlyNew && parents.ContainsKey(name)) continue;
            parents[name] = resourceKey;
        }
    }

    /// <summary>The resource key of the conf the running plugin (<c>ctx._plugin_name</c>) uses, or null.</summary>
    public static string? ParentOf(ApiCtx ctx, JsonObject conf)
    {
        var key = ctx.ConfType == "global_rule" ? GlobalParents : RouteParents;
        if (ctx.PluginName == null || ctx.Items.GetValueOrDefault(key) is not Dictionary<string, string> parents) return null;
        return parents.GetValueOrDefault(ctx.PluginName);
    }

    /// <summary>
    /// <c>plugin.conf_version(conf)</c>: the CRC-32 of the conf encoded with sorted keys (a conf
    /// without <c>_meta</c> has the empty one APISIX gives every stored conf).
    /// </summary>
    public static string ConfVersion(JsonObject conf)
    {
        var copy = (JsonObject)conf.DeepClone();
        if (!copy.ContainsKey("_meta")) copy["_meta"] = new JsonObject();
        var data = CJson.Encode(Sorted(copy));
        return Crc32.Compute(Encoding.UTF8.GetBytes(data)).ToString(CultureInfo.InvariantCulture);
    }

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Sorted).ToArray()),
        _ => node?.DeepClone(),
    };
}
