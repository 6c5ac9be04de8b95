using System.Net;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Upstream;

/// <summary>
/// The X-Forwarded-* handling of <c>apisix/init.lua</c>: <c>handle_x_forwarded_headers</c> (a
/// client outside <c>apisix.trusted_addresses</c> cannot choose what the upstream is told: the
/// headers are rewritten to what APISIX saw, X-Forwarded-For and Forwarded dropped) and
/// <c>set_upstream_x_forwarded_headers</c> (the request's X-Forwarded-Proto/Host/Port become the
/// <c>$var_x_forwarded_*</c> values the proxy sends).
/// </summary>
public static class ForwardedHeaders
{
    private const string HandledKey = "_x_forwarded_handled";

    /// <summary>
    /// <c>handle_x_forwarded_headers(api_ctx)</c>. APISIX runs it in the access phase before route
    /// matching; runs once per request (a second call does nothing).
    /// </summary>
    public static void Handle(ApiCtx ctx, ApisixConfig config)
    {
        if (ctx.Items.ContainsKey(HandledKey)) return;
        ctx.Items[HandledKey] = true;
        // no closure for the log line: the matcher's note is written here
        if (config.TrustedAddresses is not { } trusted) ctx.Log(LogLevel.Info, MatcherNotInitialized);
        else if (IsTrusted(trusted, ctx.Var.GetString("realip_remote_addr"))) return;

        var proto = ctx.Var.GetString("scheme") ?? "http";
        var httpHost = ctx.Var.GetString("http_host") ?? ctx.Var.GetString("host") ?? "";
        var colon = httpHost.LastIndexOf(':');
        string? portFromHost = colon > 0 && colon < httpHost.Length - 1 && !httpHost.AsSpan(colon + 1).ContainsAnyExceptInRange('0', '9')
            ? httpHost[(colon + 1)..] : null;
        var port = portFromHost ?? ctx.Var.GetString("server_port") ?? "";

        SetRequestHeader(ctx, "X-Forwarded-Proto", "http_x-forwarded-proto", proto);
        SetRequestHeader(ctx, "X-Forwarded-Host", "http_x-forwarded-host", httpHost);
        SetRequestHeader(ctx, "X-Forwarded-Port", "http_x-forwarded-port", port);
        SetRequestHeader(ctx, "X-Forwarded-For", "http_x-forwarded-for", null);
        SetRequestHeader(ctx, "Forwarded", "http_forwarded", null);
        ctx.Var["http_x_forwarded_proto"] = proto;
        ctx.Var["http_x_forwarded_host"] = httpHost;
        ctx.Var["http_x_forwarded_port"] = port;
        ctx.Var["http_x_forwarded_for"] = null;
        ctx.Var["http_forwarded"] = null;
    }

    /// <summary><c>set_upstream_x_forwarded_headers(api_ctx)</c>.</summary>
    public static void SetUpstreamVars(ApiCtx ctx)
    {
        if (ctx.Var.GetString("http_x_forwarded_proto") is { } proto) ctx.Var["var_x_forwarded_proto"] = proto;
        if (ctx.Var.GetString("http_x_forwarded_port") is { } port) ctx.Var["var_x_forwarded_port"] = port;
        if (ctx.Var.GetString("http_x_forwarded_host") is { } host) ctx.Var["var_x_forwarded_host"] = host;
    }

    /// <summary>
    /// <c>trusted_addresses_util.init_worker</c>: notes (at info level) a configuration without
    /// <c>apisix.trusted_addresses</c>; the matcher itself is built from the config on each check.
    /// </summary>
    public static void InitWorker(ApisixConfig config, Action<string> logInfo)
    {
        if (config.Get("apisix", "trusted_addresses") is null) logInfo("trusted_addresses is not configured");
    }

    /// <summary><c>trusted_addresses_util.is_trusted</c>: IPs and CIDRs from <c>apisix.trusted_addresses</c>.</summary>
    public static bool IsTrusted(ApisixConfig config, string? address, Action<string>? logInfo = null)
    {
        if (config.TrustedAddresses is not { } list)
        {
            logInfo?.Invoke(MatcherNotInitialized);
            return false;
        }
        return IsTrusted(list, address);
    }

    private const string MatcherNotInitialized = "trusted_addresses_matcher is not initialized";

    private static bool IsTrusted(JsonArray list, string? address)
    {
        if (address == null || !IPAddress.TryParse(address, out var ip)) return false;
        foreach (var item in list)
        {
            if (!JsonScalars.TryGetString(item, out var entry)) continue;
            if (Matches(entry, ip)) return true;
        }
        return false;
    }

    private static bool Matches(string entry, IPAddress ip)
    {
        var slash = entry.IndexOf('/');
        if (slash < 0) return IPAddress.TryParse(entry, out var single) && single.Equals(ip);
        if (!IPAddress.TryParse(entry[..slash], out var net) || !int.TryParse(entry[(slash + 1)..], out var bits)) return false;
        if (net.AddressFamily != ip.AddressFamily) return false;
        var a = net.GetAddressBytes();
        var b = ip.GetAddressBytes();
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (b[i] & mask)) return false;
        }
        return true;
    }

    /// <summary>
    /// <c>core.request.set_header</c>: replace (or, with null, remove) a request header; its
    /// ctx.var cache entry (<paramref name="varName"/>: "http_" and the name in lower case) is cleared.
    /// </summary>
    private static void SetRequestHeader(ApiCtx ctx, string name, string varName, string? value)
    {
        var headers = ctx.Request.RequestHeaders;
        var kept = 0;
        for (var i = 0; i < headers.Count; i++)
            if (!string.Equals(headers[i].Name, name, StringComparison.OrdinalIgnoreCase)) headers[kept++] = headers[i];
        if (kept < headers.Count) headers.RemoveRange(kept, headers.Count - kept);
        if (value != null) headers.Add((name, value));
        ctx.Var[varName] = null;
    }
}
