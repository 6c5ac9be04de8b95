using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Admin;

/// <summary>The admin API's check of <c>post_arg.*</c> names in a route's vars (apisix/admin/routes.lua).</summary>
public static class PostArgCheck
{
    /// <summary>
    /// routes.lua's <c>validate_post_arg</c>: every <c>post_arg.*</c> name in a route's vars
    /// must be a valid JSONPath once "$." replaces the prefix; returns the parse error.
    /// </summary>
    public static string? ValidatePostArg(JsonNode? node)
    {
        if (node is not JsonArray arr) return null;
        if (arr.Count >= 3 && JsonScalars.TryGetString(arr[0], out string head) && head.StartsWith("post_arg.", StringComparison.Ordinal))
            return Utils.JsonPath.Parse("$." + head[9..]);
        foreach (var child in arr)
            if (ValidatePostArg(child) is { } err) return err;
        return null;
    }
}
