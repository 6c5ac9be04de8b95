using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/binding.lua</c>: the <c>fail_mode</c> handling
/// shared by AI plugins bound to a Consumer or Service, which can see requests they cannot
/// handle (plain HTTP traffic, requests ai-proxy never saw, unsupported formats).
/// </summary>
public static class Binding
{
    private const int MaxReasonLen = 256;

    /// <summary>
    /// <c>sanitize_reason</c>: control characters become spaces and the text is capped at 256
    /// bytes, since a reason may quote request data (a Content-Type) that ends up in the log.
    /// </summary>
    private static string SanitizeReason(string? reason)
    {
        var safe = reason ?? "unsupported request protocol";
        // [[:cntrl:]] in byte mode: 0x00-0x1F and 0x7F
        var sb = new StringBuilder(safe.Length);
        foreach (var c in safe) sb.Append(c < 0x20 || c == 0x7F ? ' ' : c);
        safe = sb.ToString();
        if (safe.Length > MaxReasonLen) safe = safe[..MaxReasonLen];
        return safe;
    }

    /// <summary><c>schema_property(default)</c>: the <c>fail_mode</c> schema fragment.</summary>
    public static JsonObject SchemaProperty(string? @default)
    {
        var schema = new JsonObject
        {
            ["type"] = "string",
            ["enum"] = new JsonArray("skip", "warn", "error"),
        };
        if (@default != null) schema["default"] = @default;
        schema["description"] = "Behavior when the request protocol/format is not supported "
            + "by this AI plugin (e.g. non-AI HTTP traffic on a Consumer-bound "
            + "plugin, or a request that did not pass through ai-proxy). "
            + "skip: pass the request through unchecked; "
            + "warn: pass through and log a warning; "
            + "error: reject the request.";
        return schema;
    }

    /// <summary>
    /// <c>on_unsupported(mode, plugin_name, ctx, reason, err_code, err_body)</c>: "error" hands
    /// back the rejection; "skip" (info log) and "warn" (warn log) let the request through
    /// (<c>Handled</c> false). Log lines go to <paramref name="ctx"/>.
    /// </summary>
    public static (bool Handled, int? Code, JsonNode? Body) OnUnsupported(
        string? mode, string pluginName, ProtocolCtx? ctx, string? reason, int? errCode, JsonNode? errBody)
    {
        if (mode == "error") return (true, errCode, errBody);

        var msg = pluginName + " skipped: " + SanitizeReason(reason);
        ctx?.Log?.Invoke(mode == "warn" ? LogLevel.Warn : LogLevel.Info, msg);
        return (false, null, null);
    }
}
