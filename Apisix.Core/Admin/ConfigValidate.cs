// Twin of apisix/admin/config_validate.lua
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;

namespace Apisix.Core.Admin;

/// <summary>
/// <c>POST /apisix/admin/configs/validate</c>: checks a whole declarative configuration
/// (<c>routes</c>, <c>services</c>, ... arrays, each with its <c>*_conf_version</c>) with each
/// resource's own checker, without looking up referenced ids and without storing anything;
/// duplicate ids are errors too. Every error is collected.
/// </summary>
internal sealed class ConfigValidate(Resources resources)
{
    private const string ConfVersionKeySuffix = "_conf_version";

    /// <summary>The resource keys: APISIX's etcd directories without the slash.</summary>
    private static IEnumerable<string> AllResourceKeys => Etcd.EtcdDirectories.Select(d => d[1..]);

    /// <summary><c>check_duplicate</c>: null, or the duplicate's error.</summary>
    private static string? CheckDuplicate(JsonObject item, string key, HashSet<string> idSet)
    {
        string? identifier;
        string identifierType;
        if (key == "consumers")
        {
            bool hasId = LuaText.FieldIsTruthy(item, "id");
            identifier = hasId ? LuaText.ToLuaString(item["id"])
                : LuaText.FieldIsTruthy(item, "username") ? LuaText.ToLuaString(item["username"]) : null;
            identifierType = hasId ? "credential id" : "username";
        }
        else
        {
            identifier = LuaText.FieldIsTruthy(item, "id") ? LuaText.ToLuaString(item["id"]) : null;
            identifierType = "id";
        }
        if (identifier == null) return null;
        if (!idSet.Add(identifier)) return "found duplicate " + identifierType + " " + identifier + " in " + key;
        return null;
    }

    private CheckResult CheckConf(AdminResource resource, JsonObject item, string typ)
    {
        var prev = Resources.SkipReferencesCheck;
        Resources.SkipReferencesCheck = true;
        try
        {
            // a consumer item whose id names a credential is checked as a credential
            if (typ == "consumers" && LuaText.ToLuaString(item["id"]).Contains("/credentials/", StringComparison.Ordinal)
                && resources.All.TryGetValue("credentials", out var credentials))
                return credentials.Checker(item["id"]?.DeepClone(), item, false);
            if (typ == "secrets")
            {
                string strId = LuaText.ToLuaString(item["id"]);
                int idx = strId.IndexOf('/');
                if (idx < 0) return CheckResult.Fail("invalid secret id: " + strId);
                return resource.TypedChecker!(item["id"]?.DeepClone(), item, false, strId[..idx]);
            }
            return resource.Checker(item["id"]?.DeepClone(), item, false);
        }
        finally
        {
            Resources.SkipReferencesCheck = prev;
        }
    }

    /// <summary><c>validate_configuration(req_body, collect_all_errors)</c> with every error collected.</summary>
    public (bool Valid, JsonArray Results) ValidateConfiguration(JsonObject body)
    {
        var (valid, results, _) = Validate(body, collectAllErrors: true);
        return (valid, results);
    }

    /// <summary><c>validate_configuration(req_body, false)</c>: stops at the first error and returns its message.</summary>
    public (bool Valid, string? Error) ValidateFirst(JsonObject body)
    {
        var (valid, _, first) = Validate(body, collectAllErrors: false);
        return (valid, first);
    }

    private (bool Valid, JsonArray Results, string? First) Validate(JsonObject body, bool collectAllErrors)
    {
        bool valid = true;
        var results = new JsonArray();
        foreach (var key in AllResourceKeys)
        {
            string versionKey = key + ConfVersionKeySuffix;
            if (body[versionKey] is { } version && !(version is JsonValue v && JsonScalars.TryGetNumber(v, out _)))
            {
                if (!collectAllErrors) return (false, results, versionKey + " must be a number");
                valid = false;
                results.Add(new JsonObject
                {
                    ["resource_type"] = key,
                    ["error"] = versionKey + " must be a number, got " + ConfigMerge.LuaType(version),
                });
            }

            if (body[key] is not JsonArray items || items.Count == 0) continue;
            resources.All.TryGetValue(key, out var resource);
            var idSet = new HashSet<string>(StringComparer.Ordinal);
            for (int index = 0; index < items.Count; index++)
            {
                var item = items[index] as JsonObject;
                string? err = null;
                if (resource != null)
                {
                    try
                    {
                        if (item == null) throw new LuaRuntimeError("attempt to index a " + ConfigMerge.LuaType(items[index]) + " value");
                        var copy = (JsonObject)CJson.CloneNormalized(item)!;
                        var r = CheckConf(resource, copy, key);
                        if (!r.Ok) err = r.Error?["error_msg"] is { } m ? LuaText.ToLuaString(m) : "unknown error";
                    }
                    catch (Exception e) when (e is LuaRuntimeError or InvalidOperationException)
                    {
                        err = e.Message;
                    }
                }

                string ResourceId() => item != null && LuaText.FieldIsTruthy(item, "id") ? LuaText.ToLuaString(item["id"])
                    : item != null && LuaText.FieldIsTruthy(item, "username") ? LuaText.ToLuaString(item["username"]) : "";

                if (err != null)
                {
                    if (!collectAllErrors) return (false, results, err);
                    valid = false;
                    results.Add(new JsonObject
                    {
                        ["resource_type"] = key, ["resource_id"] = ResourceId(), ["index"] = index, ["error"] = err,
                    });
                }

                if (item != null && CheckDuplicate(item, key, idSet) is { } dup)
                {
                    if (!collectAllErrors) return (false, results, dup);
                    valid = false;
                    results.Add(new JsonObject
                    {
                        ["resource_type"] = key, ["resource_id"] = ResourceId(), ["index"] = index, ["error"] = dup,
                    });
                }
            }
        }
        return (valid, results, null);
    }
}
