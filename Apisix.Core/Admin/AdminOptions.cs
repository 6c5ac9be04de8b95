using System.Text.Json.Nodes;

namespace Apisix.Core.Admin;

/// <summary>
/// Hooks for the checks the admin API makes with Lua libraries that live
/// outside this port. Each returns null when the input is accepted, or the
/// library's error text (the admin API adds APISIX's prefix). Unset hooks
/// accept everything.
/// </summary>
public sealed class AdminOptions
{
    /// <summary>
    /// A route's <c>vars</c>: <c>resty.expr</c>'s <c>expr.new(vars)</c> plus the
    /// jsonpath check of <c>post_arg.*</c> names. Reported as
    /// "failed to validate the 'vars' expression: ERR". Unset: <see cref="Utils.ExprV1.New"/>, the evaluator the router runs.
    /// </summary>
    public Func<JsonNode, string?>? ValidateVars { get; init; }

    /// <summary>
    /// A route's <c>filter_func</c>: returns the full error_msg
    /// ("failed to load 'filter_func' string: ..." or "'filter_func' should be a function").
    /// </summary>
    public Func<string, string?>? ValidateFilterFunc { get; init; }

    /// <summary>
    /// A route's or service's <c>script</c>: returns the full error_msg
    /// ("failed to load 'script' string: ..." or "'script' should be a Lua object").
    /// </summary>
    public Func<string, string?>? ValidateScript { get; init; }

    /// <summary>
    /// An upstream's <c>tls.client_cert</c>/<c>client_key</c> pair
    /// (<c>apisix.ssl.validate</c>); returns the error.
    /// </summary>
    public Func<string, string?, string?>? ValidateClientCert { get; init; }

    /// <summary>
    /// The Server header value; null for APISIX's own (<c>APISIX/VERSION</c>,
    /// or plain <c>APISIX</c> when <c>apisix.enable_server_tokens</c> is false).
    /// </summary>
    public string? ServerHeader { get; init; }

    /// <summary>The APISIX version this port follows (<c>core.version.VERSION</c>).</summary>
    public const string ApisixVersion = "3.17.0";

    /// <summary>What nginx prints at the foot of its own error pages.</summary>
    public string ErrorPageFooter { get; init; } = "openresty";
}
