using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Microsoft.AspNetCore.Http;
using LogLevel = Apisix.Core.OpenResty.LogLevel;

namespace Apisix.Gateway;

/// <summary>
/// nginx's limits on what a client sends, answered as nginx answers them:
/// <c>large_client_header_buffers 4 8k</c> (a header line over 8k, or headers over 32k in all:
/// 400 "Request Header Or Cookie Too Large"; a request line over 8k: 414, from Kestrel),
/// <c>client_max_body_size</c> (413 before anything reaches a plugin or an upstream), and a
/// body the client stops sending (the request ends there; nothing is proxied).
/// </summary>
public sealed class ClientLimits
{
    /// <summary>One of nginx's large header buffers (8k), the longest header line or request line.</summary>
    public int LargeHeaderBuffer { get; init; } = 8 * 1024;

    /// <summary>All four buffers: the most header bytes nginx takes.</summary>
    public int HeaderTotal => 4 * LargeHeaderBuffer;

    /// <summary>Kestrel's own limit, above nginx's, so that nginx's answer is the one given.</summary>
    public const int KestrelHeaderCeiling = 64 * 1024;

    /// <summary><c>client_max_body_size</c> in bytes; 0: no limit (APISIX's default).</summary>
    public long MaxBodySize { get; init; }

    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public static ClientLimits From(ApisixConfig config) => new()
    {
        MaxBodySize = ParseSize(config.Get("nginx_config", "http", "client_max_body_size")),
        KeepAliveTimeout = GatewayHost.ParseSeconds(config.Get("nginx_config", "http", "keepalive_timeout"), 60),
    };

    /// <summary>nginx sizes: a number of bytes, or with k/m/g.</summary>
    public static long ParseSize(JsonNode? node)
    {
        if (JsonScalars.TryGetNumber(node, out double n)) return (long)n;
        if (!JsonScalars.TryGetString(node, out string s) || s.Length == 0) return 0;
        var unit = char.ToLowerInvariant(s[^1]);
        var mult = unit switch { 'k' => 1024L, 'm' => 1024L * 1024, 'g' => 1024L * 1024 * 1024, _ => 1L };
        var num = mult == 1 ? s : s[..^1];
        if (!long.TryParse(num, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            throw new GatewayStartException($"invalid client_max_body_size: \"{s}\"");
        return v * mult;
    }

    /// <summary>The server's entry: header limits first (nginx checks them while reading the head), then nginx.</summary>
    public Task ServeAsync(HttpContext http, Nginx nginx)
    {
        // checked in place: a request within the limits goes on to nginx with no state machine of its own here
        long total = 0;
        foreach (var h in http.Request.Headers)
        {
            foreach (var value in h.Value)
            {
                var line = h.Key.Length + 2 + (value?.Length ?? 0);
                total += line + 2;
                if (line > LargeHeaderBuffer)
                {
                    var head = (h.Key + ": " + value);
                    nginx.LogInternal(LogLevel.Info, $"client sent too long header line: \"{head[..Math.Min(32, head.Length)]}...\" while reading client request headers, client: {http.Connection.RemoteIpAddress}, server: 0.0.0.0:{http.Connection.LocalPort}");
                    return RawErrorAsync(http, 400, "Request Header Or Cookie Too Large");
                }
            }
        }
        if (total > HeaderTotal)
        {
            nginx.LogInternal(LogLevel.Info, $"client sent too large request while reading client request headers, client: {http.Connection.RemoteIpAddress}, server: 0.0.0.0:{http.Connection.LocalPort}");
            return RawErrorAsync(http, 400, "Request Header Or Cookie Too Large");
        }
        return nginx.HandleAsync(http);
    }

    /// <summary>nginx's page for an error found before a server's locations run, and the connection closed after it.</summary>
    private static async Task RawErrorAsync(HttpContext http, int status, string title)
    {
        var reason = ReasonPhrases.GetReasonPhrase(status);
        var body = $"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n"
                   + $"<center>{title}</center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n";
        var bytes = Encoding.Latin1.GetBytes(body);
        http.Response.StatusCode = status;
        http.Response.Headers["Server"] = "openresty";
        http.Response.ContentType = "text/html";
        http.Response.ContentLength = bytes.Length;
        http.Response.Headers.Connection = "close";
        await http.Response.Body.WriteAsync(bytes);
    }

    /// <summary>
    /// Before the gateway's access phase: <c>client_max_body_size</c> against Content-Length (413),
    /// then the body itself, read whole as nginx's proxy module reads it before it connects
    /// upstream. A client that stops half way ends the request here (400 in the access log,
    /// "client prematurely closed connection" in the error log); no plugin or upstream sees it.
    /// </summary>
    public async Task ReadBodyAsync(NgxRequest req)
    {
        var length = req.Http.Request.ContentLength;
        if (MaxBodySize > 0 && length > MaxBodySize)
        {
            req.Log(LogLevel.Error, $"client intended to send too large body: {length} bytes");
            req.SetResponseHeader("Connection", "close");
            await Nginx.SendErrorPage(req, 413);
            return;
        }
        var hasBody = length > 0 || req.Http.Request.Headers.TransferEncoding.Count > 0;
        if (!hasBody) return;
        try { await req.ReadBodyAsync(); }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == 413)
        {
            req.Log(LogLevel.Error, "client intended to send too large chunked body");
            await Nginx.SendErrorPage(req, 413);
            return;
        }
        if (req.ClientGone)
        {
            req.Log(LogLevel.Info, "client prematurely closed connection while reading client request body");
            req.Status = 400;
            await req.FinishAsync();
        }
    }
}
