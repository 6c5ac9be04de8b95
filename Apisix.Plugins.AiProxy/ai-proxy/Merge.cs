using System.Text.Json.Nodes;

namespace Apisix.Plugins.AiProxy.AiProxy;

/// <summary>Port of <c>apisix/plugins/ai-proxy/merge.lua</c>: a JSON-merge-patch-like deep merge.</summary>
public static class Merge
{
    // An object with string keys, or an empty table (which Lua cannot tell from an object).
    private static bool IsPlainObject(JsonNode? node) => node is JsonObject;

    /// <summary>
    /// <c>deep_merge(target, patch, force)</c>: nested objects merge key by key; any other patch
    /// value fills a key the target lacks, or replaces it when <paramref name="force"/> is set.
    /// Returns the merged target (the patch itself when either side is not an object).
    /// </summary>
    public static JsonNode? DeepMerge(JsonNode? target, JsonNode? patch, bool force)
    {
        if (!IsPlainObject(patch)) return patch;
        if (!IsPlainObject(target)) return patch;
        var t = (JsonObject)target!;
        foreach (var (k, v) in ((JsonObject)patch!).ToList())
        {
            if (IsPlainObject(v) && IsPlainObject(t[k])) DeepMerge(t[k], v, force);
            else if (t[k] == null || force) t[k] = v?.DeepClone();
        }
        return t;
    }
}
