using System.Text;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.Upstream;

namespace Apisix.Core.OpenResty;

/// <summary>
/// nginx's proxy module for a location with `proxy_pass`: the request goes to the URL's host (an
/// `upstream` block's servers, taken in turn, or host:port) over HTTP/1.0 (`proxy_http_version`),
/// with `Host: $proxy_host` and `Connection: close` unless `proxy_set_header` says otherwise, then the
/// client's other headers; the response's status, headers and body come back to the client.
/// </summary>
internal static class ProxyPass
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Server", "Date", "Upgrade", "Proxy-Connection",
    };

    private static long _turn;

    public static async Task ServeAsync(Nginx nginx, NgxRequest req, LocationConf loc, Func<string, string> interpolate)
    {
        var target = loc.ProxyPass!;
        var url = interpolate(target);
        var hasVariables = target.Contains('$');
        var tls = url.StartsWith("https://", StringComparison.Ordinal);
        if (!tls && !url.StartsWith("http://", StringComparison.Ordinal))
        {
            req.Log(LogLevel.Error, $"invalid URL prefix in \"{url}\"");
            await Nginx.SendErrorPage(req, 500);
            return;
        }
        var scheme = tls ? "https://" : "http://";
        var rest = url[scheme.Length..];
        var slash = rest.IndexOf('/');
        var hostPart = slash < 0 ? rest : rest[..slash];
        string? uriPart = slash < 0 ? null : rest[slash..];

        string host;
        int port;
        if (nginx.Conf.Upstreams.TryGetValue(hostPart, out var servers) && servers.Count > 0)
        {
            var peer = servers[(int)(Interlocked.Increment(ref _turn) % servers.Count)];
            (host, port) = SplitHostPort(peer);
        }
        else (host, port) = SplitHostPort(hostPart, tls ? 443 : 80);

        // the URI: proxy_pass's own with the location's prefix replaced, else the client's
        string uri;
        if (uriPart == null) uri = req.Uri == req.RequestUri.Split('?')[0] ? req.RequestUri : req.Uri + (req.Args != null ? "?" + req.Args : "");
        else if (hasVariables || loc.Regex != null) uri = uriPart;
        else
        {
            var tail = loc.Modifier is "" or "^~" && req.Uri.StartsWith(loc.Pattern, StringComparison.Ordinal) ? req.Uri[loc.Pattern.Length..] : "";
            uri = uriPart + tail + (req.Args != null ? "?" + req.Args : "");
        }

        await req.ReadBodyAsync();
        // proxy_pass_request_body off: the client's body stays here
        var body = loc.ProxyPassRequestBody ? req.BodyText() ?? "" : "";
        var head = new StringBuilder();
        head.Append(req.Method).Append(' ').Append(uri).Append(" HTTP/").Append(loc.ProxyHttpVersion).Append("\r\n");
        var set = new List<(string Name, string Value)> { ("Host", hostPart), ("Connection", "close") };
        foreach (var (name, value) in loc.ProxySetHeaders)
        {
            set.RemoveAll(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
            set.Add((name, interpolate(value)));
        }
        foreach (var (name, value) in set)
            if (value.Length > 0) head.Append(name).Append(": ").Append(value).Append("\r\n");
        if (body.Length > 0 && !set.Any(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)))
            head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        foreach (var (name, value) in req.RequestHeaders)
        {
            if (set.Any(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase))) continue;
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) continue;
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        head.Append("\r\n").Append(body);

        var upstreamUrl = $"{scheme}{host}:{port}{uri}";
        Stream stream;
        if (await nginx.ResolveAsync(host, req.Worker, nginx.Stopping) is { } unresolved)
        {
            req.Log(LogLevel.Error, unresolved);
            await Nginx.SendErrorPage(req, 502);
            return;
        }
        // from here the request's log lines name the upstream (ngx_http_log_error_handler)
        req.LogUpstream = upstreamUrl;
        try { stream = await nginx.TcpConnectAsync(host, port, nginx.Stopping); }
        catch (IOException e)
        {
            var why = e.Message.Contains("refused", StringComparison.OrdinalIgnoreCase) ? "111: Connection refused" : e.Message;
            req.Log(LogLevel.Error, $"connect() failed ({why}) while connecting to upstream");
            await Nginx.SendErrorPage(req, 502);
            return;
        }
        if (tls)
        {
            // proxy_ssl_verify off and proxy_ssl_server_name off, nginx's defaults: any certificate, no SNI
            var ssl = new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
            try { await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "" }, nginx.Stopping); }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
            {
                req.Log(LogLevel.Error, $"SSL_do_handshake() failed ({e.Message}) while SSL handshaking to upstream");
                await Nginx.SendErrorPage(req, 502);
                return;
            }
            stream = ssl;
        }
        await using var conn = new UpstreamHttpConnection(stream);
        var timeout = TimeSpan.FromSeconds(60);
        if (await conn.SendAsync(Encoding.Latin1.GetBytes(head.ToString()), timeout) != UpstreamFailure.None)
        {
            req.Log(LogLevel.Error, $"send() failed while sending request to upstream");
            await Nginx.SendErrorPage(req, 502);
            return;
        }
        var (response, failure) = await conn.ReadHeadAsync(loc.ProxyReadTimeout, req.Method == "HEAD");
        if (response == null)
        {
            req.Log(LogLevel.Error, failure == UpstreamFailure.Timeout
                ? $"upstream timed out (110: Connection timed out) while reading response header from upstream"
                : $"upstream prematurely closed connection while reading response header from upstream");
            await Nginx.SendErrorPage(req, failure == UpstreamFailure.Timeout ? 504 : 502);
            return;
        }
        // proxy_intercept_errors: an error status that has an error_page is answered by the page instead
        if (loc.ProxyInterceptErrors && response.Status >= 300 && loc.ErrorPages.ContainsKey(response.Status) && !req.ErrorPageUsed)
        {
            await Nginx.SendErrorPage(req, response.Status);
            return;
        }
        req.Status = response.Status;
        foreach (var (name, value) in response.Headers)
        {
            if (HopHeaders.Contains(name)) continue;
            if (!req.ResponseHeaders.TryGetValue(name, out var list)) req.ResponseHeaders[name] = list = new List<string>();
            list.Add(value);
        }
        // proxy_buffering: the body goes on as a whole; a read that fails loses it unless the upstream
        // closed early (nginx passes what it buffered, then finalizes). Either way a subrequest's
        // capture reports it truncated.
        var buffered = loc.ProxyBuffering ? new StringBuilder() : null;
        var readTimeout = loc.ProxyReadTimeout;
        while (true)
        {
            var (data, bodyFailure) = await conn.ReadBodyAsync(readTimeout);
            if (data == null)
            {
                req.Truncated = true;
                if (bodyFailure == UpstreamFailure.Timeout)
                {
                    req.Log(LogLevel.Error, $"upstream timed out (110: Connection timed out) while reading upstream");
                    buffered?.Clear();
                }
                else req.Log(LogLevel.Error, $"upstream prematurely closed connection while reading upstream");
                break;
            }
            if (data.Length == 0) break;
            var text = Encoding.Latin1.GetString(data);
            if (buffered != null) buffered.Append(text);
            else req.Append(text);
        }
        if (buffered is { Length: > 0 }) req.Append(buffered.ToString());
    }

    private static (string Host, int Port) SplitHostPort(string s, int defaultPort = 80)
    {
        var colon = s.LastIndexOf(':');
        if (colon > 0 && int.TryParse(s[(colon + 1)..], out var port)) return (s[..colon], port);
        return (s, defaultPort);
    }
}
