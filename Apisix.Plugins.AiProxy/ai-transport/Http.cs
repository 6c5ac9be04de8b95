using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
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
    internal Http.Exchange? Exchange { get; init; }

    /// <summary>
    /// <c>res.body_reader()</c>: the next chunk as it arrives (a byte string); null once the body
    /// has ended, then <c>"can't resume a dead coroutine"</c> as resty.http's reader says; or the error.
    /// </summary>
    public ValueTask<(string? Chunk, string? Error)> BodyReaderAsync() => ReadChunk();

    /// <summary><c>res:read_body()</c>: the rest of the body, or null and the error.</summary>
    public ValueTask<(string? Body, string? Error)> ReadBodyAsync() => ReadAll();

    /// <summary><c>res._httpc:close()</c> and <c>res._httpc = nil</c>.</summary>
    public void Close()
    {
        if (!HasClient) return;
        HasClient = false;
        OnClose();
    }
}

/// <summary>
/// Port of <c>apisix/plugins/ai-transport/http.lua</c>: sending the request to the LLM service,
/// with lua-resty-http (api7-lua-resty-http, the fork APISIX ships) rebuilt on .NET's HttpClient
/// stack.
/// <para>
/// One resty.http client is one TCP connection that the caller connects, uses, then closes or
/// gives back to a keepalive pool. To keep that model each connection gets its own
/// <see cref="SocketsHttpHandler"/> (a handler's own pool would hide which connection a response
/// came on, so "close this one" and "keep this one" could not be honoured). Idle connections wait
/// in a pool per nginx worker, as cosocket pools are per worker, keyed like resty.http's pools.
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
    public static string UserAgent(Nginx nginx) => nginx.Conf.Runtime.RestyHttpUserAgent();

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
    public static Dictionary<string, string> ConstructForwardHeaders(JsonObject? extHeaders, ApiCtx ctx) =>
        ConstructForwardHeaders(extHeaders, CoreRequest.Headers(ctx));

    /// <summary>The same, from the client's headers as given (the Lua face passes them).</summary>
    public static Dictionary<string, string> ConstructForwardHeaders(JsonObject? extHeaders, IEnumerable<KeyValuePair<string, string>> clientHeaders)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in clientHeaders) headers[k.ToLowerInvariant()] = v;
        if (extHeaders != null)
            foreach (var (k, v) in extHeaders)
                if (HeaderText(v) is { } text) headers[k.ToLowerInvariant()] = text;
        headers["content-type"] = "application/json";
        headers.Remove("host");
        headers.Remove("content-length");
        headers.Remove("accept-encoding");
        return headers;
    }

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
        var upstreamAddr = (p.Host ?? "") + ":" + (p.Port?.ToString() ?? "");
        var upstreamHost = p.Host ?? "";
        var upstreamScheme = p.Scheme ?? "http";
        var t0 = Now();
        AiHttpErrorMeta Meta(double? connectTime) => new(upstreamAddr, upstreamHost, upstreamScheme, p.Path, connectTime, t0);

        // connect: a pooled connection when there is one, else a new one
        var ssl = string.Equals(p.Scheme, "https", StringComparison.OrdinalIgnoreCase);
        var host = p.Host ?? "";
        var port = p.Port ?? (ssl ? 443 : 80);
        var target = new Target(host, port, ssl, p.SslServerName ?? host, p.SslVerify ?? true);
        var pool = Pools.GetValue(nginx, _ => new ConnectionPool());
        var poolKey = target.PoolKey(ctx.Request.Worker?.Id ?? 0);
        var conn = pool.Take(poolKey);
        if (conn == null)
        {
            if (p.Host == null) return (null, "connect: missing host", Meta(null));
            var (stream, err) = await OpenAsync(nginx, target, timeout);
            if (stream == null) return (null, "connect: " + err, Meta(null));
            conn = new Connection(nginx, target, poolKey, stream);
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
                conn.Dispose();
                return (null, "encode body: " + (err ?? "unknown"), Meta(connectTime));
            }
            reqJson = encoded;
        }
        p.Body = reqJson;

        var (exchange, reqErr) = await conn.SendAsync(p, reqJson, timeout);
        if (exchange == null)
        {
            conn.Dispose();
            return (null, "request: " + reqErr, Meta(connectTime));
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
            ReadChunk = exchange.ReadChunkAsync,
            ReadAll = exchange.ReadAllAsync,
            OnClose = exchange.Close,
            Exchange = exchange,
        };
        return (res, null, null);
    }

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

    /// <summary>Idle connections pooled for an nginx (they go with it).</summary>
    public static int PooledConnections(Nginx nginx) => Pools.TryGetValue(nginx, out var p) ? p.Count : 0;

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

    private static readonly ConditionalWeakTable<Nginx, ConnectionPool> Pools = new();

    internal sealed record Target(string Host, int Port, bool Ssl, string ServerName, bool Verify)
    {
        public string PoolKey(int worker) =>
            $"{worker}|{Host}:{Port}" + (Ssl ? $":{ServerName}:{Verify}" : "");
    }

    /// <summary>Open a TCP connection (and TLS for https) through the nginx's connect seam.</summary>
    private static async Task<(Stream? Stream, string? Error)> OpenAsync(Nginx nginx, Target t, int timeoutMs, CancellationToken outer = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        cts.CancelAfter(timeoutMs);
        Stream stream;
        try { stream = new AbortableStream(await nginx.TcpConnectAsync(t.Host, t.Port, cts.Token)); }
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

    /// <summary>Idle connections per pool key, newest first (as cosocket pools reuse them).</summary>
    internal sealed class ConnectionPool
    {
        private readonly object _lock = new();
        private readonly Dictionary<string, LinkedList<Connection>> _idle = new(StringComparer.Ordinal);

        public int Count
        {
            get { lock (_lock) return _idle.Values.Sum(l => l.Count); }
        }

        public Connection? Take(string key)
        {
            lock (_lock)
            {
                if (!_idle.TryGetValue(key, out var list) || list.First == null) return null;
                var c = list.First.Value;
                list.RemoveFirst();
                c.IdleGeneration++;
                return c;
            }
        }

        public void Put(Connection c, int timeoutMs, int size)
        {
            Connection? evicted = null;
            int generation;
            lock (_lock)
            {
                if (!_idle.TryGetValue(c.PoolKey, out var list)) _idle[c.PoolKey] = list = new LinkedList<Connection>();
                list.AddFirst(c);
                generation = ++c.IdleGeneration;
                if (list.Count > size)
                {
                    evicted = list.Last!.Value;
                    list.RemoveLast();
                    evicted.IdleGeneration++;
                }
            }
            evicted?.Dispose();
            c.ArmIdleTimer(this, generation, timeoutMs);
        }

        // The connection's idle timer fired: close it unless it was taken (or evicted) since.
        internal void Expire(Connection c, int generation)
        {
            lock (_lock)
            {
                if (c.IdleGeneration != generation || !_idle.TryGetValue(c.PoolKey, out var list) || !list.Remove(c)) return;
                c.IdleGeneration++;
            }
            c.Dispose();
        }
    }

    /// <summary>One upstream connection: its own handler, fed the stream we connected.</summary>
    internal sealed class Connection : IDisposable
    {
        private readonly Nginx _nginx;
        private readonly Target _target;
        private readonly HttpMessageInvoker _invoker;
        private Stream? _connected;
        private int _timeoutMs = DefaultTimeoutMs;
        // what the handler reads goes through this, so chunk boundaries can be recovered
        private ChunkFramingStream? _framing;
        private bool _head;

        public Connection(Nginx nginx, Target target, string poolKey, Stream connected)
        {
            _nginx = nginx;
            _target = target;
            PoolKey = poolKey;
            _connected = connected;
            var handler = new SocketsHttpHandler
            {
                AutomaticDecompression = DecompressionMethods.None,
                AllowAutoRedirect = false,
                UseCookies = false,
                UseProxy = false,
                // no traceparent/Request-Id headers: resty.http sends none
                ActivityHeadersPropagator = null,
                MaxConnectionsPerServer = 1,
                // the pool above decides how long an idle connection lives
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                // a response left unread closes its connection instead of being drained
                MaxResponseDrainSize = 0,
                RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1,
                ResponseHeaderEncodingSelector = (_, _) => Encoding.Latin1,
                ConnectCallback = ConnectAsync,
            };
            _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
        }

        public string PoolKey { get; }
        public int IdleGeneration { get; set; }

        // Buffers and a timeout source the exchanges on this connection reuse (they run one at a
        // time; a connection that is closed is never used again).
        private byte[]? _pendingBuffer;
        private byte[]? _readBuffer;
        private CancellationTokenSource? _spareTimeout;

        /// <summary>16 KB for the decoded bytes of a chunked body read ahead of the chunk handed out.</summary>
        internal byte[] PendingBuffer => _pendingBuffer ??= new byte[16384];
        /// <summary>64 KB for each read of a body that runs until close.</summary>
        internal byte[] ReadBuffer => _readBuffer ??= new byte[65536];

        /// <summary>A token source that cancels after <paramref name="timeoutMs"/>; give it back with <see cref="ReturnTimeout"/>.</summary>
        internal CancellationTokenSource RentTimeout(int timeoutMs)
        {
            var cts = Interlocked.Exchange(ref _spareTimeout, null) ?? new CancellationTokenSource();
            cts.CancelAfter(timeoutMs);
            return cts;
        }

        internal void ReturnTimeout(CancellationTokenSource cts)
        {
            // a source that fired stays cancelled: it is dropped
            if (!cts.TryReset() || Interlocked.CompareExchange(ref _spareTimeout, cts, null) != null) cts.Dispose();
        }

        // The keepalive timeout: one timer per connection, re-armed each time it goes back to the
        // pool (a timer per return would leave one pending for each request served).
        private Timer? _idleTimer;
        private ConnectionPool? _idlePool;
        private int _idleGeneration;
        private long _idleDeadline;

        internal void ArmIdleTimer(ConnectionPool pool, int generation, int timeoutMs)
        {
            lock (this)
            {
                _idlePool = pool;
                _idleGeneration = generation;
                _idleDeadline = Environment.TickCount64 + timeoutMs;
                if (_idleTimer == null) _idleTimer = new Timer(static s => ((Connection)s!).IdleTimerFired(), this, timeoutMs, Timeout.Infinite);
                else _idleTimer.Change(timeoutMs, Timeout.Infinite);
            }
        }

        private void IdleTimerFired()
        {
            ConnectionPool? pool;
            int generation;
            lock (this)
            {
                // a firing of an earlier arming that raced with a re-arm: wait for the current deadline
                var left = _idleDeadline - Environment.TickCount64;
                if (left > 0)
                {
                    _idleTimer?.Change(left, Timeout.Infinite);
                    return;
                }
                pool = _idlePool;
                generation = _idleGeneration;
            }
            pool?.Expire(this, generation);
        }

        // The first connect hands over the stream connected in RequestAsync; a later one means the
        // handler found the pooled connection dead (peer closed it), so a new one is opened.
        private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
        {
            var s = Interlocked.Exchange(ref _connected, null);
            if (s == null)
            {
                var (stream, err) = await OpenAsync(_nginx, _target, _timeoutMs, ct);
                s = stream ?? throw new IOException(err);
            }
            // a new connection starts a new byte stream to follow
            _framing = new ChunkFramingStream(s, () => _head);
            return _framing;
        }

        public async Task<(Exchange? Exchange, string? Error)> SendAsync(AiHttpParams p, string body, int timeoutMs)
        {
            _timeoutMs = timeoutMs;
            _head = string.Equals(p.Method, "HEAD", StringComparison.OrdinalIgnoreCase);
            var (request, err) = BuildRequest(p, body, _target, UserAgent(_nginx));
            if (request == null) return (null, err);
            var cts = RentTimeout(timeoutMs);
            try
            {
                var response = await _invoker.SendAsync(request, cts.Token);
                return (new Exchange(this, p.Method, response, timeoutMs, _framing?.TakeLatest()), null);
            }
            catch (OperationCanceledException) { return (null, "timeout"); }
            catch (HttpRequestException e) { return (null, Describe(e)); }
            catch (IOException e) { return (null, Describe(e)); }
            finally { ReturnTimeout(cts); }
        }

        public void Return(int keepaliveTimeoutMs, int poolSize) =>
            Pools.GetValue(_nginx, _ => new ConnectionPool()).Put(this, keepaliveTimeoutMs, poolSize);

        public void Dispose()
        {
            Interlocked.Exchange(ref _connected, null)?.Dispose();
            _invoker.Dispose();
            lock (this)
            {
                _idleTimer?.Dispose();
                _idleTimer = null;
                _idlePool = null;
            }
            Interlocked.Exchange(ref _spareTimeout, null)?.Dispose();
        }
    }

    /// <summary>One request/response on a connection: the body reader and what may be done after.</summary>
    internal sealed class Exchange
    {
        private readonly Connection _conn;
        private readonly HttpResponseMessage _response;
        private readonly int _timeoutMs;
        private readonly bool _serverKeepsAlive;
        private readonly long? _contentLength;
        private readonly bool _noBody;
        private Stream? _stream;
        // chunked bodies: where the server's chunks began and ended, and decoded bytes read ahead of the chunk handed out
        private readonly ResponseFrame? _frame;
        private byte[]? _pending;
        private int _pendingStart;
        private int _pendingEnd;
        private int _state; // 0 reading, 1 ended (next call: dead), 2 dead
        private bool _bodyComplete;
        private bool _broken;
        private bool _released;

        public Exchange(Connection conn, string method, HttpResponseMessage response, int timeoutMs, ResponseFrame? frame)
        {
            _conn = conn;
            _response = response;
            _timeoutMs = timeoutMs;
            Status = (int)response.StatusCode;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            void Add(HttpHeadersNonValidated? hs)
            {
                if (hs is not { } h) return;
                foreach (var (name, values) in h)
                {
                    var v = values.Count == 1 ? values.ToString() : string.Join(", ", values);
                    headers[name] = headers.TryGetValue(name, out var old) ? old + ", " + v : v;
                }
            }
            Add(response.Headers.NonValidated);
            Add(response.Content?.Headers.NonValidated);
            Headers = headers;

            // resty.http: HTTP/1.1 keeps the connection unless told "close"; HTTP/1.0 only when told "keep-alive"
            var connection = headers.TryGetValue("Connection", out var c) ? c.ToLowerInvariant() : null;
            _serverKeepsAlive = response.Version >= HttpVersion.Version11
                ? connection == null || !connection.Contains("close", StringComparison.Ordinal)
                : connection != null && connection.Contains("keep-alive", StringComparison.Ordinal);

            _noBody = string.Equals(method, "HEAD", StringComparison.OrdinalIgnoreCase)
                      || Status is 204 or 304 || Status is >= 100 and < 200;
            var chunked = response.Headers.TransferEncodingChunked == true;
            if (!chunked && headers.TryGetValue("Content-Length", out var cl) && long.TryParse(cl, out var len)) _contentLength = len;
            if (chunked && frame is { Chunked: true } && frame.Status == Status) _frame = frame;
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
                _stream ??= await _response.Content.ReadAsStreamAsync();
                if (_contentLength is { } total)
                {
                    // the whole declared body at once, as receive(content_length) does
                    var bytes = total <= _conn.ReadBuffer.Length ? _conn.ReadBuffer : new byte[total];
                    var got = 0;
                    while (got < total)
                    {
                        var n = await ReadAsync(bytes.AsMemory(got, (int)(total - got)));
                        if (n == 0) return Fail("closed");
                        got += n;
                    }
                    _bodyComplete = true;
                    _state = 1;
                    return (ByteString.FromBytes(bytes.AsSpan(0, (int)total)), null);
                }
                if (_frame != null) return await ReadFramedChunkAsync(_frame);
                var buffer = _conn.ReadBuffer;
                var read = await ReadAsync(buffer);
                if (read == 0)
                {
                    _bodyComplete = true;
                    _state = 2;
                    return (null, null);
                }
                return (ByteString.FromBytes(buffer.AsSpan(0, read)), null);
            }
            catch (OperationCanceledException) { return Fail("timeout"); }
            catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException)
            {
                return Fail("closed");
            }
        }

        // The next chunk of a chunked body: its size was noted when its size line went past the
        // handler (always before its data reaches us), so read exactly that many decoded bytes.
        private async ValueTask<(string?, string?)> ReadFramedChunkAsync(ResponseFrame frame)
        {
            int size;
            while (!frame.TryTakeChunkSize(out size))
            {
                // bytes with no size noted for them: the framing could not be followed, hand them out as they are
                if (_pendingEnd > _pendingStart) return (TakePending(_pendingEnd - _pendingStart), null);
                if (await FillAsync() == 0)
                {
                    _bodyComplete = true;
                    _state = 2;
                    return (null, null);
                }
            }
            while (_pendingEnd - _pendingStart < size)
                if (await FillAsync() == 0) return Fail("closed");
            return (TakePending(size), null);
        }

        // Read more decoded body bytes after those already pending (room is made by moving or growing).
        private async ValueTask<int> FillAsync()
        {
            if (_pendingStart == _pendingEnd) _pendingStart = _pendingEnd = 0;
            _pending ??= _conn.PendingBuffer;
            if (_pendingEnd == _pending.Length)
            {
                var count = _pendingEnd - _pendingStart;
                var into = _pendingStart > 0 ? _pending : new byte[Math.Max(16384, _pending.Length * 2)];
                Buffer.BlockCopy(_pending, _pendingStart, into, 0, count);
                _pending = into;
                _pendingStart = 0;
                _pendingEnd = count;
            }
            var n = await ReadAsync(_pending.AsMemory(_pendingEnd));
            _pendingEnd += n;
            return n;
        }

        private string TakePending(int count)
        {
            var s = ByteString.FromBytes(_pending!.AsSpan(_pendingStart, count));
            _pendingStart += count;
            return s;
        }

        private (string?, string?) Fail(string err)
        {
            _broken = true;
            _state = 2;
            return (null, err);
        }

        // each read gets the whole timeout, as cosocket reads do
        private async ValueTask<int> ReadAsync(Memory<byte> into)
        {
            var cts = _conn.RentTimeout(_timeoutMs);
            try { return await _stream!.ReadAsync(into, cts.Token); }
            finally { _conn.ReturnTimeout(cts); }
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

        public void Close()
        {
            if (_released) return;
            _released = true;
            _response.Dispose();
            _conn.Dispose();
        }

        public string? SetKeepalive(int timeoutMs, int poolSize)
        {
            if (_released) return "closed";
            _released = true;
            if (!_serverKeepsAlive || !_bodyComplete || _broken)
            {
                // resty.http closes what the server will not keep (and reports no failure);
                // a connection with unread or broken body bytes cannot be reused either
                _response.Dispose();
                _conn.Dispose();
                return null;
            }
            _response.Dispose();
            _conn.Return(timeoutMs, poolSize);
            return null;
        }
    }

    /// <summary>
    /// The connected stream as the handler sees it: disposing it also ends reads and writes in
    /// progress. HttpClient cancels a request by disposing the connection, and not every stream
    /// (the in-memory loopback's included) wakes a pending read when disposed.
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

    /// <summary>A request as resty.http writes it, or its validation error.</summary>
    private static (HttpRequestMessage? Request, string? Error) BuildRequest(AiHttpParams p, string body, Target target, string userAgent)
    {
        var path = p.Path ?? "/";
        if (!ValidPath(path, allowQuestion: false)) return (null, "invalid characters found in path");
        // api7-lua-resty-http puts "?" before an encoded query table even when it is empty
        string query;
        try { query = "?" + NgxEncodeArgs.Encode(p.Query); }
        catch (InvalidOperationException e) { return (null, e.Message); }
        if (!ValidPath(query, allowQuestion: true)) return (null, "invalid characters found in query");

        var hasHost = false;
        var hasUa = false;
        string? contentLength = null;
        var chunked = false;
        foreach (var (name, value) in p.Headers)
        {
            if (!ValidHeaderName(name)) return (null, "invalid characters found in header key");
            if (!ValidHeaderValue(value)) return (null, "invalid characters found in header value");
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase)) hasHost = true;
            else if (name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase)) hasUa = true;
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) contentLength = value;
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                     && value.Contains("chunked", StringComparison.OrdinalIgnoreCase)) chunked = true;
        }

        // the authority is never used for routing (the connection is already made); Host is set below
        var pathAndQuery = (path.StartsWith('/') ? path : "/" + path) + query;
        var uri = new Uri("http://upstream" + pathAndQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        var request = new HttpRequestMessage(HttpMethod.Parse(p.Method.ToUpperInvariant()), uri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var content = new ByteArrayContent(ByteString.ToBytes(body));
        request.Content = content;

        foreach (var (name, value) in p.Headers)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) continue;
            if (!request.Headers.TryAddWithoutValidation(name, value))
                content.Headers.TryAddWithoutValidation(name, value);
        }
        if (chunked) request.Headers.TransferEncodingChunked = true;
        else if (contentLength != null && long.TryParse(contentLength, out var declared)) content.Headers.ContentLength = declared;
        // else ByteArrayContent declares the body's length, as resty.http does for a string body

        if (!hasHost)
        {
            var defaultPort = target.Ssl ? 443 : 80;
            request.Headers.TryAddWithoutValidation("Host", p.Port is { } port && port != defaultPort ? $"{p.Host}:{port}" : p.Host ?? "");
        }
        if (!hasUa) request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        return (request, null);
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

    /// <summary>An HttpClient failure in cosocket words.</summary>
    private static string Describe(Exception e)
    {
        for (var x = e; x != null; x = x.InnerException)
        {
            if (x is OperationCanceledException or TimeoutException) return "timeout";
            if (x is SocketException se) return SocketErrorText(se, "");
        }
        if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } && e.InnerException is IOException io)
            return io.Message;
        return "closed";
    }
}
