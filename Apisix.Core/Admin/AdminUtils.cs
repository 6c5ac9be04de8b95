using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;

namespace Apisix.Core.Admin;

/// <summary>A Lua runtime error inside an admin handler: nginx answers 500.</summary>
internal sealed class LuaRuntimeError : Exception
{
    public LuaRuntimeError(string message) : base(message) { }
}

/// <summary>
/// Helpers the admin port shares: <c>core.utils.split_uri</c>,
/// <c>core.table.merge</c>/<c>patch</c> and <c>admin.utils.inject_timestamp</c>.
/// </summary>
public static class AdminUtils
{
    /// <summary>
    /// <c>ngx.re.split(s, "/")</c>: the pieces between slashes; when the text
    /// ends with slashes, the trailing empty pieces are dropped. An empty text
    /// gives no pieces.
    /// </summary>
    public static List<string> Split(string s)
    {
        var parts = new List<string>();
        if (s.Length == 0) return parts;
        parts.AddRange(s.Split('/'));
        if (s.EndsWith('/'))
        {
            while (parts.Count > 0 && parts[^1].Length == 0) parts.RemoveAt(parts.Count - 1);
        }
        return parts;
    }

    /// <summary><c>table.concat(t, sep, i)</c> with a 1-based start.</summary>
    internal static string Concat(IReadOnlyList<string> t, string sep, int from1)
    {
        if (from1 > t.Count) return "";
        return string.Join(sep, t.Skip(from1 - 1));
    }

    /// <summary>
    /// <c>core.table.merge(origin, extend)</c>: copies <paramref name="extend"/>
    /// into <paramref name="origin"/>; objects merge recursively, arrays (and
    /// empty tables) on either side replace, JSON null deletes the key.
    /// </summary>
    public static JsonObject Merge(JsonObject origin, JsonObject extend)
    {
        foreach (var (k, v) in extend.ToList())
        {
            if (v is JsonObject or JsonArray)
            {
                if (origin[k] is JsonObject or JsonArray)
                {
                    if (LuaText.IsArray(origin[k]) || LuaText.IsArray(v))
                        origin[k] = CJson.CloneNormalized(v);
                    else
                        Merge((JsonObject)origin[k]!, (JsonObject)v);
                }
                else
                {
                    origin[k] = CJson.CloneNormalized(v);
                }
            }
            else if (v == null)
            {
                origin.Remove(k);
            }
            else
            {
                origin[k] = CJson.CloneNormalized(v);
            }
        }
        return origin;
    }

    /// <summary>
    /// <c>core.table.patch(node_value, sub_path, conf)</c>: sets the value at a
    /// slash-separated path, creating missing objects on the way. Returns the
    /// (possibly replaced) root, or a 400 and APISIX's error text.
    /// </summary>
    public static (JsonNode? Root, int? Code, string? Error) Patch(JsonObject nodeValue, string subPath, JsonNode? conf)
    {
        JsonNode? sub = nodeValue;
        var parts = Split(subPath);
        for (int i = 0; i < parts.Count - 1; i++)
        {
            string name = parts[i];
            if (sub is JsonObject so)
            {
                if (!so.ContainsKey(name)) so[name] = new JsonObject();
                sub = so[name];
            }
            else
            {
                // A string key on a decoded array: absent (and the write would
                // be lost when encoding), so a fresh table stands in.
                sub = new JsonObject();
            }

            if (!LuaText.IsTable(sub))
            {
                // Upstream passes 1 as the separator of table.concat here.
                return (null, 400, "invalid sub-path: /" + Concat(parts, "1", i + 1));
            }
        }

        if (!LuaText.IsTable(sub)) return (null, 400, "invalid sub-path: /" + subPath);

        string? last = parts.Count > 0 ? parts[^1] : null;
        if (!string.IsNullOrEmpty(last))
        {
            if (sub is JsonObject target) target[last] = conf;
            return (nodeValue, null, null);
        }

        return (conf, null, null);
    }

    /// <summary>
    /// <c>utils.inject_timestamp(conf, prev_conf, patch_conf)</c>: keeps or sets
    /// <c>create_time</c> (from the previous value when there is one) and sets
    /// <c>update_time</c> when absent or when patching without one.
    /// </summary>
    /// <param name="patchConf">
    /// For PATCH: the patch body (its own <c>update_time</c> is kept), or
    /// <see cref="SubPathPatch"/> for a sub-path patch; null otherwise.
    /// </param>
    public static void InjectTimestamp(JsonObject conf, JsonObject? prevValue, long now, object? patchConf = null)
    {
        if (!LuaText.FieldIsTruthy(conf, "create_time"))
        {
            if (prevValue != null && LuaText.FieldIsTruthy(prevValue, "create_time"))
                conf["create_time"] = CJson.CloneNormalized(prevValue["create_time"]);
            else
                conf["create_time"] = now;
        }

        bool patchResets = patchConf switch
        {
            null => false,
            // Only an absent update_time counts as nil; JSON null is a value.
            JsonObject p => !p.ContainsKey("update_time"),
            _ => true,
        };
        if (!LuaText.FieldIsTruthy(conf, "update_time") || patchResets)
        {
            conf["update_time"] = now;
        }
    }

    /// <summary>Marker for <see cref="InjectTimestamp"/>: the PATCH addressed a sub-path.</summary>
    public static readonly object SubPathPatch = new();
}
