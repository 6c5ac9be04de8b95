using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;

namespace Apisix.Core.Config;

/// <summary>
/// How <c>apisix/cli/file.lua</c> puts a user's <c>config.yaml</c> onto the
/// defaults: <c>${{VAR}}</c> environment substitution, then a recursive merge
/// in which maps merge key by key, arrays (and empty maps) replace, YAML null
/// deletes the key, and a scalar may only replace a scalar of the same Lua
/// type (with a few paths allowed to change type).
/// </summary>
public static class ConfigMerge
{
    /// <summary>
    /// <c>merge_conf(base, new_tab)</c>: merges <paramref name="overlay"/> into
    /// <paramref name="target"/> in place. Returns null on success, or the
    /// "failed to merge, path[...] expect: ..., but got: ..." error.
    /// </summary>
    public static string? Merge(JsonObject target, JsonObject overlay, string parentPath = "")
    {
        foreach (var (key, val) in overlay.ToList())
        {
            string path = parentPath == "" ? key : parentPath + "->" + key;

            if (val == null)
            {
                // YAML null: drop the key.
                target.Remove(key);
                continue;
            }

            if (val is JsonObject or JsonArray)
            {
                if (LuaText.IsArray(val))
                {
                    target[key] = Detach(val);
                    continue;
                }

                if (target[key] is not JsonObject child)
                {
                    // Absent: start an empty table. (A scalar or array there
                    // cannot take keys; the map takes its place.)
                    child = new JsonObject();
                    target[key] = child;
                }

                string? err = Merge(child, (JsonObject)val, path);
                if (err != null) return err;
                continue;
            }

            string newType = LuaType(val);
            if (!target.TryGetPropertyValue(key, out var existing) || existing == null)
            {
                target[key] = Detach(val);
            }
            else if (LuaType(existing) != newType)
            {
                if (!PathIsMultiType(path, newType))
                {
                    return "failed to merge, path[" + path + "] expect: " + LuaType(existing)
                           + ", but got: " + newType;
                }
                target[key] = Detach(val);
            }
            else
            {
                target[key] = Detach(val);
            }
        }

        return null;
    }

    private static JsonNode Detach(JsonNode node) => CJson.CloneNormalized(node)!;

    private static bool PathIsMultiType(string path, string type)
    {
        if (path.StartsWith("nginx_config->", StringComparison.Ordinal) && (type == "number" || type == "string"))
            return true;
        if (path == "apisix->node_listen" && type == "number") return true;
        if (path == "apisix->data_encryption->keyring") return true;
        return false;
    }

    /// <summary>Lua's <c>type()</c> of a loaded value.</summary>
    public static string LuaType(JsonNode? node)
    {
        if (node == null) return "userdata";
        if (node is JsonObject or JsonArray) return "table";
        return node.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "userdata",
        };
    }

    private static readonly Regex VarRef = new(@"\$\{\{\s*([A-Za-z0-9_]+[:=]?.*?)\s*\}\}");

    /// <summary>
    /// <c>var_sub</c>: replaces each <c>${{NAME}}</c> or <c>${{NAME:=default}}</c>
    /// in <paramref name="text"/>. Returns the new text, whether a variable was
    /// used, and the error for a variable that is unset and has no default.
    /// </summary>
    public static (string Text, bool VarUsed, string? Error) SubstituteVars(string text, Func<string, string?> getEnv)
    {
        string? error = null;
        bool used = false;
        string result = VarRef.Replace(text, m =>
        {
            string var = m.Groups[1].Value;
            string? def = null;
            int i = var.IndexOf(":=", StringComparison.Ordinal);
            if (i >= 0)
            {
                def = var.Substring(i + 2).Trim(' ', '\t', '\n', '\r', '\f', '\v');
                var = var.Substring(0, i);
            }

            string? v = getEnv(var) ?? def;
            if (v != null)
            {
                used = true;
                return v;
            }

            error = "failed to handle configuration: can't find environment variable " + var;
            return "";
        });
        return (result, used, error);
    }

    /// <summary>
    /// <c>resolve_conf_var</c>: substitutes environment variables in every
    /// key and string value of a loaded config, in place. A value built from a
    /// variable becomes a number or boolean when it reads as one.
    /// </summary>
    public static string? ResolveVars(JsonNode? conf, Func<string, string?> getEnv)
    {
        switch (conf)
        {
            case JsonObject obj:
                foreach (var (key, val) in obj.ToList())
                {
                    string k = key;
                    var (newKey, _, kerr) = SubstituteVars(key, getEnv);
                    if (kerr != null) return kerr;
                    if (newKey != key)
                    {
                        obj.Remove(key);
                        obj[newKey] = val;
                        k = newKey;
                    }

                    if (val is JsonObject or JsonArray)
                    {
                        string? err = ResolveVars(val, getEnv);
                        if (err != null) return err;
                    }
                    else if (JsonScalars.TryGetString(val, out string s))
                    {
                        var (r, err) = ResolveString(s, getEnv);
                        if (err != null) return err;
                        obj[k] = r;
                    }
                }
                return null;

            case JsonArray arr:
                for (int i = 0; i < arr.Count; i++)
                {
                    var val = arr[i];
                    if (val is JsonObject or JsonArray)
                    {
                        string? err = ResolveVars(val, getEnv);
                        if (err != null) return err;
                    }
                    else if (JsonScalars.TryGetString(val, out string s))
                    {
                        var (r, err) = ResolveString(s, getEnv);
                        if (err != null) return err;
                        arr[i] = r;
                    }
                }
                return null;

            default:
                return null;
        }
    }

    private static (JsonNode? Value, string? Error) ResolveString(string s, Func<string, string?> getEnv)
    {
        var (text, used, err) = SubstituteVars(s, getEnv);
        if (err != null) return (null, err);
        if (used)
        {
            if (LuaText.ToNumber(text) is double d) return (CJson.NumberNode(d), null);
            if (text == "true") return (JsonValue.Create(true), null);
            if (text == "false") return (JsonValue.Create(false), null);
        }
        return (JsonValue.Create(text), null);
    }
}
