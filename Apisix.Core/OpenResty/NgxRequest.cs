using System.Text;
using Apisix.Core.OpenResty.Conf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Apisix.Core.OpenResty;

/// <summary>
/// One request inside an emulated nginx worker: what `ngx.req`, `ngx.var`, `ngx.header`,
/// `ngx.status` and `ngx.say` act on. Strings are byte strings (one char per byte).
/// Output is buffered and reaches the client when flushed or when the request ends, the
/// headers going out with the first byte of body, as nginx does.
/// </summary>
public sealed class NgxRequest
{
    private static long _nextId;
    // Each print is its own piece: nginx's chunked filter makes one chunk per output call.
    private readonly List<string> _pending = new();

    public NgxRequest(HttpContext http, ServerConf server, LocationConf location, long connection)
        : this(http, server, location, connection, http.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items)
    {
    }

    /// <param name="connectionItems">The connection's items (Kestrel's IConnectionItemsFeature), when the caller has them already.</param>
    public NgxRequest(HttpContext http, ServerConf server, LocationConf location, long connection, IDictionary<object, object?>? connectionItems)
    {
        Http = http;
        Server = server;
        Location = location;
        Connection = connection;
        Id = Interlocked.Increment(ref _nextId);
        Method = http.Request.Method;
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (http.Request.Path + http.Request.QueryString);
        RequestUri = target;
        var q = target.IndexOf('?');
        Uri = Unescape(q < 0 ? target : target[..q]);
        Args = q < 0 ? null : target[(q + 1)..];
        Protocol = http.Request.Protocol;
        StartTime = DateTimeOffset.UtcNow;
        // headers in the order and case the client sent them when the connection recorded them
        // (Kestrel's dictionary reorders known headers); else as Kestrel parsed them
        if (connectionItems?.TryGetValue(Net.RequestHeadLog.ItemKey, out var log) == true
            && log is Net.RequestHeadLog heads && heads.TakeHead(Method, target) is { } sent)
        {
            RequestHeaders = new(sent.Headers.Count + 4);
            RequestHeaders.AddRange(sent.Headers);
            RawHead = sent.Raw;
        }
        else
        {
            // room for the X-Forwarded-* lines the proxy adds
            RequestHeaders = new(http.Request.Headers.Count + 4);
            foreach (var h in http.Request.Headers)
                foreach (var v in h.Value)
                    RequestHeaders.Add((h.Key, v ?? "")); // Kestrel decodes header bytes as Latin-1: chars are bytes
        }
    }

    public long Id { get; }

    /// <summary>A Lua thread ran for this request (its <c>ngx.ctx</c> may exist): see <see cref="LuaWorker.FreeRequest(NgxRequest)"/>.</summary>
    internal bool LuaEntered { get; set; }

    /// <summary>The request head's bytes as the client sent them (ngx.req.raw_header), when recorded.</summary>
    public string? RawHead { get; }

    /// <summary>A subrequest (ngx.location.capture): may enter `internal` locations, has no log phase.</summary>
    public bool IsSubrequest => Parent != null;

    /// <summary>The response body was cut short (an upstream failed mid-body): a capture's <c>truncated</c>.</summary>
    public bool Truncated { get; set; }
    /// <summary>The request that issued this subrequest; null for a main request.</summary>
    public NgxRequest? Parent { get; init; }
    /// <summary>The main request (nginx's r->main).</summary>
    public NgxRequest Main => Parent?.Main ?? this;

    /// <summary>The nginx and worker serving this request (set when it is dispatched).</summary>
    public Nginx Nginx { get; set; } = null!;
    public LuaWorker? Worker { get; set; }

    /// <summary>Write an error-log line in this request's context.</summary>
    public void Log(LogLevel level, string message) => Nginx.Log(Worker, level, message, this);

    /// <summary>The proxied upstream's URL once the proxy module chose it: its log lines name it after the request.</summary>
    public string? LogUpstream { get; set; }

    /// <summary>ngx.req.set_uri(uri, true) ran: the rewrite handler ends and the location is looked up again.</summary>
    public bool UriJump { get; set; }

    /// <summary>A debug-line writer for this request while the error log takes debug lines, else null.</summary>
    public Action<string>? DebugLog => Nginx?.ErrorLog.Enabled(LogLevel.Debug) == true ? _debugLog ??= m => Log(LogLevel.Debug, m) : null;
    private Action<string>? _debugLog;

    /// <summary>lua-nginx-module's free and busy output buffers of this request (for their debug lines).</summary>
    public LuaChainBufs LuaBufs => _luaBufs ??= new LuaChainBufs();
    private LuaChainBufs? _luaBufs;

    /// <summary>For a subrequest: the length of each piece of body its capture took, in order.</summary>
    public List<int>? CapturedPieces { get; private set; }
    public HttpContext Http { get; }
    public ServerConf Server { get; }
    /// <summary>The location serving the request (a rewrite can move it to another).</summary>
    public LocationConf Location { get; set; }
    public long Connection { get; }
    /// <summary><c>$connection_requests</c>: requests the client connection has carried, this one included.</summary>
    public int ConnectionRequests { get; init; } = 1;
    public DateTimeOffset StartTime { get; }

    public string Method { get; set; }
    public string Uri { get; set; }
    public string? Args { get; set; }
    public string RequestUri { get; }
    public string Protocol { get; }
    public List<(string Name, string Value)> RequestHeaders { get; }
    /// <summary>The request body once read (ngx.req.read_body); null before.</summary>
    public string? Body { get; set; }
    public bool BodyRead { get; set; }
    /// <summary>ngx.req.socket() took the body: it can be neither read again nor taken twice.</summary>
    public bool ReqSocketTaken { get; set; }
    /// <summary>ngx.req.socket()'s cosocket over the body, once taken.</summary>
    public Cosocket? BodySocket { get; set; }
    /// <summary>The body is being read (ngx.req.read_body, lua_need_request_body): the connection is read, not watched.</summary>
    public bool BodyReading { get; private set; }
    /// <summary>client_body_timeout passed while reading the body: nginx ends the request with no response (408).</summary>
    public bool BodyTimedOut { get; private set; }

    public int Status { get; set; } = 0;
    // room for an upstream's few headers and the ones the gateway adds (Server...) without growing
    public Dictionary<string, List<string>> ResponseHeaders { get; } = new(8, StringComparer.OrdinalIgnoreCase);
    public bool HeadersSent { get; private set; }
    public bool Finished { get; private set; }
    /// <summary>Set once the client has gone away; writes fail from then on.</summary>
    public bool ClientGone { get; private set; }

    /// <summary>`lua_check_client_abort` where the request is now (location, then server, then http{}).</summary>
    public bool CheckClientAbort => Location.CheckClientAbort ?? Server.CheckClientAbort ?? Nginx?.Conf.CheckClientAbort ?? false;
    /// <summary>ngx.on_abort was called for this request.</summary>
    public bool OnAbortRegistered { get; set; }
    /// <summary>The client's abort was seen by the Lua module (logged, handler started or request ended).</summary>
    public bool AbortHandled { get; set; }
    public long BytesSent { get; private set; }

    /// <summary>nginx's r->upstream_states: the attempts at an upstream (<see cref="Upstream.UpstreamState"/>), null before the first.</summary>
    internal List<Upstream.UpstreamStateEntry>? UpstreamStates { get; set; }

    /// <summary>Variables set with `ngx.var.x = ...` (and by C# phases).</summary>
    // sized for a gateway request (APISIX's `set` variables, the upstream's): no resizing on the way
    public Dictionary<string, string?> Vars { get; init; } = new(40, StringComparer.Ordinal);

    public string? RequestHeader(string name)
    {
        foreach (var (n, v) in RequestHeaders)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    public void SetResponseHeader(string name, string? value)
    {
        if (value == null) ResponseHeaders.Remove(name);
        else ResponseHeaders[name] = new List<string> { value };
    }

    /// <summary>Queue body bytes (ngx.print / ngx.say); false once the request is finished.</summary>
    public bool Append(string bytes)
    {
        if (Finished || ClientGone) return false;
        if (DiscardBody) return true;
        if (bytes.Length > 0) _pending.Add(bytes);
        return true;
    }

    /// <summary>Send headers (if not yet) and any queued body; null on success, else the error.</summary>
    public Task<string?> FlushAsync() => FlushAsync(last: false);

    /// <summary>
    /// <see cref="Append"/> of a body that is already bytes (the proxied upstream's), then
    /// <see cref="FlushAsync()"/>; false once the request is finished or the client went away.
    /// Without a body filter, HTTP/1.0 buffering or a switched connection the bytes go out as
    /// they are, with no byte string in between.
    /// </summary>
    public async Task<bool> AppendFlushAsync(byte[] data)
    {
        if (Finished || ClientGone) return false;
        if (DiscardBody || data.Length == 0 || BodyFilter != null || Http10Buffering || UpgradedStream != null)
            return Append(Encoding.Latin1.GetString(data)) && await FlushAsync() == null;
        return await FlushAsync(last: false, data) == null;
    }

    /// <summary>lua-nginx-module's ctx->eof: ngx.eof() ran (or a HEAD response went out); Lua output then fails with "seen eof".</summary>
    public bool LuaEof { get; set; }

    /// <summary>ctx->seen_body_data: Lua printed some body.</summary>
    public bool SeenBodyData { get; set; }

    /// <summary>
    /// ctx->buffering (lua_http10_buffering): Lua output to an HTTP/1.0 client is held, headers
    /// included, until the response ends, and then goes out with a Content-Length.
    /// </summary>
    public bool Http10Buffering { get; private set; }

    /// <summary>r->header_only: a HEAD request whose header has gone out has no body to send.</summary>
    public bool HeaderOnly => HeadersSent && Method == "HEAD";

    /// <summary>As ngx_http_lua_send_chain_link starts each Lua output: decides whether this response is buffered for HTTP/1.0.</summary>
    public void StartLuaOutput()
    {
        if (!Http10Buffering && !HeadersSent && !IsSubrequest && Protocol == "HTTP/1.0"
            && (Location.Http10Buffering ?? true) && !ResponseHeaders.ContainsKey("Content-Length"))
            Http10Buffering = true;
    }

    /// <summary>
    /// The body filter phase (body_filter_by_lua, plugins' body_filter): each printed piece, then an
    /// empty one with eof, become what is sent instead (empty holds it); eof comes once.
    /// </summary>
    public Func<string, bool, string>? BodyFilter { get; set; }

    /// <summary>
    /// The connection after a 101 answer to an Upgrade request: raw bytes both ways, as nginx
    /// leaves it to `ngx.req.socket(true)` or to the proxy module's tunnel. Null before.
    /// </summary>
    public Stream? UpgradedStream { get; private set; }

    /// <summary>Whether the client asked to switch protocols (Connection: upgrade), so a 101 can be sent.</summary>
    public bool IsUpgradable => Http.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true;

    /// <summary>
    /// Send a 101 head and take the connection over (Kestrel's upgrade): the headers set so far go
    /// with it. Null, or the error when the request cannot switch protocols.
    /// </summary>
    private async Task<string?> UpgradeAsync()
    {
        if (UpgradedStream != null) return null;
        if (Http.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true } upgrade)
            return "the request did not ask to upgrade";
        UpgradedStream = await upgrade.UpgradeAsync();
        return null;
    }

    // tail: body bytes queued after the pending pieces (AppendFlushAsync)
    private async Task<string?> FlushAsync(bool last, byte[]? tail = null)
    {
        if (ClientGone) return "broken pipe";
        if (Http10Buffering && !HeadersSent)
        {
            if (!last) return null; // held until the end
            // ngx_http_lua_send_http10_headers: the length of what was held
            if (!ResponseHeaders.ContainsKey("Content-Length") && Method != "HEAD")
                SetResponseHeader("Content-Length", _pending.Sum(p => (long)p.Length).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        try
        {
            SendHeaders();
            var upgrading = Http.Response.StatusCode == 101 && IsUpgradable || UpgradedStream != null;
            if (tail != null && (DiscardBody || BodyFilter != null || upgrading))
            {
                // the header filter replaced the body (which drops what was queued) or set a body filter
                if (!DiscardBody) _pending.Add(Encoding.Latin1.GetString(tail));
                tail = null;
            }
            if (upgrading)
            {
                // a switched connection carries no HTTP body: what was printed goes out as raw bytes
                var err = await UpgradeAsync();
                if (err != null) return err;
                foreach (var piece in _pending)
                {
                    var raw = Encoding.Latin1.GetBytes(piece);
                    BytesSent += raw.Length;
                    await UpgradedStream!.WriteAsync(raw, Http.RequestAborted);
                }
                _pending.Clear();
                await UpgradedStream!.FlushAsync(Http.RequestAborted);
                return null;
            }
            // taken first: a light thread may print while a write is awaited
            var pieces = _pending.ToArray();
            _pending.Clear();
            if (BodyFilter is { } filter && !_bodyEofSent)
            {
                // as nginx's output chain: each print is its own buffer, the end an empty last one
                var filtered = new List<string>(pieces.Length + 1);
                foreach (var piece in pieces) filtered.Add(filter(piece, false));
                if (last)
                {
                    filtered.Add(filter("", true));
                    _bodyEofSent = true;
                }
                pieces = filtered.Where(p => p.Length > 0).ToArray();
            }
            var body = (Stream?)_gzip ?? Http.Response.Body;
            foreach (var piece in pieces)
            {
                if (piece.Length == 0) continue;
                var data = Encoding.Latin1.GetBytes(piece);
                if (IsSubrequest) (CapturedPieces ??= new()).Add(data.Length);
                BytesSent += data.Length;
                await body.WriteAsync(data, Http.RequestAborted);
            }
            if (_gzip != null)
            {
                // a flush is zlib's sync flush; the end writes the last block and the trailer
                if (last) { await _gzip.DisposeAsync(); _gzip = null; }
                else await _gzip.FlushAsync(Http.RequestAborted);
            }
            if (tail is { Length: > 0 })
            {
                BytesSent += tail.Length;
                await Http.Response.Body.WriteAsync(tail, Http.RequestAborted);
            }
            await Http.Response.Body.FlushAsync(Http.RequestAborted);
            return null;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            ClientGone = true;
            return "broken pipe";
        }
    }

    // the eof call reaches the body filter once
    private bool _bodyEofSent;

    /// <summary>The header filter phase: runs once, just before the headers are frozen.</summary>
    public Action? HeaderFilter { get; set; }

    /// <summary>Freeze status and headers and hand them to the server.</summary>
    public void SendHeaders()
    {
        if (HeadersSent) return;
        var filter = HeaderFilter;
        HeaderFilter = null;
        filter?.Invoke();
        HeadersSent = true;
        // lua-nginx-module's header filter drops Content-Length when a body filter may change the body
        if (BodyFilter != null) ResponseHeaders.Remove("Content-Length");
        var resp = Http.Response;
        resp.StatusCode = ForcedStatus ?? (Status == 0 ? 200 : Status);
        // the status line's reason as nginx words it, where that differs from ASP.NET's ("413 Request Entity Too Large")
        var reason = ReasonPhrases.GetReasonPhrase(resp.StatusCode);
        if (reason != Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(resp.StatusCode)
            && Http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>() is { } feature)
            feature.ReasonPhrase = reason;
        // ngx_http_header_filter (main requests): a 204 goes out without Content-Type, Content-Length and Last-Modified
        var noContent = resp.StatusCode == 204 && !IsSubrequest;
        if (noContent)
            foreach (var h in (string[])["Content-Type", "Content-Length", "Last-Modified"]) ResponseHeaders.Remove(h);
        if (noContent) { }
        else if (!ResponseHeaders.ContainsKey("Content-Type") && resp.StatusCode != 101 && !DiscardBody)
        {
            var type = Location.DefaultType ?? Server.DefaultType ?? "text/plain";
            resp.Headers.ContentType = WithCharset(type);
        }
        else if (ResponseHeaders.TryGetValue("Content-Type", out var types) && types is [var given])
            ResponseHeaders["Content-Type"] = [WithCharset(given)];
        StartGzip(resp.StatusCode, resp.Headers.ContentType.ToString());
        foreach (var (name, values) in ResponseHeaders)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (long.TryParse(values[0], out var len)) resp.ContentLength = len;
                continue;
            }
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) continue;
            // one value (nearly every header) without an array of its own
            resp.Headers[name] = values.Count == 1 ? new Microsoft.Extensions.Primitives.StringValues(values[0]) : values.ToArray();
        }
    }

    // the gzip filter's stream over the response body, once it compresses this response
    private System.IO.Compression.GZipStream? _gzip;

    /// <summary>
    /// nginx's gzip filter (ngx_http_gzip_header_filter and ngx_http_gzip_ok): a main request's 200,
    /// 403 or 404 response with a body, no Content-Encoding, a gzip_types type and no Content-Length
    /// below gzip_min_length, to an HTTP/1.1 client that accepts gzip, is compressed: Content-Encoding
    /// gzip, no Content-Length nor Accept-Ranges, a weak ETag.
    /// </summary>
    private void StartGzip(int status, string defaultType)
    {
        if (Nginx == null || IsSubrequest || UpgradedStream != null) return;
        var (on, types, minLength) = GzipConf.Resolve(Location.Gzip, Server.Gzip, Nginx.Conf.Gzip);
        if (!on || status is not (200 or 403 or 404) || ResponseHeaders.ContainsKey("Content-Encoding") || Method == "HEAD") return;
        if (ResponseHeaders.TryGetValue("Content-Length", out var lens) && long.TryParse(lens[0], out var len) && len < minLength) return;
        var type = ResponseHeaders.TryGetValue("Content-Type", out var given) ? given[0] : defaultType;
        var mime = type.Split(';')[0].Trim();
        if (!types.Contains("*") && !types.Any(t => t.Equals(mime, StringComparison.OrdinalIgnoreCase))) return;
        if (Protocol != "HTTP/1.1" || !AcceptsGzip(RequestHeader("Accept-Encoding"))) return;
        ResponseHeaders["Content-Encoding"] = ["gzip"];
        ResponseHeaders.Remove("Content-Length");
        ResponseHeaders.Remove("Accept-Ranges");
        if (ResponseHeaders.TryGetValue("ETag", out var etag) && etag[0].StartsWith('"')) ResponseHeaders["ETag"] = ["W/" + etag[0]];
        // gzip_comp_level's default is 1, the fastest
        _gzip = new System.IO.Compression.GZipStream(Http.Response.Body, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true);
    }

    /// <summary>ngx_http_gzip_accept_encoding: a "gzip" token whose q is not 0.</summary>
    private static bool AcceptsGzip(string? acceptEncoding)
    {
        if (acceptEncoding == null) return false;
        foreach (var part in acceptEncoding.Split(','))
        {
            var fields = part.Split(';');
            if (!fields[0].Trim().Equals("gzip", StringComparison.OrdinalIgnoreCase)) continue;
            var q = fields.Skip(1).Select(f => f.Trim()).FirstOrDefault(f => f.StartsWith("q=", StringComparison.OrdinalIgnoreCase));
            return q == null || !double.TryParse(q[2..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || v > 0;
        }
        return false;
    }

    private static readonly string[] DefaultCharsetTypes =
        ["text/html", "text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript", "application/rss+xml"];

    /// <summary>nginx's charset filter (main requests): `charset X` appends "; charset=X" to a Content-Type of
    /// `charset_types` that names no charset yet.</summary>
    private string WithCharset(string contentType)
    {
        if (IsSubrequest || Location.Charset is not { } charset || charset == "off") return contentType;
        if (contentType.Contains("charset=", StringComparison.OrdinalIgnoreCase)) return contentType;
        var mime = contentType.Split(';')[0].Trim();
        var types = Location.CharsetTypes ?? [.. DefaultCharsetTypes];
        if (!types.Contains("*") && !types.Any(t => t.Equals(mime, StringComparison.OrdinalIgnoreCase))) return contentType;
        return contentType + "; charset=" + charset;
    }

    /// <summary>End the response: flush what is queued and mark the request finished.</summary>
    public async Task FinishAsync()
    {
        if (Finished) return;
        await FlushAsync(last: true);
        Finished = true;
    }

    /// <summary>Send a whole response in one go (ngx.exit with a status page, `return`).</summary>
    public async Task SendSimpleAsync(int status, string? body, string? contentType = null)
    {
        if (HeadersSent) { await FinishAsync(); return; }
        Status = status;
        if (contentType != null) SetResponseHeader("Content-Type", contentType);
        if (body != null)
        {
            SetResponseHeader("Content-Length", Encoding.Latin1.GetByteCount(body).ToString());
            _pending.Clear();
            _pending.Add(body);
        }
        await FinishAsync();
    }

    public void MarkClientGone() => ClientGone = true;

    /// <summary>The body printed so far and from now on is dropped; <paramref name="body"/> (if any) goes out instead.</summary>
    public void ReplaceBody(string? body)
    {
        _pending.Clear();
        if (body != null) _pending.Add(body);
        DiscardBody = true;
    }

    /// <summary>The response's body was replaced (ngx.exit in a header filter): later output is dropped.</summary>
    public bool DiscardBody { get; private set; }

    /// <summary>Set once an error_page redirect happened (nginx follows one per request).</summary>
    public bool ErrorPageUsed { get; set; }
    /// <summary>The status an error_page redirect answers with, whatever the page's own is; null: the page's.</summary>
    public int? ForcedStatus { get; set; }

    /// <summary>The last Lua handler ended with ngx.exit(ngx.DECLINED).</summary>
    public bool LuaDeclined { get; set; }
    /// <summary>Under `satisfy any`: access_by_lua's refusal (403/401), acted on only if nothing grants.</summary>
    public int? LuaAccessRefusal { get; set; }

    /// <summary>The status given to ngx.exit, if it was called.</summary>
    public int? ExitStatus { get; set; }
    /// <summary>ngx.exec's target (a URI or "@name") and arguments, taken when the handler ends.</summary>
    public string? ExecUri { get; set; }
    public string? ExecArgs { get; set; }
    /// <summary>Internal redirects so far (ngx.exec); nginx stops at 10.</summary>
    public int InternalRedirects { get; set; }

    /// <summary>The phase running now, as ngx.get_phase() names it.</summary>
    public string Phase { get; set; } = "content";

    /// <summary>Read the whole request body (ngx.req.read_body).</summary>
    public Task ReadBodyAsync()
    {
        if (BodyRead) return Task.CompletedTask;
        // a request that cannot have a body (no Content-Length, not chunked) reads an empty one at once,
        // with no state machine or buffer (a body kept in a file still goes the whole way)
        if (!Location.ClientBodyInFileOnly
            && Http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            BodyRead = true;
            Body = "";
            return Task.CompletedTask;
        }
        return ReadBodyFullyAsync();
    }

    private async Task ReadBodyFullyAsync()
    {
        using var ms = new MemoryStream();
        // client_body_timeout bounds the wait for each read, as nginx's read event timer does
        var timeout = Location.ClientBodyTimeout ?? Server.ClientBodyTimeout ?? Nginx?.Conf.ClientBodyTimeout ?? TimeSpan.FromSeconds(60);
        // a request without a body (no Content-Length, not chunked) has nothing to wait for
        var canHaveBody = Http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
        var chunk = canHaveBody ? System.Buffers.ArrayPool<byte>.Shared.Rent(16384) : [];
        BodyReading = true;
        try
        {
            while (canHaveBody)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(Http.RequestAborted);
                cts.CancelAfter(timeout);
                int n;
                try { n = await Http.Request.Body.ReadAsync(chunk.AsMemory(0, 16384), cts.Token); }
                catch (OperationCanceledException) when (!Http.RequestAborted.IsCancellationRequested)
                {
                    BodyTimedOut = true; // nginx finalizes with 408 and writes no error-log line for it
                    break;
                }
                if (n == 0) break;
                ms.Write(chunk, 0, n);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException) { ClientGone = true; }
        finally
        {
            BodyReading = false;
            if (canHaveBody) System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
        BodyRead = true;
        if (Location.ClientBodyInFileOnly || GoesToTempFile(ms.Length, Location.ClientBodyBufferSize ?? Nginx?.Conf.ClientBodyBufferSize))
        {
            // nginx keeps such a body in a client_body_temp file: get_body_data() is nil then
            BodyFile = ClientBodyTemp.Write(ms.ToArray());
            Body = null;
            // ngx_http_request_body_save_filter's notice, at warn unless the file is asked for
            if (!Location.ClientBodyInFileOnly)
                Log(LogLevel.Warn, "a client request body is buffered to a temporary file " + BodyFile);
            return;
        }
        Body = Encoding.Latin1.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    /// <summary>
    /// Whether nginx writes a body of this length to a client_body_temp file under this
    /// client_body_buffer_size (null: always in memory). nginx keeps a body in memory when it came
    /// whole with the request head (read into the head's buffer: 1k, or 8k once the head outgrew
    /// that; a client that writes the request at once is assumed), or when the part left after it
    /// fits the buffer nginx sizes for it (the rest itself when a known length is under the buffer
    /// size plus a quarter). Otherwise that buffer fills before the body ends and
    /// ngx_http_request_body_save_filter moves the body to a file.
    /// </summary>
    private bool GoesToTempFile(long length, long? bufferSize)
    {
        if (bufferSize is not { } size || length == 0) return false;
        var head = RawHead?.Length ?? 0;
        var headBuffer = head <= 1024 ? 1024 : 8192;
        var rest = length - Math.Clamp(headBuffer - head, 0, length);
        if (rest == 0) return false;
        var chunked = Http.Request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase);
        return chunked ? rest > size : rest >= size + (size >> 2);
    }

    /// <summary>
    /// The body read, wherever nginx keeps it: in memory, or else the client_body_temp file's
    /// content (what the gateway forwards and what core.request.get_body returns); null when none.
    /// </summary>
    public string? BodyText()
    {
        if (!BodyRead) return null;
        if (Body != null || BodyFile == null) return Body;
        try { return Encoding.Latin1.GetString(File.ReadAllBytes(BodyFile)); }
        catch (IOException) { return null; }
    }

    /// <summary>The temp file holding the request body (ngx.req.get_body_file); null when it is in memory.</summary>
    public string? BodyFile { get; set; }

    /// <summary>The client address the realip module took from a header; null: the connection's.</summary>
    public string? RealIp { get; set; }

    /// <summary>
    /// nginx's realip module for this location: when the connection comes from a `set_real_ip_from`
    /// address, `remote_addr` becomes the address in `real_ip_header` (for X-Forwarded-For, the
    /// last one in the list, real_ip_recursive being off).
    /// </summary>
    public void ApplyRealIp()
    {
        // a location without its own realip directives inherits the http level's
        var header = Location.RealIpHeader ?? Nginx?.Conf.RealIpHeader;
        var from = Location.SetRealIpFrom.Count > 0 ? Location.SetRealIpFrom : Nginx?.Conf.SetRealIpFrom ?? [];
        if (header == null || from.Count == 0) return;
        var peer = Http.Connection.RemoteIpAddress;
        if (peer == null) return;
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        var trusted = from.Any(f =>
            System.Net.IPNetwork.TryParse(f.Contains('/') ? f : f + (f.Contains(':') ? "/128" : "/32"), out var net)
            && net.Contains(peer));
        if (!trusted) return;
        var value = RequestHeader(header);
        if (string.IsNullOrEmpty(value)) return;
        if (header.Equals("X-Forwarded-For", StringComparison.OrdinalIgnoreCase))
            value = value.Split(',')[^1];
        value = value.Trim();
        if (System.Net.IPAddress.TryParse(value, out var addr)) RealIp = addr.ToString();
    }

    private static string Unescape(string path)
    {
        if (!path.Contains('%')) return path;
        var bytes = new List<byte>();
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length && System.Uri.IsHexDigit(path[i + 1]) && System.Uri.IsHexDigit(path[i + 2]))
            {
                bytes.Add(Convert.ToByte(path.Substring(i + 1, 2), 16));
                i += 2;
            }
            else bytes.Add((byte)path[i]);
        }
        return Encoding.Latin1.GetString(bytes.ToArray());
    }
}
