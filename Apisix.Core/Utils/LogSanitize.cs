using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Utils;

/// <summary>
/// Port of <c>apisix/utils/log-sanitize.lua</c>: copies of the AI transport's request params and
/// extra options that are safe to write to the error log (no credentials).
/// </summary>
public static class LogSanitize
{
    // Header names whose values are credentials, compared lower-cased.
    private static readonly HashSet<string> SecretHeaders = new(StringComparer.Ordinal)
    {
        "authorization", "x-api-key", "api-key", "cookie", "proxy-authorization", "x-amz-security-token",
    };

    /// <summary>
    /// <c>redact_params(params)</c>: method, scheme, host, port, path and ssl_server_name, plus the
    /// headers with credential values replaced; query and body are left out. Takes the params as a
    /// Lua table (JSON object); absent fields stay absent.
    /// </summary>
    public static JsonObject RedactParams(JsonObject parameters)
    {
        var redacted = new JsonObject();
        foreach (var key in new[] { "method", "scheme", "host", "port", "path", "ssl_server_name" })
            if (parameters[key] is { } v) redacted[key] = v.DeepClone();

        if (parameters["headers"] is JsonObject headers)
        {
            var safe = new JsonObject();
            foreach (var (name, value) in headers)
                safe[name] = SecretHeaders.Contains(name.ToLowerInvariant()) ? "[REDACTED]" : value?.DeepClone();
            redacted["headers"] = safe;
        }
        return redacted;
    }

    /// <summary><c>redact_extra_opts(extra_opts)</c>: a deep copy without <c>auth</c>.</summary>
    public static JsonObject RedactExtraOpts(JsonObject extraOpts)
    {
        var redacted = (JsonObject)extraOpts.DeepClone();
        redacted.Remove("auth");
        return redacted;
    }

    /// <summary>
    /// The text the Lua callers log. The Lua functions return <c>core.json.delay_encode(t, true)</c>
    /// and the callers wrap that again in <c>delay_encode(..., true)</c>; forcing the encode of a
    /// delay-encode wrapper serialises the wrapper's own fields, so the log shows
    /// <c>{"data":&lt;table&gt;,"force":true}</c>, not the bare table.
    /// </summary>
    public static string LogText(JsonObject redacted) =>
        CJson.TryEncode(new JsonObject { ["data"] = redacted.DeepClone(), ["force"] = true }).Value ?? "nil";
}
