using System.Globalization;

namespace Apisix.Core.OpenResty;

/// <summary>
/// nginx variables as `ngx.var` sees them: values set on the request first, then those nginx
/// computes from the request, then any the embedding application (APISIX) resolves.
/// </summary>
public static class NgxVars
{
    public static string? Get(Nginx nginx, NgxRequest r, string name)
    {
        if (r.Vars.TryGetValue(name, out var set)) return set;
        var http = r.Http;
        switch (name)
        {
            case "uri": return r.Uri;
            case "request_uri": return r.RequestUri;
            case "args":
            case "query_string": return r.Args;
            case "is_args": return string.IsNullOrEmpty(r.Args) ? "" : "?";
            case "request_method": return r.Main.Method; // nginx reads the main request's
            case "echo_request_method": return r.Method; // the echo module's: the (sub)request's own method
            case "scheme": return http.Features.Get<Net.TlsInfo>() != null ? "https" : "http";
            case "https": return http.Features.Get<Net.TlsInfo>() != null ? "on" : "";
            case "ssl_server_name": return http.Features.Get<Net.TlsInfo>()?.ServerName;
            case "server_protocol": return r.Protocol;
            case "server_port": return http.Connection.LocalPort.ToString(CultureInfo.InvariantCulture);
            case "server_addr": return http.Connection.LocalIpAddress?.ToString() ?? "127.0.0.1";
            case "server_name": return r.Server.ServerNames.FirstOrDefault() ?? "";
            case "remote_addr": return r.RealIp ?? http.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1";
            case "realip_remote_addr": return http.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1";
            case "remote_port":
            case "realip_remote_port": return http.Connection.RemotePort.ToString(CultureInfo.InvariantCulture);
            case "binary_remote_addr": return "\x7f\x00\x00\x01";
            case "host":
                {
                    var h = r.RequestHeader("Host");
                    if (string.IsNullOrEmpty(h)) return r.Server.ServerNames.FirstOrDefault() ?? "";
                    var c = h.LastIndexOf(':');
                    return (c > 0 && !h.EndsWith(']') ? h[..c] : h).ToLowerInvariant();
                }
            case "hostname": return Environment.MachineName;
            case "content_type": return r.RequestHeader("Content-Type");
            case "content_length": return r.RequestHeader("Content-Length");
            case "request_length": return null;
            case "status": return (r.HeadersSent ? http.Response.StatusCode : r.Status == 0 ? 200 : r.Status).ToString(CultureInfo.InvariantCulture);
            case "body_bytes_sent": return r.BytesSent.ToString(CultureInfo.InvariantCulture);
            case "bytes_sent": return r.BytesSent.ToString(CultureInfo.InvariantCulture);
            case "request_time":
                return ((DateTimeOffset.UtcNow - r.StartTime).TotalSeconds).ToString("0.000", CultureInfo.InvariantCulture);
            case "msec": return (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);
            case "time_local":
                {
                    var now = DateTimeOffset.Now;
                    var off = now.Offset;
                    var sign = off < TimeSpan.Zero ? "-" : "+";
                    return now.ToString("dd/MMM/yyyy:HH:mm:ss ", CultureInfo.InvariantCulture) + $"{sign}{Math.Abs(off.Hours):00}{Math.Abs(off.Minutes):00}";
                }
            case "time_iso8601": return DateTimeOffset.Now.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);
            case "connection": return r.Connection.ToString(CultureInfo.InvariantCulture);
            case "connection_requests": return r.ConnectionRequests.ToString(CultureInfo.InvariantCulture);
            case "request_id": return r.Id.ToString("x32", CultureInfo.InvariantCulture);
            case "document_root":
            case "realpath_root": return Path.Combine(nginx.Prefix, "html");
            case "request_body": return r.BodyRead && r.Body is { Length: > 0 } b ? b : null;
            case "request":
            case "request_line": return $"{r.Method} {r.RequestUri} {r.Protocol}";
        }
        if (name.StartsWith("http_", StringComparison.Ordinal))
            return UnknownHeader(r, name[5..]);
        if (name.StartsWith("arg_", StringComparison.Ordinal))
            return Arg(r.Args, name[4..]);
        if (name.StartsWith("cookie_", StringComparison.Ordinal))
            return Cookie(r.RequestHeader("Cookie"), name[7..]);
        if (name.StartsWith("sent_http_", StringComparison.Ordinal))
            return r.ResponseHeaders.TryGetValue(name[10..].Replace('_', '-'), out var v) ? v[0] : null;
        return nginx.ResolveVar?.Invoke(r, name);
    }

    /// <summary>
    /// <c>$http_NAME</c>: the first request header whose name, lowercased with '-' as '_', is
    /// NAME (so a header sent as <c>custom_header</c> is found too, as under APISIX's
    /// <c>underscores_in_headers on</c>).
    /// </summary>
    private static string? UnknownHeader(NgxRequest r, string name)
    {
        foreach (var (n, v) in r.RequestHeaders)
        {
            if (n.Length != name.Length) continue;
            var same = true;
            for (var i = 0; i < n.Length && same; i++)
            {
                var c = char.ToLowerInvariant(n[i]);
                if (c == '-') c = '_';
                same = c == name[i];
            }
            if (same) return v;
        }
        return null;
    }

    public static void Set(NgxRequest r, string name, string? value)
    {
        switch (name)
        {
            case "args": r.Args = value; return;
            case "uri": r.Uri = value ?? ""; return;
        }
        r.Vars[name] = value;
    }

    private static string? Arg(string? args, string key)
    {
        if (string.IsNullOrEmpty(args)) return null;
        foreach (var part in args.Split('&'))
        {
            var eq = part.IndexOf('=');
            var k = eq < 0 ? part : part[..eq];
            if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) return eq < 0 ? "" : part[(eq + 1)..];
        }
        return null;
    }

    internal static string? Cookie(string? header, string key)
    {
        if (header == null) return null;
        foreach (var part in header.Split(';'))
        {
            var kv = part.Trim();
            var eq = kv.IndexOf('=');
            if (eq > 0 && kv[..eq] == key) return kv[(eq + 1)..];
        }
        return null;
    }
}
