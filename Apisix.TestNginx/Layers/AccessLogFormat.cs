using System.Text.RegularExpressions;
using Apisix.Core.OpenResty;

namespace Apisix.TestNginx.Layers;

/// <summary>
/// Access log lines as nginx's log module writes them: nginx's own `combined` format (what plain
/// Test::Nginx logs with) and APISIX's `main` format (what t::APISIX configures for the 1984 server).
/// </summary>
public static partial class AccessLogFormat
{
    public const string Combined =
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

    public const string ApisixMain =
        "$remote_addr - $remote_user [$time_local] $http_host \"$request_line\" $status $body_bytes_sent $request_time " +
        "\"$http_referer\" \"$http_user_agent\" $upstream_addr $upstream_status $apisix_upstream_response_time " +
        "\"$upstream_scheme://$upstream_host$upstream_uri\" $request_llm_model $llm_model $llm_time_to_first_token " +
        "$llm_prompt_tokens $llm_completion_tokens $llm_total_tokens $llm_stream $llm_has_tool_calls $llm_tool_count " +
        "$llm_end_user_id $llm_cache_read_input_tokens $llm_cache_creation_input_tokens $llm_reasoning_tokens \"$rate_limiting_info\"";

    [GeneratedRegex(@"\$([a-z_0-9]+)")]
    private static partial Regex Variable();

    /// <summary>
    /// One line in <paramref name="format"/>. A variable that <paramref name="uninitialized"/> says
    /// was declared by a `set` that never ran for this request prints nothing and is reported to
    /// <paramref name="warn"/> first, in the format's order, as nginx warns of each.
    /// </summary>
    public static string Format(NgxRequest req, string format, Func<string, bool>? uninitialized = null, Action<string>? warn = null) =>
        Variable().Replace(format, m =>
        {
            var name = m.Groups[1].Value;
            if (uninitialized != null && uninitialized(name))
            {
                warn?.Invoke(name);
                return "";
            }
            // nginx's log module: a variable that is not found prints "-", an empty one prints nothing
            var v = NgxVars.Get(req.Nginx, req, name);
            return v ?? "-";
        });
}
