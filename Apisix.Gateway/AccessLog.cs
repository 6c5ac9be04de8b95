using System.Text.RegularExpressions;
using Apisix.Core.OpenResty;

namespace Apisix.Gateway;

/// <summary>nginx's log module over <c>nginx_config.http.access_log_format</c>: each <c>$variable</c> from the request.</summary>
public static partial class AccessLog
{
    [GeneratedRegex(@"\$([a-z_0-9]+)")]
    private static partial Regex Variable();

    /// <summary>A variable that is not found prints "-", an empty one nothing (nginx's log module).</summary>
    public static string Format(NgxRequest req, string format) =>
        Variable().Replace(format, m => NgxVars.Get(req.Nginx, req, m.Groups[1].Value) ?? "-");
}
