// Twin of apisix/global_rules.lua
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Core.Plugins;

/// <summary>
/// <c>apisix/global_rules.lua</c> and <c>merge_global_rules</c> of <c>apisix/plugin.lua</c>:
/// the plugins of every global rule, as one set. A plugin configured in more than one rule runs
/// in none of them (an error line says so).
/// </summary>
public static class GlobalRules
{
    /// <summary>
    /// The merged plugins and a version for them (the highest modifiedIndex and the count), or
    /// null when there is no global rule.
    /// </summary>
    public static (JsonObject Plugins, string Version, Dictionary<string, string> Parents)? Merge(ConfigStore store, Action<LogLevel, string> log,
        Func<StoreEntry, bool>? refused = null)
    {
        // the rules the config sync's checks refused are not there for the data plane
        // (only read, never changed here: the stored entries uncopied; their plugin confs are cloned below)
        var stored = store.ListShared(ConfigStore.DefaultPrefix + "/global_rules/");
        if (stored.Count == 0) return null;
        var rules = refused == null ? stored : stored.Where(r => !refused(r)).ToList();
        if (rules.Count == 0) return null;
        var plugins = new JsonObject();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var parents = new Dictionary<string, string>(StringComparer.Ordinal);
        long max = 0;
        foreach (var rule in rules)
        {
            max = Math.Max(max, rule.ModifiedIndex);
            if (rule.Value is not JsonObject v || v["plugins"] is not JsonObject rulePlugins) continue;
            foreach (var (name, conf) in rulePlugins)
            {
                if (!seen.Add(name))
                {
                    log(LogLevel.Error, "Found " + name + " configured across different global rules."
                        + " Removing it from execution list");
                    plugins.Remove(name);
                }
                else
                {
                    plugins[name] = conf?.DeepClone();
                    parents[name] = rule.Key;
                }
            }
        }
        return (plugins, max.ToString(CultureInfo.InvariantCulture) + "#" + rules.Count.ToString(CultureInfo.InvariantCulture), parents);
    }
}
