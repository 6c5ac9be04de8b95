using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Net;
using Apisix.Core.Upstream;
using Apisix.Core.Utils;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>The <c>params</c> table <c>build_request</c> makes and <c>http.request</c> sends.</summary>
public sealed class AiHttpParams
{
    public string Method { get; set; } = "POST";
    public string Scheme { get; set; } = "https";
    /// <summary>Header names as Lua keys them (lower case unless a provider set otherwise).</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.Ordinal);
    public bool? SslVerify { get; set; }
    public string? Path { get; set; }
    /// <summary>Query arguments (string values; a JSON array repeats the key).</summary>
    public JsonObject Query { get; set; } = new();
    public string? Host { get; set; }
    public int? Port { get; set; }
    public string? SslServerName { get; set; }
    /// <summary>A string (sent as is) or a table (encoded with sorted keys, as rapidjson does).</summary>
    public object? Body { get; set; }

    /// <summary>The params as the Lua table (for logging through <see cref="LogSanitize"/>); absent fields are left out.</summary>
    public JsonObject ToLuaTable()
    {
        var t = new JsonObject { ["method"] = Method, ["scheme"] = Scheme };
        var headers = new JsonObject();
        foreach (var (k, v) in Headers) headers[k] = v;
        t["headers"] = headers;
        if (SslVerify is { } verify) t["ssl_verify"] = verify;
        if (Path != null) t["path"] = Path;
        t["query"] = Query.DeepClone();
        if (Host != null) t["host"] = Host;
        if (Port is { } port) t["port"] = port;
        if (SslServerName != null) t["ssl_server_name"] = SslServerName;
        switch (Body)
        {
            case null: break;
            case string s: t["body"] = s; break;
            case JsonNode n: t["body"] = n.DeepClone(); break;
        }
        return t;
    }
}

/// <summary>What <c>http.request</c> returns on failure besides the error: where it was going, for upstream state.</summary>
public sealed record AiHttpErrorMeta(string UpstreamAddr, string UpstreamHost, string UpstreamScheme,
    string? UpstreamUri, double? ConnectTime, double T0);

/// <summary>
/// The response object of <c>http.request</c> (resty.http's <c>res</c> plus the <c>_upstream_*</c>,
/// <c>_connect_time</c>, <c>_header_time</c>, <c>_t0</c> fields the transport adds).
/// </summary>
public sealed class AiHttpResponse
{
    public int Status { get; init; }
    /// <summary><c>res.headers</c>: case-insensitive; repeated headers joined with ", ".</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    /// <summary>
    /// Whether <c>res.body_reader</c> exists. resty.http always sets one (for HEAD, 1xx, 204 and
    /// 304 it just ends at once), so responses from <see cref="Http.RequestAsync"/> say true.
    /// </summary>
    public bool HasBodyReader { get; init; }
    public string UpstreamAddr { get; init; } = "";
    public string UpstreamHost { get; init; } = "";
    public string UpstreamScheme { get; init; } = "http";
    public string? UpstreamUri { get; init; }
    /// <summary><c>_connect_time</c>, milliseconds.</summary>
    public double ConnectTime { get; init; }
    /// <summary><c>_header_time</c>, milliseconds since <see cref="T0"/>.</summary>
    public double HeaderTime { get; init; }
    /// <summary><c>_t0</c>: <c>ngx.now()</c> when the request started, in seconds.</summary>
    public double T0 { get; init; }
    /// <summary><c>_upstream_bytes</c>: body bytes read, set by whoever reads the body.</summary>
    public long? UpstreamBytes { get; set; }
    /// <summary>Whether <c>res._httpc</c> is still usable (not closed nor given back to the pool).</summary>
    public bool HasClient { get; internal set; } = true;

    internal Func<ValueTask<(string? Chunk, string? Error)>> ReadChunk { get; init; } = () => ValueTask.FromResult<(string?, string?)>((null, null));
    internal Func<ValueTask<(string? Body, string? Error)>> ReadAll { get; init; } = () => ValueTask.FromResult<(string?, string?)>((null, "no body"));
    internal Action OnClose { get; init; } = () => { };
    /// <summary>The exchange that reads the body and ends the connection (else the three functions above).</summary>
    internal Http.Exchange? Exchange { get; init; }

    /// <summary>
    /// <c>res.body_reader()</c>: the next chunk as it arrives (a byte string); null once the body
    /// has ended, then <c>"can't resume a dead coroutine"</c> as resty.http's reader says; or the error.
    /// </summary>
    public ValueTask<(string? Chunk, string? Error)> BodyReaderAsync() => Exchange is { } e ? e.ReadChunkAsync() : ReadChunk();

    /// <summary><c>res:read_body()</c>: the rest of the body, or null and the error.</summary>
    public ValueTask<(string? Body, string? Error)> ReadBodyAsync() => Exchange is { } e ? e.ReadAllAsync() : ReadAll();

    /// <summary><c>res._httpc:close()</c> and <c>res._httpc = nil</c>.</summary>
    public void Close()
    {
        if (!HasClient) return;
        HasClient = false;
        if (Exchange is { } e) e.Close();
        else OnClose();
    }
}

/// <summary>
/// Port of <c>apisix/plugins/ai-transport/http.lua</c>: sending the request to the LLM service
/// as lua-resty-http (api7-lua-resty-http, the fork APISIX ships) does.
/// <para>
/// One resty.http client is one connection that the caller connects, uses, then closes or gives
/// back to a keepalive pool. The request goes out as resty.http writes it and the response is
/// read with the gateway's own HTTP/1.1 client (<see cref="UpstreamHttpConnection"/>, the one
/// the proxy module uses); idle connections wait in <see cref="UpstreamKeepalive"/> pools of
/// their own per nginx worker (cosocket pools are per worker and apart from the balancer's),
/// named as resty.http names them, and leave them when the peer closes them or their keepalive
/// timeout passes.
/// </para>
/// <para>
/// HTTPS: the in-memory loopback has no TLS, and the upstream test suites point their AI
/// endpoints at plain http servers, so nothing here needs https to pass as http. Scheme https
/// therefore does a real TLS handshake (SNI from ssl_server_name, verification per ssl_verify)
/// on whatever stream <see cref="Nginx.TcpConnectAsync"/> gives; against a plain loopback server
/// it fails with "connect: handshake failed", which is what a real gateway would report too.
/// </para>
/// </summary>
public static class Http
{
    /// <summary>
    /// resty.http's default User-Agent on <paramref name="nginx"/>: api7-lua-resty-http reports 0.16.1,
    /// then the ngx_lua version of the runtime the nginx stands in for (apisix-runtime's 10031).
    /// </summary>
    public static string UserAgent(Nginx nginx)
    {
        var runtime = nginx.Conf.Runtime;
        var known = _userAgent;
        if (known != null && ReferenceEquals(known.Runtime, runtime)) return known.Text;
        var text = runtime.RestyHttpUserAgent();
        _userAgent = new UserAgentText(runtime, text);
        return text;
    }

    // the last runtime's User-Agent text (one runtime per process outside tests)
    private sealed record UserAgentText(NginxRuntime Runtime, string Text);
    private static UserAgentText? _userAgent;

    private const int DefaultKeepaliveTimeoutMs = 60000; // lua_socket_keepalive_timeout
    private const int DefaultPoolSize = 30;              // lua_socket_pool_size
    private const int DefaultTimeoutMs = 60000;          // cosocket default when no timeout is set

    /// <summary><c>handle_error(err)</c>: 504 for timeouts, 500 otherwise.</summary>
    public static int HandleError(string err) =>
        err.Contains("timeout", StringComparison.Ordinal) || err.Contains("timed out", StringComparison.Ordinal) ? 504 : 500;

    /// <summary>
    /// <c>construct_forward_headers(ext_opts_headers, ctx)</c>: the client's headers, then the
    /// extra ones (names lower-cased), content-type forced to JSON, and host, content-length and
    /// accept-encoding dropped.
    /// </summary>
    public static Dictionary<string, string> ConstructForwardHeaders(JsonObject? extHeaders, ApiCtx ctx)
    {
        // core.request.headers(ctx) (the first of a name repeated in another case wins), lower-cased
        var client = ctx.Request.RequestHeaders;
        var headers = new Dictionary<string, string>(client.Count + 4, StringComparer.Ordinal);
        foreach (var (name, value) in client) headers.TryAdd(LowerName(name), value);
        return FinishForwardHeaders(headers, extHeaders);
    }

    /// <summary>The same, from the client's headers as given (the Lua face passes them).</summary>
    public static Dictionary<string, string> ConstructForwardHeaders(JsonObject? extHeaders, IEnumerable<KeyValuePair<string, string>> clientHeaders)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in clientHeaders) headers[k.ToLowerInvariant()] = v;
        return FinishForwardHeaders(headers, extHeaders);
    }

    private static Dictionary<string, string> FinishForwardHeaders(Dictionary<string, string> headers, JsonObject? extHeaders)
    {
        if (extHeaders != null)
            foreach (var (k, v) in extHeaders)
                if (HeaderText(v) is { } text) headers[k.ToLowerInvariant()] = text;
        headers["content-type"] = "application/json";
        headers.Remove("host");
        headers.Remove("content-length");
        headers.Remove("accept-encoding");
        return headers;
    }

    // A header name in lower case; the names clients send again and again are lowered once.
    private static readonly BoundedCache<string> LowerNames = new(1024);

    private static string LowerName(string name) =>
        name.AsSpan().ContainsAnyInRange('A', 'Z') ? LowerNames.Get(name, static n => n.ToLowerInvariant()) : name;

    // How resty.http writes a header value given as a Lua value (tostring; a list as repeated lines, joined here).
    private static string? HeaderText(JsonNode? v) => v switch
    {
        null => null,
        JsonArray a => string.Join(", ", a.Select(HeaderText).Where(x => x != null)),
        JsonObject => null,
        _ => CtxVar.ToVarString(v),
    };

    /// <summary>
    /// <c>request(params, timeout)</c>: connect, encode the body, send, and read the status and
    /// headers. The timeout (ms) applies to the connect, to sending with reading the headers, and
    /// to each body read. Errors: <c>"connect: " .. err</c>, <c>"encode body: " .. err</c>,
    /// <c>"request: " .. err</c>, with where the request was going.
    /// </summary>
    public static async Task<(AiHttpResponse? Res, string? Error, AiHttpErrorMeta? Meta)> RequestAsync(AiHttpParams p, int timeoutMs, ApiCtx ctx)
    {
        var timeout = timeoutMs > 0 ? timeoutMs : DefaultTimeoutMs;
        var nginx = ctx.Request.Nginx;
        var ssl = string.Equals(p.Scheme, "https", StringComparison.OrdinalIgnoreCase);
        var host = p.Host ?? "";
        var port = p.Port ?? (ssl ? 443 : 80);
        var target = Target.Of(host, port, ssl, p.SslServerName ?? host, p.SslVerify ?? true);
        var upstreamAddr = p.Port != null ? target.Addr : host + ":";
        var upstreamHost = host;
        var upstreamScheme = p.Scheme ?? "http";
        var t0 = Now();

        // connect: a pooled connection when there is one, else a new one
        var pools = PoolsOf(ctx);
        var poolName = target.PoolName;
        var conn = pools.Take(new UpstreamKeepalive.Target(poolName, 0, TimeSpan.Zero, 0));
        if (conn == null)
        {
            if (p.Host == null) return (null, "connect: missing host", Meta(upstreamAddr, upstreamHost, upstreamScheme, p, null, t0));
            var (stream, err) = await OpenAsync(nginx, target, timeout);
            if (stream == null) return (null, "connect: " + err, Meta(upstreamAddr, upstreamHost, upstreamScheme, p, null, t0));
            conn = new UpstreamHttpConnection(stream);
        }
        var connectTime = (Now() - t0) * 1000;

        // the body: a string as is, else rapidjson with sorted keys (cjson when that fails)
        string reqJson;
        if (p.Body is string s) reqJson = s;
        else
        {
            var (encoded, err) = EncodeBody(p.Body, ctx);
            if (encoded == null)
            {
                _ = conn.DisposeAsync();
                return (null, "encode body: " + (err ?? "unknown"), Meta(upstreamAddr, upstreamHost, upstreamScheme, p, connectTime, t0));
            }
            reqJson = encoded;
        }
        p.Body = reqJson;

        // httpc:request(params) on the connection: the request as resty.http writes it, then the
        // status line and headers (interim 1xx answers but 101 skipped); each socket step gets the
        // whole timeout, as cosocket operations do
        Exchange? exchange = null;
        string? reqErr;
        var (buffer, length, buildErr) = BuildRequest(p, reqJson, target, UserAgent(nginx));
        if (buffer == null) reqErr = buildErr;
        else
        {
            var ioTimeout = TimeSpan.FromMilliseconds(timeout);
            var head = string.Equals(p.Method, "HEAD", StringComparison.OrdinalIgnoreCase);
            try
            {
                UpstreamFailure sent;
                try { sent = await conn.SendAsync(buffer.AsMemory(0, length), ioTimeout); }
                finally { ArrayPool<byte>.Shared.Return(buffer); }
                reqErr = sent != UpstreamFailure.None ? FailureText(sent) : null;
                while (reqErr == null)
                {
                    var (h, f) = await conn.ReadHeadAsync(ioTimeout, head);
                    if (h == null) reqErr = FailureText(f);
                    else if (h.Status is < 100 or >= 200 || h.Status == 101)
                    {
                        exchange = new Exchange(conn, h, head, ioTimeout, pools, poolName);
                        break;
                    }
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or IOException or InvalidOperationException)
            {
                exchange = null;
                reqErr = "closed";
            }
        }
        if (exchange == null)
        {
            _ = conn.DisposeAsync();
            return (null, "request: " + reqErr, Meta(upstreamAddr, upstreamHost, upstreamScheme, p, connectTime, t0));
        }
        var headerTime = (Now() - t0) * 1000;

        var res = new AiHttpResponse
        {
            Status = exchange.Status,
            Headers = exchange.Headers,
            HasBodyReader = true,
            UpstreamAddr = upstreamAddr,
            UpstreamHost = upstreamHost,
            UpstreamScheme = upstreamScheme,
            UpstreamUri = p.Path,
            ConnectTime = connectTime,
            HeaderTime = headerTime,
            T0 = t0,
            Exchange = exchange,
        };
        return (res, null, null);
    }

    private static AiHttpErrorMeta Meta(string upstreamAddr, string upstreamHost, string upstreamScheme, AiHttpParams p,
        double? connectTime, double t0) => new(upstreamAddr, upstreamHost, upstreamScheme, p.Path, connectTime, t0);

    /// <summary>
    /// <c>set_keepalive(res, timeout, pool)</c>: the connection goes back to its worker's pool for
    /// <paramref name="keepaliveTimeoutMs"/> (0: 60 s); a full pool drops its oldest. A connection
    /// the server asked to close, or whose body was not read to the end, is closed instead.
    /// </summary>
    public static void SetKeepalive(AiHttpResponse? res, int keepaliveTimeoutMs, int keepalivePool, ApiCtx ctx)
    {
        if (res == null || !res.HasClient || res.Exchange is not { } exchange) return;
        res.HasClient = false;
        var err = exchange.SetKeepalive(keepaliveTimeoutMs > 0 ? keepaliveTimeoutMs : DefaultKeepaliveTimeoutMs,
            keepalivePool > 0 ? keepalivePool : DefaultPoolSize);
        if (err != null) ctx.Log(LogLevel.Warn, "failed to keepalive connection: " + err);
    }

    /// <summary>Idle connections pooled for an nginx, all its workers' (they go with it).</summary>
    public static int PooledConnections(Nginx nginx)
    {
        var n = Pools.TryGetValue(nginx, out var own) ? own.IdleCount : 0;
        foreach (var w in nginx.Workers)
            if (Pools.TryGetValue(w, out var p)) n += p.IdleCount;
        return n;
    }

    // The pools of the request's worker (of its nginx for a request that has none, as in unit tests).
    private static readonly ConditionalWeakTable<object, UpstreamKeepalive> Pools = new();

    private static UpstreamKeepalive PoolsOf(ApiCtx ctx) =>
        Pools.GetValue((object?)ctx.Request.Worker ?? ctx.Request.Nginx, static _ => new UpstreamKeepalive());

    // ngx.now(): seconds with millisecond resolution
    private static double Now() => Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3);

    private static (string? Text, string? Error) EncodeBody(object? body, ApiCtx ctx)
    {
        JsonNode? node;
        try
        {
            node = body switch
            {
                null => null,
                JsonNode n => n,
                _ => JsonSerializer.SerializeToNode(body),
            };
        }
        catch (Exception e) when (e is NotSupportedException or JsonException) { return (null, e.Message); }

        try { return (RapidJson.Encode(node), null); }
        catch (FormatException e)
        {
            ctx.Log(LogLevel.Error, "failed to encode AI request body with rapidjson: " + e.Message
                                    + ", fallback to cjson; LLM cache hit rate may decrease");
        }
        var (text, err) = CJson.TryEncode(node);
        return (text, err);
    }


    // ---- connections -------------------------------------------------------------------------

    internal sealed record Target(string Host, int Port, bool Ssl, string ServerName, bool Verify)
    {
        /// <summary>The keepalive pool's name, as resty.http's connect names it.</summary>
        public string PoolName { get; } = Ssl ? $"{Host}:{Port}:{ServerName}:{Verify}" : Host + ":" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        /// <summary><c>host:port</c>.</summary>
        public string Addr { get; } = Host + ":" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // a route's endpoint is the same on every request: its target is made once (a bounded number kept)
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, int, bool, string, bool), Target> Known = new();

        public static Target Of(string host, int port, bool ssl, string serverName, bool verify)
        {
            var key = (host, port, ssl, serverName, verify);
            if (Known.TryGetValue(key, out var t)) return t;
            t = new Target(host, port, ssl, serverName, verify);
            if (Known.Count < 1024) Known.TryAdd(key, t);
            return t;
        }
    }

    /// <summary>Open a TCP connection (and TLS for https) through the nginx's connect seam.</summary>
    private static async Task<(Stream? Stream, string? Error)> OpenAsync(Nginx nginx, Target t, int timeoutMs)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        Stream stream;
        try
        {
            stream = await nginx.TcpConnectAsync(t.Host, t.Port, cts.Token);
            // real sockets end a pending read when closed; other streams (the in-memory loopback's) need help
            if (nginx.Network is not SocketNetwork) stream = new AbortableStream(stream);
        }
        catch (OperationCanceledException) { return (null, "timeout"); }
        catch (SocketException e) { return (null, SocketErrorText(e, t.Host)); }
        catch (IOException e) { return (null, e.Message); }
        if (!t.Ssl) return (stream, null);

        var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = t.ServerName,
                RemoteCertificateValidationCallback = t.Verify ? null : (_, _, _, _) => true,
            }, cts.Token);
            return (tls, null);
        }
        catch (OperationCanceledException) { await tls.DisposeAsync(); return (null, "timeout"); }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            await tls.DisposeAsync();
            return (null, "handshake failed");
        }
    }

    private static string SocketErrorText(SocketException e, string host) => e.SocketErrorCode switch
    {
        System.Net.Sockets.SocketError.ConnectionRefused => "connection refused",
        System.Net.Sockets.SocketError.TimedOut => "timeout",
        System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData => $"{host} could not be resolved (3: Host not found)",
        System.Net.Sockets.SocketError.ConnectionReset => "connection reset by peer",
        _ => e.Message,
    };

    /// <summary>A failed socket step in cosocket words.</summary>
    private static string FailureText(UpstreamFailure f) => f == UpstreamFailure.Timeout ? "timeout" : "closed";

    /// <summary>One request/response on a connection: the body reader and what may be done after.</summary>
    internal sealed class Exchange
    {
        private readonly UpstreamHttpConnection _conn;
        private readonly TimeSpan _timeout;
        private readonly UpstreamKeepalive _pools;
        private readonly string _poolName;
        private readonly bool _serverKeepsAlive;
        private readonly long? _contentLength;
        private readonly bool _noBody;
        private int _state; // 0 reading, 1 ended (next call: dead), 2 dead
        private bool _bodyComplete;
        private bool _broken;
        private int _released;

        public Exchange(UpstreamHttpConnection conn, UpstreamResponseHead head, bool headRequest, TimeSpan timeout,
            UpstreamKeepalive pools, string poolName)
        {
            _conn = conn;
            _timeout = timeout;
            _pools = pools;
            _poolName = poolName;
            Status = head.Status;
            // res.headers: names case-insensitive, a repeated header's values joined
            var headers = new Dictionary<string, string>(head.Headers.Count, StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in head.Headers)
                headers[name] = headers.TryGetValue(name, out var old) ? old + ", " + value : value;
            Headers = headers;

            // resty.http: HTTP/1.1 keeps the connection unless told "close"; HTTP/1.0 only when told "keep-alive"
            var connection = headers.TryGetValue("Connection", out var c) ? c : null;
            _serverKeepsAlive = !conn.Http10
                ? connection == null || !connection.Contains("close", StringComparison.OrdinalIgnoreCase)
                : connection != null && connection.Contains("keep-alive", StringComparison.OrdinalIgnoreCase);
            conn.KeepAlive = _serverKeepsAlive && Status != 101;

            _noBody = headRequest || Status is 204 or 304 || Status is >= 100 and < 200;
            // receive(content_length) unless chunked (HTTP/1.1 only), which wins over a length
            var chunked = !conn.Http10 && headers.TryGetValue("Transfer-Encoding", out var te)
                                       && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            if (!chunked && headers.TryGetValue("Content-Length", out var cl) && long.TryParse(cl, out var len)) _contentLength = len;
        }

        public int Status { get; }
        public IReadOnlyDictionary<string, string> Headers { get; }

        /// <summary>
        /// resty.http's body_reader without a chunk size: a Content-Length body in one piece, a
        /// chunked body one server chunk per call (however TCP split or merged them), a body that
        /// runs until close each piece as it arrives; then nil once, then the dead-coroutine error.
        /// </summary>
        public async ValueTask<(string? Chunk, string? Error)> ReadChunkAsync()
        {
            switch (_state)
            {
                case 1:
                    _state = 2;
                    return (null, null);
                case 2:
                    return (null, "can't resume a dead coroutine");
            }
            if (_noBody)
            {
                _bodyComplete = true;
                _state = 2;
                return (null, null);
            }
            try
            {
                if (_contentLength is { } total)
                {
                    // the whole declared body at once, as receive(content_length) does
                    var (whole, err) = await ReadWholeAsync(total, untilDone: true);
                    if (whole == null) return Fail(err!);
                    _bodyComplete = true;
                    _state = 1;
                    return (whole, null);
                }
                var (piece, f) = await _conn.ReadBodyPieceAsync(_timeout);
                if (f != UpstreamFailure.None) return Fail(FailureText(f));
                if (piece.Length == 0)
                {
                    _bodyComplete = true;
                    _state = 2;
                    return (null, null);
                }
                if (!_conn.InChunk) return (ByteString.FromBytes(piece.Span), null);
                // the rest of this chunk is still on its way: hand out the chunk whole
                var (rest, restErr) = await ReadWholeAsync(0, untilDone: false, piece);
                return rest == null ? Fail(restErr!) : (rest, null);
            }
            catch (Exception e) when (e is ObjectDisposedException or IOException or InvalidOperationException)
            {
                // closed under the read (the client went away)
                return Fail("closed");
            }
        }

        // Pieces joined until the body ends (untilDone) or the current chunk does, after `first`.
        private async ValueTask<(string? Text, string? Error)> ReadWholeAsync(long expected, bool untilDone, ReadOnlyMemory<byte> first = default)
        {
            byte[]? joined = null;
            var count = 0;
            void Append(ReadOnlySpan<byte> data)
            {
                if (joined == null || count + data.Length > joined.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Max(Math.Max(Math.Min(expected, 1 << 20), count + data.Length), (joined?.Length ?? 0) * 2L));
                    if (joined != null)
                    {
                        Buffer.BlockCopy(joined, 0, grown, 0, count);
                        ArrayPool<byte>.Shared.Return(joined);
                    }
                    joined = grown;
                }
                data.CopyTo(joined.AsSpan(count));
                count += data.Length;
            }

            try
            {
                if (!first.IsEmpty) Append(first.Span);
                while (untilDone ? !_conn.BodyDone : _conn.InChunk)
                {
                    var (piece, f) = await _conn.ReadBodyPieceAsync(_timeout);
                    if (f != UpstreamFailure.None) return (null, FailureText(f));
                    if (piece.Length == 0) break;
                    // a body that came in one read needs no joining
                    if (joined == null && (untilDone ? _conn.BodyDone : !_conn.InChunk)) return (ByteString.FromBytes(piece.Span), null);
                    Append(piece.Span);
                }
                return (joined == null ? "" : ByteString.FromBytes(joined.AsSpan(0, count)), null);
            }
            finally
            {
                if (joined != null) ArrayPool<byte>.Shared.Return(joined);
            }
        }

        private (string?, string?) Fail(string err)
        {
            _broken = true;
            _state = 2;
            return (null, err);
        }

        /// <summary><c>res:read_body()</c>: the reader's chunks joined, or the first error.</summary>
        public async ValueTask<(string? Body, string? Error)> ReadAllAsync()
        {
            // a body that came in one piece (a Content-Length body always does) is that piece
            string? first = null;
            StringBuilder? sb = null;
            while (true)
            {
                var (chunk, err) = await ReadChunkAsync();
                if (err != null) return (null, err);
                if (chunk == null) return (sb?.ToString() ?? first ?? "", null);
                if (first == null) first = chunk;
                else (sb ??= new StringBuilder(first)).Append(chunk);
            }
        }

        /// <summary>Close the connection; from any thread (a read in progress ends with "closed").</summary>
        public void Close()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            _ = _conn.DisposeAsync();
        }

        public string? SetKeepalive(int timeoutMs, int poolSize)
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return "closed";
            if (!_serverKeepsAlive || !_bodyComplete || _broken)
            {
                // resty.http closes what the server will not keep (and reports no failure);
                // a connection with unread or broken body bytes cannot be reused either
                _ = _conn.DisposeAsync();
                return null;
            }
            var saving = _pools.SaveOrCloseAsync(
                new UpstreamKeepalive.Target(_poolName, poolSize, TimeSpan.FromMilliseconds(timeoutMs), int.MaxValue), _conn);
            if (!saving.IsCompletedSuccessfully) _ = saving.AsTask();
            return null;
        }
    }

    /// <summary>
    /// A connected stream whose disposal also ends reads and writes in progress: closing a
    /// response (the client went away) disposes its connection, and not every stream (the
    /// in-memory loopback's included) wakes a pending read when disposed.
    /// </summary>
    private sealed class AbortableStream(Stream inner) : Stream
    {
        private readonly CancellationTokenSource _disposed = new();

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (!ct.CanBeCanceled)
            {
                try { return await inner.ReadAsync(buffer, _disposed.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (_disposed.IsCancellationRequested) { throw new IOException("closed"); }
            }
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _disposed.Token);
            try { return await inner.ReadAsync(buffer, linked.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (_disposed.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new IOException("closed");
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            if (!ct.CanBeCanceled)
            {
                try { await inner.WriteAsync(buffer, _disposed.Token).ConfigureAwait(false); return; }
                catch (OperationCanceledException) when (_disposed.IsCancellationRequested) { throw new IOException("closed"); }
            }
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _disposed.Token);
            try { await inner.WriteAsync(buffer, linked.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (_disposed.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new IOException("closed");
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed.IsCancellationRequested)
            {
                _disposed.Cancel();
                inner.Dispose();
            }
            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync()
        {
            Dispose(true);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// The request as resty.http writes it (request line, the given headers, then Host,
    /// Content-Length and User-Agent unless given, then the body) in a pooled buffer, or its
    /// validation error.
    /// </summary>
    private static (byte[]? Buffer, int Length, string? Error) BuildRequest(AiHttpParams p, string body, Target target, string userAgent)
    {
        var path = p.Path ?? "/";
        if (!ValidPath(path, allowQuestion: false)) return (null, 0, "invalid characters found in path");
        // api7-lua-resty-http puts "?" before an encoded query table even when it is empty
        string query;
        try { query = p.Query.Count == 0 ? "?" : "?" + NgxEncodeArgs.Encode(p.Query); }
        catch (InvalidOperationException e) { return (null, 0, e.Message); }
        if (!ValidPath(query, allowQuestion: true)) return (null, 0, "invalid characters found in query");

        var hasHost = false;
        var hasUa = false;
        var hasLength = false;
        var chunked = false;
        foreach (var (name, value) in p.Headers)
        {
            if (!ValidHeaderName(name)) return (null, 0, "invalid characters found in header key");
            if (!ValidHeaderValue(value)) return (null, 0, "invalid characters found in header value");
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase)) hasHost = true;
            else if (name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase)) hasUa = true;
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) hasLength = true;
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                     && value.Contains("chunked", StringComparison.OrdinalIgnoreCase)) chunked = true;
        }

        var w = new RequestWriter(512 + body.Length);
        w.Write(p.Method.ToUpperInvariant());
        w.Write(path.StartsWith('/') ? " " : " /");
        w.Write(path);
        w.Write(query);
        w.Write(" HTTP/1.1\r\n");
        foreach (var (name, value) in p.Headers)
        {
            // a chunked request drops its Content-Length (resty.http, against request smuggling)
            if (chunked && name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            w.Header(name, value);
        }
        if (!hasHost)
        {
            var defaultPort = target.Ssl ? 443 : 80;
            w.Header("Host", p.Port is { } port && port != defaultPort ? target.Addr : p.Host ?? "");
        }
        if (!chunked && !hasLength) w.Header("Content-Length", RequestWriter.ByteCount(body).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!hasUa) w.Header("User-Agent", userAgent);
        w.Write("\r\n");
        w.Write(body);
        return (w.Buffer, w.Length, null);
    }

    /// <summary>Request bytes in a buffer from the shared pool (the caller returns it); text as byte strings.</summary>
    private struct RequestWriter(int capacity)
    {
        public byte[] Buffer = ArrayPool<byte>.Shared.Rent(capacity);
        public int Length;

        /// <summary>A Lua string's length: its chars as bytes, or its UTF-8 when it has wider chars.</summary>
        public static int ByteCount(string s) => ByteString.IsByteString(s) ? s.Length : Encoding.UTF8.GetByteCount(s);

        public void Write(string s)
        {
            var latin = ByteString.IsByteString(s);
            var n = latin ? s.Length : Encoding.UTF8.GetByteCount(s);
            if (Length + n > Buffer.Length)
            {
                var grown = ArrayPool<byte>.Shared.Rent(Math.Max(Length + n, Buffer.Length * 2));
                System.Buffer.BlockCopy(Buffer, 0, grown, 0, Length);
                ArrayPool<byte>.Shared.Return(Buffer);
                Buffer = grown;
            }
            Length += latin ? Encoding.Latin1.GetBytes(s, Buffer.AsSpan(Length)) : Encoding.UTF8.GetBytes(s, Buffer.AsSpan(Length));
        }

        public void Header(string name, string value)
        {
            Write(name);
            Write(": ");
            Write(value);
            Write("\r\n");
        }
    }

    // resty.http's allowed path bytes (query adds "?"): printable ASCII but space, '#', '<', '>',
    // '?', '`'... per its table; bytes 0x7F and above pass.
    private static bool ValidPath(string s, bool allowQuestion)
    {
        foreach (var c in s)
        {
            var ok = c == 0x21 || (c >= 0x24 && c <= 0x3B) || c == 0x3D || (c >= 0x40 && c <= 0x5F)
                     || (c >= 0x61 && c <= 0x7A) || c == 0x7C || c == 0x7E || c == 0x22 || c == 0x7B || c == 0x7D
                     || c >= 0x7F || (allowQuestion && c == 0x3F);
            if (!ok) return false;
        }
        return true;
    }

    private static bool ValidHeaderName(string name)
    {
        if (name.Length == 0) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c))) return false;
        return true;
    }

    private static bool ValidHeaderValue(string value)
    {
        foreach (var c in value)
            if ((c < 32 && c != '\t') || c == 127) return false;
        return true;
    }

}
