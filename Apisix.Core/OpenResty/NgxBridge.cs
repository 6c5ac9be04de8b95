using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NLua;

namespace Apisix.Core.OpenResty;

/// <summary>
/// The C# functions behind ngx.lua, called from Lua as `cs:Name(...)`. They never throw into
/// Lua: a failure returns nil and leaves the message for `cs:Err()`. Functions that would block
/// in OpenResty return an op id that the Lua side awaits.
/// </summary>
public sealed class NgxBridge(LuaWorker worker)
{
    private static readonly Encoding Bytes = Encoding.Latin1;
    private string? _err;
    private long _flags;
    private bool _stale;
    private long _nextSock;

    public Dictionary<long, Cosocket> Sockets { get; } = new();

    private NgxRequest? Req => worker.CurrentRequest;
    private Nginx Nginx => worker.Nginx;

    public string? Err() => _err;

    private object? Fail(string err)
    {
        _err = err;
        return null;
    }

    /// <summary>Numbers cross into Lua as integers when integral, so 5 prints "5" even after `..`.</summary>
    public static object? ToLua(object? v) => v switch
    {
        double d when Math.Floor(d) == d && Math.Abs(d) < 9.007199254740992e15 => (long)d,
        _ => v,
    };

    // Output ----------------------------------------------------------------------------------

    public long GetStatus() => Req?.Status is int s && s != 0 ? s : (Req?.HeadersSent == true ? 200 : 0);

    public void SetStatus(object? status)
    {
        var r = Req;
        if (r == null) return;
        if (r.HeadersSent)
        {
            Nginx.Log(worker, LogLevel.Error, "attempt to set ngx.status after sending out response headers", r);
            return;
        }
        r.Status = Convert.ToInt32(status ?? 0, CultureInfo.InvariantCulture);
    }

    public bool Print(string data)
    {
        var r = Req;
        if (r == null) { _err = "no request found"; return false; }
        // ngx_http_lua_ngx_echo's checks, in its order
        if (r.HeaderOnly) { _err = "header only"; return false; }
        if (r.LuaEof) { _err = "seen eof"; return false; }
        r.StartLuaOutput();
        if (data.Length > 0) r.SeenBodyData = true;
        var buf = data.Length > 0 ? r.LuaBufs.Get(data.Length, r.DebugLog) : null;
        if (!r.Append(data)) { _err = r.ClientGone ? "broken pipe" : "nginx output filter error"; return false; }
        if (r.Http10Buffering && !r.HeadersSent)
        {
            if (data.Length > 0) Nginx.Log(worker, LogLevel.Debug, "lua buffering output bufs for the HTTP 1.0 request", r);
            return true;
        }
        // a subrequest's capture takes what it prints at once
        if (buf != null) r.LuaBufs.Output(buf, sent: r.IsSubrequest);
        // as ngx_http_lua_send_header_if_needed: the first output sends the status and headers
        r.SendHeaders();
        // a HEAD response ends with its header (r->header_only): ctx->eof
        if (r.HeaderOnly) r.LuaEof = true;
        return true;
    }

    public object? Flush(bool wait)
    {
        var r = Req;
        if (r == null) return Fail("no request found");
        // ngx_http_lua_ngx_flush's checks, in its order
        if (r.HeaderOnly) return Fail("header only");
        if (r.LuaEof) return Fail("seen eof");
        if (r.Http10Buffering && !r.HeadersSent)
        {
            Nginx.Log(worker, LogLevel.Debug, "lua http 1.0 buffering makes ngx.flush() a no-op", r);
            return Fail("buffering");
        }
        if (!r.HeadersSent || !r.SeenBodyData && !wait) return Fail("nothing to flush");
        if (r.ClientGone) return Fail("broken pipe");
        // ngx_http_lua_get_flush_chain: an empty buffer with the flush flag
        r.LuaBufs.Output(r.LuaBufs.Get(0, r.DebugLog), sent: true);
        return worker.NewOp(FlushOp(r));
    }

    private static async Task<object?[]> FlushOp(NgxRequest r)
    {
        var err = await r.FlushAsync();
        return err == null ? [true] : [null, err];
    }

    public object? Eof()
    {
        var r = Req;
        if (r == null) return Fail("no request found");
        if (r.LuaEof) return Fail("seen eof");
        r.StartLuaOutput();
        r.LuaEof = true;
        return worker.NewOp(EofOp(r));
    }

    private static async Task<object?[]> EofOp(NgxRequest r)
    {
        await r.FinishAsync();
        return [true];
    }

    /// <summary>ngx.exit's status (ngx.lua has already turned an error status after the header into 200).</summary>
    public void Exit(object? status)
    {
        if (Req is { } r) r.ExitStatus = Convert.ToInt32(status ?? 0, CultureInfo.InvariantCulture);
    }

    /// <summary>ngx.exec: note the internal redirect (done when the handler ends); an error message, else null.</summary>
    public string? Exec(string uri, string? userArgs)
    {
        if (Req is not { } r) return "no request object found";
        string? args = null;
        var q = uri.IndexOf('?');
        if (q >= 0)
        {
            args = uri[(q + 1)..];
            uri = uri[..q];
        }
        // ngx_http_parse_unsafe_uri: no ".." path segment, no control characters
        if (uri.Any(c => c < 0x20 || c == 0x7f) || uri == ".." || uri.StartsWith("../", StringComparison.Ordinal)
            || uri.Contains("/../", StringComparison.Ordinal) || uri.EndsWith("/..", StringComparison.Ordinal))
            return "unsafe uri";
        if (userArgs is { Length: > 0 }) args = args is { Length: > 0 } ? args + "&" + userArgs : userArgs;
        if (r.HeadersSent) return "attempt to call ngx.exec after sending out response headers";
        r.ExecUri = uri;
        r.ExecArgs = args;
        Nginx.Log(worker, LogLevel.Debug, $"lua exec \"{uri}?{args}\"", r);
        return null;
    }

    public string Phase() => Req?.Phase ?? worker.Phase;
    public void SendHeaders()
    {
        // ngx_http_lua_send_header_if_needed: with HTTP/1.0 buffering on, the headers wait for the body
        if (Req is not { } r || r.Http10Buffering) return;
        r.SendHeaders();
    }
    public bool HeadersSent() => Req?.HeadersSent ?? false;

    // Logging and time ------------------------------------------------------------------------

    public bool LogEnabled(long level) => Nginx.ErrorLog.Enabled((LogLevel)level);
    public void Log(long level, string message) => Nginx.Log(worker, (LogLevel)level, message, Req);

    public double Now() => Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3);

    public object? ParseHttpTime(string s) =>
        DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t.ToUnixTimeSeconds() : null;

    /// <summary>ngx.location.capture: an op whose results are status, headers ("name\0value\0"...) and body.</summary>
    /// <param name="varsMode">"share" (share_all_vars), "copy" (copy_all_vars) or null.</param>
    /// <param name="extraVars">The vars option as "name\0value\0" pairs; null when not given.</param>
    public long Capture(string uri, string method, string? args, string? body, bool alwaysForwardBody, string? varsMode, string? extraVars)
    {
        var req = Req ?? throw new NLua.Exceptions.LuaScriptException("no request found", "");
        // nginx allows 50 levels of subrequests below a main request (NGX_HTTP_MAX_SUBREQUESTS)
        var depth = 0;
        for (var p = req; p.Parent != null; p = p.Parent) depth++;
        if (depth > 50)
        {
            Nginx.Log(worker, LogLevel.Error, $"lua subrequests cycle while processing \"{uri}\"", req);
            return -1;
        }
        var pairs = new List<(string, string)>();
        if (extraVars != null)
        {
            var parts = extraVars.Split('\0');
            for (var i = 0; i + 1 < parts.Length; i += 2) pairs.Add((parts[i], parts[i + 1]));
        }
        var sub = req.Nginx.NewSubrequest(worker, req, uri, method, args, body, alwaysForwardBody, varsMode, pairs);
        _lastSubrequest = sub.Id;
        return worker.NewOp(req.Nginx.CaptureAsync(worker, sub));
    }

    private long _lastSubrequest;
    /// <summary>The id of the subrequest the last Capture created (its ngx.ctx is set from the ctx option).</summary>
    public long LastSubrequestId() => _lastSubrequest;

    public long Sleep(double seconds) => worker.NewOp(SleepOp(seconds, Req != null ? Nginx.RequestSleeps : null));

    /// <summary>Sleeps on a request's path are metered; a timer's background sleeps are not.</summary>
    private async Task<object?[]> SleepOp(double seconds, SleepMeter? meter)
    {
        using (meter?.Measure())
            await worker.Timers.DelayAsync(TimeSpan.FromSeconds(seconds), worker.Stopping);
        return [];
    }

    public double StartTime() => (Req?.StartTime ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds() / 1000.0;

    // Variables and headers -------------------------------------------------------------------

    public object? GetVar(string name) => Req is { } r ? NgxVars.Get(Nginx, r, name) : null;

    public void SetVar(string name, string? value)
    {
        if (Req is { } r) NgxVars.Set(r, name, value);
    }

    public string? GetRespHeader(string name) =>
        Req is { } r && r.ResponseHeaders.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

    public long RespHeaderCount(string name) =>
        Req is { } r && r.ResponseHeaders.TryGetValue(name, out var v) ? v.Count : 0;

    public string? RespHeaderAt(string name, long i) =>
        Req is { } r && r.ResponseHeaders.TryGetValue(name, out var v) && i < v.Count ? v[(int)i] : null;

    public void SetRespHeader(string name, string? value) => Req?.SetResponseHeader(name, value);

    public void AddRespHeader(string name, string value)
    {
        if (Req is not { } r) return;
        if (!r.ResponseHeaders.TryGetValue(name, out var list)) r.ResponseHeaders[name] = list = new();
        list.Add(value);
    }

    public string? RespHeaders()
    {
        if (Req is not { } r) return null;
        var sb = new StringBuilder();
        foreach (var (n, vs) in r.ResponseHeaders)
            foreach (var v in vs) sb.Append(n).Append('\0').Append(v).Append('\0');
        return sb.ToString();
    }

    public string? ReqHeaders()
    {
        if (Req is not { } r) return (string?)Fail("no request found");
        var sb = new StringBuilder();
        foreach (var (n, v) in r.RequestHeaders) sb.Append(n).Append('\0').Append(v).Append('\0');
        return sb.ToString();
    }

    public void SetReqHeader(string name, string? value)
    {
        if (Req is not { } r) return;
        r.RequestHeaders.RemoveAll(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
        if (value != null) r.RequestHeaders.Add((name, value));
    }

    public string? ReqMethod() => Req?.Method;
    public void SetReqMethod(string m) { if (Req is { } r) r.Method = m; }
    public double HttpVersion() => Req?.Protocol switch { "HTTP/1.0" => 1.0, "HTTP/2" => 2.0, "HTTP/3" => 3.0, _ => 1.1 };
    public void SetUri(string uri, bool jump)
    {
        if (Req is not { } r) return;
        r.Uri = uri;
        if (!jump) return;
        Nginx.Log(worker, LogLevel.Debug, $"lua set uri jump to \"{uri}\"", r);
        r.UriJump = true;
    }

    public string? RawHeader(bool noRequestLine)
    {
        if (Req is not { } req) return null;
        // nginx answers with the main request's head, also in a subrequest
        var r = req.Main;
        if (r.RawHead is { } raw)
        {
            if (!noRequestLine) return raw;
            var nl = raw.IndexOf('\n');
            return nl < 0 ? "" : raw[(nl + 1)..];
        }
        var sb = new StringBuilder();
        if (!noRequestLine) sb.Append(r.Method).Append(' ').Append(r.RequestUri).Append(' ').Append(r.Protocol).Append("\r\n");
        foreach (var (n, v) in r.RequestHeaders) sb.Append(n).Append(": ").Append(v).Append("\r\n");
        sb.Append("\r\n");
        return sb.ToString();
    }

    public object? ReadBody()
    {
        if (Req is not { } r) return Fail("no request found");
        if (r.BodyRead) return null;
        return worker.NewOp(ReadBodyOp(r));
    }

    private static async Task<object?[]> ReadBodyOp(NgxRequest r)
    {
        await r.ReadBodyAsync();
        return r.BodyTimedOut ? [true] : [];
    }

    /// <summary>Whether the request body has been read (lua_need_request_body or ngx.req.read_body).</summary>
    public bool BodyRead() => Req is { BodyRead: true };
    public string? GetBody() => Req is { BodyRead: true, Body: { Length: > 0 } b } ? b : null;

    public void SetBody(string? data)
    {
        if (Req is not { } r) return;
        r.Body = data ?? "";
        r.BodyRead = true;
        // the new body is in memory: a temp file the old one was in is gone
        ClientBodyTemp.Remove(r.BodyFile);
        r.BodyFile = null;
    }

    /// <summary>ngx.req.get_body_file(): the temp file the body was read into, else nil.</summary>
    public string? GetBodyFile() => Req is { BodyRead: true, BodyFile: { } f } ? f : null;

    public object? CurrentRequestId() => Req?.Id;

    // Shared dicts ----------------------------------------------------------------------------

    private SharedDict? Dict(string name) => Nginx.SharedDicts.TryGetValue(name, out var d) ? d : null;

    public bool DictExists(string name) => Dict(name) != null;

    public object? DictGet(string name, string key, bool stale)
    {
        var (v, flags, isStale) = Dict(name)?.Get(key, stale) ?? (null, 0, false);
        _flags = flags;
        _stale = isStale;
        return ToLua(v);
    }

    public long DictFlags() => _flags;
    public bool DictStale() => _stale;

    public bool DictStore(string name, string mode, string key, object? value, double exptime, double flags)
    {
        var d = Dict(name);
        if (d == null) { _err = "no such dict"; return false; }
        if (value is long l) value = (double)l;
        if (value is not (null or string or double or bool)) { _err = "bad value type"; return false; }
        var (ok, err) = d.Store(mode, key, value, exptime, (long)flags);
        _err = err;
        return ok;
    }

    public void DictDelete(string name, string key) => Dict(name)?.Delete(key);

    public object? DictIncr(string name, string key, double by, object? init, double initTtl)
    {
        var d = Dict(name);
        if (d == null) return Fail("no such dict");
        double? i = init == null ? null : Convert.ToDouble(init, CultureInfo.InvariantCulture);
        var (v, err) = d.Incr(key, by, i, initTtl);
        return v == null ? Fail(err!) : ToLua(v);
    }

    public void DictFlushAll(string name) => Dict(name)?.FlushAll();
    public long DictFlushExpired(string name, long max) => Dict(name)?.FlushExpired((int)max) ?? 0;
    public string DictKeys(string name, long max) =>
        string.Concat((Dict(name)?.Keys((int)max) ?? []).Select(k => k + "\0"));

    public object? DictTtl(string name, string key)
    {
        var (ttl, err) = Dict(name)?.Ttl(key) ?? (null, "no such dict");
        return ttl == null ? Fail(err!) : ttl;
    }

    public bool DictExpire(string name, string key, double exptime)
    {
        var (ok, err) = Dict(name)?.Expire(key, exptime) ?? (false, "no such dict");
        _err = err;
        return ok;
    }

    public object? DictPush(string name, string key, object value, bool left)
    {
        var (len, err) = Dict(name)?.Push(key, value is long l ? (double)l : value, left) ?? (null, "no such dict");
        return len == null ? Fail(err!) : len;
    }

    /// <summary>The popped value; nil with the error (or none) when there is nothing to pop.</summary>
    public object? DictPop(string name, string key, bool left)
    {
        _err = null;
        var (value, err) = Dict(name)?.PopWithError(key, left) ?? (null, "no such dict");
        return err != null ? Fail(err) : ToLua(value);
    }

    public object? DictLlen(string name, string key)
    {
        var (len, err) = Dict(name)?.Llen(key) ?? (null, "no such dict");
        return len == null ? Fail(err!) : len;
    }
    public long DictCapacity(string name) => Dict(name)?.Capacity ?? 0;

    // Timers and threads ----------------------------------------------------------------------

    public long NewTimerId() => worker.NewTimerId();
    /// <summary>Start a timer; null, or lua-nginx-module's error ("too many pending timers").</summary>
    public string? ScheduleTimer(long id, double delay, bool every)
    {
        if (worker.TimersPending >= Nginx.Conf.MaxPendingTimers) return "too many pending timers";
        // a timer's log lines name the connection that created it (lua-nginx-module's fake connection copies it)
        var context = Req is { } r
            ? $", context: ngx.timer, client: {r.Http.Connection.RemoteIpAddress}, server: {ListenText(r)}"
            : worker.CurrentLogContext ?? ", context: ngx.timer";
        // the timer's thread is taken when it is created (ngx_http_lua_new_cached_thread logs on the cycle's log)
        var thread = worker.Threads.Take(out var reused);
        if (Nginx.ErrorLog.Enabled(LogLevel.Debug))
            Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(worker), 0, LuaThreadCache.TakenLine(thread, reused), "");
        worker.ScheduleTimer(id, delay, every, context, thread);
        return null;
    }

    private static string ListenText(NgxRequest r)
    {
        var port = r.Http.Connection.LocalPort;
        var l = r.Server.Listens.FirstOrDefault(x => x.Port == port) ?? r.Server.Listens.FirstOrDefault();
        if (l == null) return $"0.0.0.0:{port}";
        return $"{l.Address}:{l.Port}";
    }
    public long TimersRunning() => worker.TimersRunning;
    public long TimersPending() => worker.TimersPending;

    /// <summary>A user thread (ngx.thread.spawn): its coroutine id; its Lua thread is taken from the cache, never given back.</summary>
    public long NewCo()
    {
        var thread = worker.Threads.Take(out var reused);
        if (Nginx.ErrorLog.Enabled(LogLevel.Debug))
            Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(worker), 0, LuaThreadCache.TakenLine(thread, reused), "");
        return worker.NewThreadCo();
    }

    public void PostCo(long id) => worker.PostCo(id);

    /// <summary>An op that completes when woken (<see cref="WakeOp"/>: true) or after the timeout (nil, "timeout").</summary>
    public long WaitOp(double timeoutSeconds) => worker.WaitOp(timeoutSeconds);
    public bool WakeOp(long op) => worker.WakeOp(op);
    /// <summary>Run a Lua function on a later turn of the loop (nginx's posted events).</summary>
    public void Defer(NLua.LuaFunction fn) => worker.Defer(fn);

    /// <summary>ngx.on_abort: the handler's coroutine id, or lua-nginx-module's error string.</summary>
    public object OnAbort() => worker.OnAbort();

    public void AfterStep(long id, string status, object? a, object? b) =>
        worker.AfterStep(id, status, [a, b]);

    public void ThreadDone(long id) => worker.ThreadDone(id);
    public void ThreadKilled(long id) => worker.ThreadKilled(id);

    public long ThreadWait(string ids) =>
        worker.ThreadWait(ids.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse));

    // Sockets ---------------------------------------------------------------------------------

    /// <summary>lua_socket_log_errors as the current location (else server or http level) sets it.</summary>
    private bool SocketLogErrors => Req?.Location?.LuaSocketLogErrors ?? Nginx.LogSocketErrors;

    /// <summary>
    /// A cosocket connection pool (per worker, as lua-nginx-module keeps them): idle connections,
    /// most recently parked first, and how many connections belong to it (idle or in use).
    /// </summary>
    private sealed class ConnPool(string key, int size)
    {
        public string Key { get; } = key;
        public int Size { get; } = size;
        public int Connections { get; set; }
        public LinkedList<Cosocket> Idle { get; } = new();
    }

    private readonly Dictionary<string, ConnPool> _pools = new(StringComparer.Ordinal);

    private ConnPool CreatePool(string key, int size)
    {
        Nginx.Log(worker, LogLevel.Debug, $"lua tcp socket keepalive create connection pool for key \"{key}\"", Req);
        var pool = new ConnPool(key, size);
        _pools[key] = pool;
        return pool;
    }

    private void PoolConnectionGone(ConnPool pool)
    {
        if (--pool.Connections > 0 || pool.Idle.Count > 0) return;
        Nginx.Log(worker, LogLevel.Debug, $"lua tcp socket keepalive: free connection pool for \"{pool.Key}\"", Req);
        _pools.Remove(pool.Key);
    }

    /// <summary>
    /// tcpsock:connect: a pooled idle connection of the pool's key (<paramref name="poolKey"/>, else
    /// "host:port" or the unix path) when there is one, else a new connection. With
    /// <paramref name="poolSize"/> (connect's pool_size or backlog option) the pool is created now.
    /// On the loopback network a connect succeeds or is refused at once.
    /// </summary>
    public long SockConnect(string host, long port, string key, long poolSize) =>
        worker.NewOp(ConnectOp(host, (int)port, key, (int)poolSize));

    private async Task<object?[]> ConnectOp(string host, int port, string key, int poolSize)
    {
        // the calling request, read while its Lua is still the one running
        var r = Req;
        var logErrors = SocketLogErrors;
        await Task.Yield();
        _pools.TryGetValue(key, out var pool);
        if (pool == null && poolSize > 0)
        {
            pool = CreatePool(key, poolSize);
            Nginx.Log(worker, LogLevel.Debug, $"lua tcp socket connection pool size: {poolSize}", r);
        }
        if (pool is { Idle.First: { } first })
        {
            var reused = first.Value;
            pool.Idle.RemoveFirst();
            reused.Parked?.Cancel();
            Nginx.Log(worker, LogLevel.Debug, "lua tcp socket get keepalive peer: using connection 0000000000000000, fd:0", r);
            reused.Reused++;
            var rid = ++_nextSock;
            Sockets[rid] = reused;
            return [rid];
        }
        Stream? stream;
        string? err;
        var unix = host.StartsWith("unix:", StringComparison.Ordinal);
        if (unix)
        {
            stream = Nginx.Network.ConnectUnix(host[5..]);
            err = stream == null ? "no such file or directory" : null;
            if (stream == null && logErrors)
                Nginx.Log(worker, LogLevel.Crit, $"connect() to {host} failed (2: No such file or directory)", r);
            if (stream == null) return [null, err];
        }
        else
        {
            // a host name goes to nginx's resolver, which a plain nginx.conf lacks (IP literals need none)
            if (Nginx.Conf.HasResolver == false && !System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _))
                return [null, $"no resolver defined to resolve \"{host}\""];
            if (await Nginx.ResolveAsync(host, worker, Nginx.Stopping, cosocket: true) is { } unresolved) return [null, unresolved];
            (stream, err) = await Nginx.Network.ConnectAsync(host, port, Nginx.Stopping);
            if (stream == null)
            {
                // a name that does not resolve is answered without a connect() (nothing logged)
                if (logErrors && err == "connection refused")
                    Nginx.Log(worker, LogLevel.Error, "connect() failed (111: Connection refused)", r);
                return [null, err];
            }
        }
        var sock = new Cosocket(stream) { PoolKey = key };
        if (pool != null) { sock.Pool = pool; pool.Connections++; }
        var id = ++_nextSock;
        Sockets[id] = sock;
        return [id];
    }

    /// <summary>tcpsock:getreusedtimes.</summary>
    public long SockReused(long id) => Sockets.TryGetValue(id, out var s) ? s.Reused : 0;

    /// <summary>
    /// tcpsock:setkeepalive(timeout, size): the connection goes idle into its pool (created now with
    /// <paramref name="size"/>, else lua_socket_pool_size), evicting the oldest idle one when full,
    /// and leaves the pool when the peer closes it or the idle timeout (0: none) passes.
    /// Returns null when kept, else why not.
    /// </summary>
    public string? SockSetKeepalive(long id, long timeoutMs, long size)
    {
        if (!Sockets.TryGetValue(id, out var sock)) return "closed";
        if (sock.HasUnread) return "unread data in buffer";
        if (sock.SawEof) { CloseSock(id); return "connection in dubious state"; }
        Sockets.Remove(id);
        var r = Req;
        var key = sock.PoolKey ?? "";
        if (!_pools.TryGetValue(key, out var pool))
        {
            var n = size > 0 ? (int)size : Nginx.Conf.LuaSocketPoolSize;
            Nginx.Log(worker, LogLevel.Debug, $"lua tcp socket connection pool size: {n}", r);
            pool = CreatePool(key, n);
        }
        if (sock.Pool != pool) { sock.Pool = pool; pool.Connections++; }
        var timeout = timeoutMs >= 0 ? TimeSpan.FromMilliseconds(timeoutMs) : Nginx.Conf.LuaSocketKeepaliveTimeout;
        Nginx.Log(worker, LogLevel.Debug, timeout == TimeSpan.Zero ? "lua tcp socket keepalive timeout: unlimited"
            : $"lua tcp socket keepalive timeout: {(long)timeout.TotalMilliseconds} ms", r);
        if (pool.Idle.Count >= pool.Size && pool.Idle.Last is { } oldest)
        {
            pool.Idle.RemoveLast();
            oldest.Value.Parked?.Cancel();
            oldest.Value.Dispose();
            pool.Connections--;
        }
        pool.Idle.AddFirst(sock);
        sock.Park(timeout, () => worker.Loop.Post(_ =>
        {
            // the peer closed it, or the idle timer fired: the connection leaves the pool
            if (!pool.Idle.Remove(sock)) return;
            Nginx.Log(worker, LogLevel.Debug, "lua tcp socket keepalive close handler: fd:0", null);
            sock.Dispose();
            PoolConnectionGone(pool);
        }, null));
        return null;
    }

    /// <summary>tcpsock:close: the connection ends (and leaves the pool it belonged to).</summary>
    private void CloseSock(long id)
    {
        if (!Sockets.Remove(id, out var s)) return;
        s.Dispose();
        if (s.Pool is ConnPool pool) PoolConnectionGone(pool);
    }

    /// <summary>
    /// <c>ngx.req.socket(true)</c>: the client connection itself once the response head is out; the
    /// raw form over Kestrel's upgraded connection is for a request that switched protocols (a 101),
    /// as this emulation has no other way to hand the connection over; <see cref="ReqSocketSwitched"/>
    /// tells ngx.lua to take this path, else it takes <see cref="ReqSocket"/> (the request body).
    /// </summary>
    public long ReqSocketUpgraded() => worker.NewOp(ReqSocketUpgradedOp());

    /// <summary>Whether ngx.req.socket(true) takes the upgraded connection: the request answered (or is answering) 101.</summary>
    public bool ReqSocketSwitched() => Req is { } r && (r.UpgradedStream != null || r.Status == 101);

    private async Task<object?[]> ReqSocketUpgradedOp()
    {
        var r = Req;
        if (r == null) return [null, "no request found"];
        if (r.UpgradedStream == null)
        {
            if (!r.HeadersSent || r.Status != 101) return [null, "raw request socket is only supported after a 101 response here"];
            var err = await r.FlushAsync();
            if (err != null) return [null, err];
        }
        if (r.UpgradedStream == null) return [null, "raw request socket is only supported after a 101 response here"];
        var id = ++_nextSock;
        Sockets[id] = new Cosocket(new NonClosingStream(r.UpgradedStream));
        return [id];
    }

    /// <summary>The request's own connection: closing the Lua socket leaves it to the request's end.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => inner.ReadAsync(buffer, ct);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => inner.WriteAsync(buffer, ct);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.ReadAsync(buffer, offset, count, ct);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.WriteAsync(buffer, offset, count, ct);
        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    public void SockTimeouts(long id, object? c, object? s, object? r)
    {
        if (!Sockets.TryGetValue(id, out var sock)) return;
        if (c != null) sock.ConnectTimeoutMs = Convert.ToInt32(c, CultureInfo.InvariantCulture);
        if (s != null) sock.SendTimeoutMs = Convert.ToInt32(s, CultureInfo.InvariantCulture);
        if (r != null) sock.ReadTimeoutMs = Convert.ToInt32(r, CultureInfo.InvariantCulture);
    }

    public long SockSend(long id, string data)
    {
        if (!Sockets.TryGetValue(id, out var s)) return worker.NewOp(Task.FromResult<object?[]>([null, "closed"]));
        Nginx.Log(worker, LogLevel.Debug, $"lua tcp socket send timeout: {s.SendTimeoutMs}", Req);
        return worker.NewOp(s.SendAsync(data));
    }

    public long SockReceive(long id, string mode, long n)
    {
        if (!Sockets.TryGetValue(id, out var s)) return worker.NewOp(Task.FromResult<object?[]>([null, "closed"]));
        Nginx.Log(worker, LogLevel.Debug, $"lua tcp socket read timeout: {s.ReadTimeoutMs}", Req);
        if (mode == "any") Nginx.Log(worker, LogLevel.Debug, "lua tcp socket read any", Req);
        return worker.NewOp(LogReadTimeout(mode switch
        {
            "l" => s.ReceiveLineAsync(),
            "a" => s.ReceiveAllAsync(),
            "any" => s.ReceiveAnyAsync((int)n),
            _ => s.ReceiveBytesAsync((int)n),
        }, Req));
    }

    public long SockReceiveUntil(long id, string pattern, bool inclusive, long size)
    {
        if (!Sockets.TryGetValue(id, out var s)) return worker.NewOp(Task.FromResult<object?[]>([null, "closed"]));
        Nginx.Log(worker, LogLevel.Debug, $"lua tcp socket read timeout: {s.ReadTimeoutMs}", Req);
        return worker.NewOp(LogReadTimeout(s.ReceiveUntilAsync(pattern, inclusive, (int)size), Req));
    }

    // ngx.socket.udp ----------------------------------------------------------------------------

    private readonly Dictionary<long, Net.UdpPeer> _udp = new();

    /// <summary>ngx.socket.udp's setpeername: a datagram socket's id, or null when nothing listens there.</summary>
    public object? UdpOpen(string host, long port)
    {
        Net.UdpPeer? peer;
        if (host.StartsWith("unix:", StringComparison.Ordinal)) peer = Nginx.Network.ConnectUdp(null, 0, host[5..]);
        else if (Nginx.Network.Resolve(host) is { } ip) peer = Nginx.Network.ConnectUdp(ip, (int)port, null);
        else peer = null;
        if (peer == null) return null;
        var id = ++_nextSock;
        _udp[id] = peer;
        return id;
    }

    public void UdpSend(long id, string data)
    {
        if (_udp.TryGetValue(id, out var peer)) peer.Send(System.Text.Encoding.Latin1.GetBytes(data));
    }

    /// <summary>receive(): an op giving the next datagram (at most <paramref name="size"/> bytes of it), or nil and "timeout".</summary>
    public long UdpReceive(long id, long timeoutMs, long size)
    {
        Nginx.Log(worker, LogLevel.Debug, $"lua udp socket read timeout: {timeoutMs}", Req);
        if (!_udp.TryGetValue(id, out var peer)) return worker.NewOp(Task.FromResult<object?[]>([null, "closed"]));
        return worker.NewOp(UdpReceiveOp(peer, timeoutMs, (int)Math.Clamp(size, 0, 65536), Req, SocketLogErrors));
    }

    private async Task<object?[]> UdpReceiveOp(Net.UdpPeer peer, long timeoutMs, int size, NgxRequest? r, bool logErrors)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(worker.Stopping);
        var receiving = peer.ReceiveAsync(cts.Token);
        if (timeoutMs > 0)
        {
            var timer = worker.Timers.DelayAsync(TimeSpan.FromMilliseconds(timeoutMs), cts.Token);
            if (await Task.WhenAny(receiving, timer) != receiving) cts.Cancel();
        }
        var data = await receiving;
        cts.Cancel();
        if (data == null)
        {
            if (worker.Stopping.IsCancellationRequested) return [null, "closed"];
            if (logErrors) Nginx.Log(worker, LogLevel.Error, "lua udp socket read timed out", r);
            return [null, "timeout"];
        }
        return [System.Text.Encoding.Latin1.GetString(data, 0, Math.Min(size, data.Length))];
    }

    public void UdpClose(long id)
    {
        if (_udp.Remove(id, out var peer)) peer.Close();
    }

    /// <summary>ngx.socket.udp's setpeername with a host name: null when it resolves, else why not (an op).</summary>
    public long Resolve(string host) => worker.NewOp(ResolveOp(host));

    private async Task<object?[]> ResolveOp(string host)
    {
        await Task.Yield();
        if (await Nginx.ResolveAsync(host, worker, Nginx.Stopping, cosocket: true) is { } err) return [null, err];
        if (Nginx.Network.Resolve(host) == null) return [null, $"{host} could not be resolved (3: Host not found)"];
        return [true];
    }

    /// <summary>Whether the configuration has a resolver (false: a plain nginx.conf without one).</summary>
    public bool HasResolver() => Nginx.Conf.HasResolver != false;

    /// <summary>lua_socket_pool_size: the size of a pool connect creates for its backlog option.</summary>
    public long SocketPoolSize() => Nginx.Conf.LuaSocketPoolSize;

    /// <summary>ngx_lua logs a read timeout at error level (unless lua_socket_log_errors is off).</summary>
    private async Task<object?[]> LogReadTimeout(Task<object?[]> receive, NgxRequest? r)
    {
        var res = await receive;
        if (res is [null, "timeout", ..] && SocketLogErrors)
            Nginx.Log(worker, LogLevel.Error, "lua tcp socket read timed out", r);
        return res;
    }

    /// <summary>
    /// ngx.req.socket(): a read-only cosocket over the request body (what is left of Content-Length),
    /// or nil and lua-nginx-module's reason. Reading it sends "100 Continue" to a client that expects it.
    /// </summary>
    public object? ReqSocket(bool raw)
    {
        var r = Req;
        if (r == null) return Fail("no request found");
        if (r.IsSubrequest) return Fail("nginx subrequest not supported");
        if (r.BodyRead || r.ReqSocketTaken) return Fail("request body already exists");
        var chunked = r.RequestHeader("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        if (!raw && chunked) return Fail("chunked request bodies not supported yet");
        if (!raw && !chunked && !(long.TryParse(r.RequestHeader("Content-Length"), out var length) && length > 0))
            return Fail("no body");
        r.ReqSocketTaken = true;
        var id = ++_nextSock;
        Sockets[id] = r.BodySocket = new Cosocket(r.Http.Request.Body, leaveOpen: true) { Downstream = true };
        return id;
    }

    public bool LogSocketErrors() => SocketLogErrors;

    public void SockClosedLog(string what, bool used)
    {
        if (!SocketLogErrors) return;
        var u = used ? "00005610a0c0e0f0" : "0000000000000000";
        Nginx.Log(worker, LogLevel.Error, $"attempt to {what} a closed socket: u:{u}, c:0000000000000000, ft:0 eof:0", Req);
    }

    public void SockClose(long id) => CloseSock(id);

    // Misc ------------------------------------------------------------------------------------

    /// <summary><c>ngx.config.nginx_version</c> and <c>ngx_lua_version</c>: those of the runtime this nginx stands in for.</summary>
    public long NginxVersion() => Nginx.Conf.Runtime.NginxVersion;
    public long NgxLuaVersion() => Nginx.Conf.Runtime.NgxLuaVersion;
    /// <summary><c>ngx.config.prefix()</c>: the prefix with its trailing slash, as nginx gives it.</summary>
    public string Prefix() => Nginx.Prefix.EndsWith('/') ? Nginx.Prefix : Nginx.Prefix + "/";
    public string? SslServerName() => Req?.Http.Features.Get<Net.TlsInfo>()?.ServerName ?? worker.SslServerName;

    /// <summary>The error log's text when <paramref name="path"/> is the prefix's logs/error.log (kept in memory), else null.</summary>
    public string? ErrorLogText(string path)
    {
        try
        {
            if (path.Length == 0 || Path.GetFullPath(path) != Path.GetFullPath(Path.Combine(Nginx.Prefix, "logs", "error.log"))) return null;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return null; }
        var lines = Nginx.ErrorLog.Lines;
        return lines.Count == 0 ? "" : string.Join("\n", lines) + "\n";
    }
    public long WorkerId() => worker.Id;
    public long WorkerCount() => Nginx.Workers.Count;
    public long WorkerPid() => Nginx.Pid(worker);
    public bool Exiting() => worker.Exiting;

    public string Md5(string s) => Convert.ToHexStringLower(MD5.HashData(Bytes.GetBytes(s)));
    public string Md5Bin(string s) => Bytes.GetString(MD5.HashData(Bytes.GetBytes(s)));
    public string Sha1Bin(string s) => Bytes.GetString(SHA1.HashData(Bytes.GetBytes(s)));
    public string HmacSha1(string key, string s) => Bytes.GetString(HMACSHA1.HashData(Bytes.GetBytes(key), Bytes.GetBytes(s)));
    public long Crc32(string s) => Apisix.Core.OpenResty.Crc32.Compute(Bytes.GetBytes(s));

    public string EncodeBase64(string s, bool noPadding)
    {
        var b = Convert.ToBase64String(Bytes.GetBytes(s));
        return noPadding ? b.TrimEnd('=') : b;
    }

    public string? DecodeBase64(string s)
    {
        try
        {
            var t = s.Length % 4 == 0 ? s : s + new string('=', 4 - s.Length % 4);
            return Bytes.GetString(Convert.FromBase64String(t));
        }
        catch (FormatException) { return null; }
    }

    /// <summary>Source of a module for the override or fallback searcher.</summary>
    public string? ModuleSource(string name, string kind, out string? chunkName)
    {
        var src = kind == "override" ? Nginx.Modules.Override(name) : Nginx.Modules.Fallback(name);
        chunkName = src == null ? null : "@" + name.Replace('.', '/') + ".lua";
        return src;
    }

    public object? BridgeObject(string name) => Nginx.Modules.Object(name, worker);

    /// <summary>A file the harness keeps in memory for this nginx (Test::Nginx's user_files), or null.</summary>
    public string? ConfFile(string path) =>
        Nginx.Conf.Files.TryGetValue(path, out var data) ? System.Text.Encoding.Latin1.GetString(data) : null;

    public string? GetEnv(object? name) => name is string s ? Nginx.Modules.GetEnv(s) : null;
}
