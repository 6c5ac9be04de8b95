using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Tasks.Sources;

namespace Apisix.Core.Upstream;

/// <summary>How one step of talking to an upstream failed, in nginx's terms.</summary>
public enum UpstreamFailure
{
    None,
    /// <summary>Connection refused, reset or closed early: nginx's "error" (502).</summary>
    Error,
    /// <summary>A connect/send/read timer fired: nginx's "timeout" (504).</summary>
    Timeout,
    /// <summary>The status line or a header could not be parsed: "invalid_header" (502, no retry).</summary>
    InvalidHeader,
}

/// <summary>The status line and headers of an upstream response, names as the upstream wrote them.</summary>
public sealed record UpstreamResponseHead(int Status, string Reason, List<(string Name, string Value)> Headers)
{
    public string? Header(string name)
    {
        // a loop, not a lambda: no closure per lookup (three of them for every response head)
        foreach (var (n, v) in Headers)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }
}

/// <summary>
/// A hand-written HTTP/1.1 client over one connection of the loopback network: nginx's proxy
/// module talking to one upstream peer. Written by hand rather than with HttpClient so that the
/// request goes out byte for byte as nginx builds it (header order and case, Latin-1 bytes, no
/// headers added or validated), so that each timeout maps to the nginx step it belongs to
/// (sending, reading the header, reading the body), and so that the body can be handed on one
/// read at a time. A connection whose response ended cleanly may serve further requests from
/// the keepalive pool (<see cref="UpstreamKeepalive"/>); otherwise the caller disposes it.
/// </summary>
public sealed class UpstreamHttpConnection(Stream stream) : IAsyncDisposable, IValueTaskSource<int>
{
    private readonly byte[] _buf = new byte[16384];
    private int _start, _end;
    private bool _eof;

    private enum Framing { None, Length, Chunked, UntilClose }
    private Framing _framing;
    private long _remaining;      // bytes left: of the body (Length) or of the current chunk (Chunked)
    private bool _chunkNeedsCrlf; // a chunk's data was read, its CRLF not yet
    private bool _done;
    private bool _keepAlive;    // the response allows another request on this connection

    // The read posted while the connection sits in the keepalive pool, kept without a Task of its own:
    // IdleNone, IdlePending (posted), IdleDone (completed, result kept until a request takes it) or
    // IdleWaited (a request took it over and waits on this connection as its IValueTaskSource)
    private const int IdleNone = 0, IdlePending = 1, IdleDone = 2, IdleWaited = 3;
    private int _idle;
    private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _idleAwaiter;
    private int _idleResult;
    private Exception? _idleError;
    private Action<UpstreamHttpConnection>? _lost;
    private Action? _onIdleRead;
    // the request's wait on the idle read: completed once, by the read or by the timer's token
    private ManualResetValueTaskSourceCore<int> _wait;
    private int _waitOver;
    private CancellationTokenRegistration _waitReg;
    private CancellationToken _waitToken;

    // one timer source for the connection's reads and writes, armed only for an operation that has to
    // wait (as nginx adds its read/write timer when the socket is not ready): an operation that
    // completes at once takes no timer at all
    private CancellationTokenSource? _timer;
    private bool _armed;

    /// <summary>The token of the connection's timer source (not armed yet): a fresh source once the last one fired.</summary>
    private CancellationToken TimerToken()
    {
        if (_timer == null || _timer.IsCancellationRequested)
        {
            _timer?.Dispose();
            _timer = new CancellationTokenSource();
            _armed = false;
        }
        return _timer.Token;
    }

    /// <summary>The operation started with <see cref="TimerToken"/> has to wait: its timeout runs from now.</summary>
    private void Arm(TimeSpan timeout)
    {
        if (_armed) return;
        _timer!.CancelAfter(timeout);
        _armed = true;
    }

    private void Disarm()
    {
        if (!_armed) return;
        _armed = false;
        _timer?.TryReset();
    }

    /// <summary>
    /// Whether the response lets the connection serve another request. <see cref="ReadHeadAsync"/>
    /// sets it as nginx's proxy module decides; a client with other rules (lua-resty-http keeps an
    /// HTTP/1.0 connection that says keep-alive) may set it after reading the head.
    /// </summary>
    public bool KeepAlive { get => _keepAlive; set => _keepAlive = value; }

    /// <summary>The last response head read said HTTP/1.0.</summary>
    public bool Http10 { get; private set; }

    /// <summary>The response body has been read to its end.</summary>
    public bool BodyDone => _done;

    /// <summary>A chunked body is in the middle of a chunk: part of its data is still to come.</summary>
    public bool InChunk => _framing == Framing.Chunked && _remaining > 0;

    /// <summary>Requests sent on this connection (nginx's <c>c->requests</c>, bounded by keepalive_requests).</summary>
    public int Requests { get; private set; }

    /// <summary>
    /// The response is read to its end, framed by length or chunks, nothing beyond it arrived, and
    /// neither side asked to close: nginx's keepalive module may cache the connection.
    /// </summary>
    public bool Reusable => _done && _keepAlive && _framing != Framing.UntilClose && _start == _end && !_eof;

    /// <summary>
    /// Parks the connection in the keepalive pool: as nginx keeps an idle connection's read event
    /// armed, a read stays posted, and <paramref name="lost"/> runs when it completes (the peer
    /// closed the connection or sent something unasked). A request on the connection later takes
    /// that read over as the first read of its response.
    /// </summary>
    internal void Park(Action<UpstreamHttpConnection> lost)
    {
        _framing = Framing.None;
        _remaining = 0;
        _chunkNeedsCrlf = false;
        _done = false;
        _keepAlive = false;
        _start = _end = 0;
        _lost = lost;
        _idleError = null;
        ValueTask<int> read;
        try { read = stream.ReadAsync(_buf.AsMemory()); }
        catch (Exception e) { read = ValueTask.FromException<int>(e); }
        _idleAwaiter = read.ConfigureAwait(false).GetAwaiter();
        Volatile.Write(ref _idle, IdlePending);
        Parked = true;
        // once a request has taken the connection back, that read is the first of its response: nothing is lost
        if (_idleAwaiter.IsCompleted) IdleReadDone();
        else _idleAwaiter.UnsafeOnCompleted(_onIdleRead ??= IdleReadDone);
    }

    /// <summary>The parked read completed: lost while parked, else handed to the request waiting on it.</summary>
    private void IdleReadDone()
    {
        try { _idleResult = _idleAwaiter.GetResult(); }
        catch (Exception e) { _idleError = e; }
        _idleAwaiter = default;
        var was = Interlocked.CompareExchange(ref _idle, IdleDone, IdlePending);
        if (was == IdlePending)
        {
            if (Parked) _lost?.Invoke(this);
            return;
        }
        if (was != IdleWaited) return;
        Volatile.Write(ref _idle, IdleNone);
        if (Interlocked.Exchange(ref _waitOver, 1) != 0) return; // the timer ended the wait first
        _waitReg.Unregister();
        if (_idleError is { } error) _wait.SetException(error);
        else _wait.SetResult(_idleResult);
    }

    /// <summary>
    /// The parked read as the first read of a request's response: its result when it is in, else a
    /// wait on it that the timer's <paramref name="token"/> ends; null when no read was parked.
    /// </summary>
    private ValueTask<int>? TakeIdleRead(CancellationToken token)
    {
        if (Volatile.Read(ref _idle) == IdleNone) return null;
        _wait.Reset();
        _waitOver = 0;
        _waitToken = token;
        // registered before the wait is published: a read completing on another thread right after
        // always finds the registration it has to remove
        _waitReg = token.CanBeCanceled
            ? token.UnsafeRegister(static s =>
            {
                var c = (UpstreamHttpConnection)s!;
                if (Interlocked.Exchange(ref c._waitOver, 1) == 0) c._wait.SetException(new OperationCanceledException(c._waitToken));
            }, this)
            : default;
        var was = Interlocked.CompareExchange(ref _idle, IdleWaited, IdlePending);
        if (was == IdlePending) return new ValueTask<int>(this, _wait.Version);
        _waitReg.Unregister();
        if (was != IdleDone) return null;
        _idle = IdleNone;
        return _idleError is { } error ? ValueTask.FromException<int>(error) : new ValueTask<int>(_idleResult);
    }

    int IValueTaskSource<int>.GetResult(short token) => _wait.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _wait.GetStatus(token);
    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);

    /// <summary>In the keepalive pool (from <see cref="Park"/> until the pool hands it to a request).</summary>
    public bool Parked { get; internal set; }

    /// <summary>The read posted while parked has completed: the connection cannot serve another request.</summary>
    internal bool ClosedWhileIdle => Volatile.Read(ref _idle) == IdleDone;

    /// <summary>The connection itself (for a tunnel after a 101).</summary>
    public Stream Stream => stream;

    /// <summary>Bytes read past the response head and not yet returned.</summary>
    public byte[] TakeBuffered()
    {
        var data = _buf.AsSpan(_start, _end - _start).ToArray();
        _start = _end = 0;
        return data;
    }

    /// <summary>Write the whole request; nginx's send timeout bounds it.</summary>
    public async ValueTask<UpstreamFailure> SendAsync(ReadOnlyMemory<byte> data, TimeSpan timeout)
    {
        Requests++;
        var token = TimerToken();
        try
        {
            var write = stream.WriteAsync(data, token);
            if (!write.IsCompleted) Arm(timeout);
            await write;
            var flush = stream.FlushAsync(token);
            if (!flush.IsCompleted) Arm(timeout);
            await flush;
            return UpstreamFailure.None;
        }
        catch (OperationCanceledException) { return UpstreamFailure.Timeout; }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return UpstreamFailure.Error;
        }
        finally { Disarm(); }
    }

    /// <summary>Buffer more bytes; the read timeout runs between two reads, as nginx's does.</summary>
    private async ValueTask<UpstreamFailure> FillAsync(TimeSpan timeout)
    {
        if (StartFill(timeout, out var read) is { } refused) return refused;
        try { return EndFill(await read); }
        catch (Exception e) when (IsReadFailure(e))
        {
            return FillFailed(e);
        }
        finally { Disarm(); }
    }

    /// <summary>
    /// <see cref="FillAsync"/>'s first half: room made in the buffer, the read timer armed and the
    /// read started (or the parked read taken over); else the failure, with nothing started.
    /// A caller that awaits <paramref name="read"/> itself ends with <see cref="EndFill"/> or
    /// <see cref="FillFailed"/>, then <see cref="Disarm"/>.
    /// </summary>
    private UpstreamFailure? StartFill(TimeSpan timeout, out ValueTask<int> read)
    {
        read = default;
        if (_eof) return UpstreamFailure.Error;
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buf.Length)
        {
            if (_start == 0) return UpstreamFailure.InvalidHeader; // a line longer than the buffer
            Array.Copy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        var token = TimerToken();
        try
        {
            read = TakeIdleRead(token) ?? stream.ReadAsync(_buf.AsMemory(_end), token);
            if (!read.IsCompleted) Arm(timeout);
            return null;
        }
        catch (Exception e)
        {
            // a read that failed as it started: ends as FillAsync's would (the timer disarmed there)
            read = ValueTask.FromException<int>(e);
            return null;
        }
    }

    private UpstreamFailure EndFill(int n)
    {
        if (n == 0)
        {
            _eof = true;
            return UpstreamFailure.Error;
        }
        _end += n;
        return UpstreamFailure.None;
    }

    /// <summary>What a read of the connection can end with: its timer fired, or the stream failed or was closed.</summary>
    private static bool IsReadFailure(Exception e) =>
        e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException;

    private UpstreamFailure FillFailed(Exception e)
    {
        if (e is OperationCanceledException) return UpstreamFailure.Timeout;
        _eof = true;
        return UpstreamFailure.Error;
    }

    /// <summary>One line without its CRLF (LF alone accepted), as Latin-1; null + why on failure.</summary>
    private async ValueTask<(string? Line, UpstreamFailure Failure)> ReadLineAsync(TimeSpan timeout)
    {
        while (true)
        {
            var nl = Array.IndexOf(_buf, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                var len = nl - _start;
                if (len > 0 && _buf[nl - 1] == '\r') len--;
                var line = Encoding.Latin1.GetString(_buf, _start, len);
                _start = nl + 1;
                return (line, UpstreamFailure.None);
            }
            var f = await FillAsync(timeout);
            if (f != UpstreamFailure.None) return (null, f);
        }
    }

    private static readonly string[] CommonHeaderNames =
    [
        "Content-Type", "Content-Length", "Date", "Server", "Connection", "Transfer-Encoding", "Keep-Alive",
        "Cache-Control", "Vary", "ETag", "Last-Modified", "Expires", "Location", "Content-Encoding", "Accept-Ranges",
    ];

    /// <summary>A header name as Latin-1 text: one of the common names, spelt as sent, without a new string.</summary>
    private static string HeaderName(ReadOnlySpan<byte> name)
    {
        foreach (var known in CommonHeaderNames)
        {
            if (known.Length != name.Length) continue;
            var same = true;
            for (var i = 0; i < name.Length && same; i++) same = known[i] == name[i];
            if (same) return known;
        }
        return Encoding.Latin1.GetString(name);
    }

    /// <summary>The status line and headers; <paramref name="headRequest"/> means no body follows.</summary>
    public async ValueTask<(UpstreamResponseHead? Head, UpstreamFailure Failure)> ReadHeadAsync(TimeSpan timeout, bool headRequest)
    {
        // the status line's bytes are awaited here, so that the line itself is read synchronously; the
        // read is awaited in place (FillAsync's halves), no level of its own waits on the upstream
        while (Array.IndexOf(_buf, (byte)'\n', _start, _end - _start) < 0)
        {
            if (StartFill(timeout, out var read) is { } refused) return (null, refused);
            UpstreamFailure sf;
            try { sf = EndFill(await read); }
            catch (Exception e) when (IsReadFailure(e))
            {
                sf = FillFailed(e);
            }
            finally { Disarm(); }
            if (sf != UpstreamFailure.None) return (null, sf);
        }
        var (status, f) = await ReadLineAsync(timeout);
        if (status == null) return (null, f);
        // "HTTP/1.x NNN reason"
        if (!status.StartsWith("HTTP/", StringComparison.Ordinal) || status.Length < 12 || status[8] != ' '
            || !int.TryParse(status.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            return (null, UpstreamFailure.InvalidHeader);
        var reason = status.Length > 13 ? status[13..] : "";
        var http10 = Http10 = status.StartsWith("HTTP/1.0", StringComparison.Ordinal);
        var headers = new List<(string, string)>(8);
        while (true)
        {
            // each header line is cut in the buffer: its name (a common one as a shared string) and
            // its value, without a string for the whole line
            var nl = Array.IndexOf(_buf, (byte)'\n', _start, _end - _start);
            if (nl < 0)
            {
                var hf = await FillAsync(timeout);
                if (hf != UpstreamFailure.None) return (null, hf);
                continue;
            }
            var len = nl - _start;
            if (len > 0 && _buf[nl - 1] == '\r') len--;
            var line = _buf.AsSpan(_start, len);
            _start = nl + 1;
            if (len == 0) break;
            var colon = line.IndexOf((byte)':');
            if (colon <= 0) return (null, UpstreamFailure.InvalidHeader);
            var name = line[..colon];
            while (name.Length > 0 && char.IsWhiteSpace((char)name[^1])) name = name[..^1]; // string.TrimEnd()
            var value = line[(colon + 1)..];
            while (value.Length > 0 && value[0] is (byte)' ' or (byte)'\t') value = value[1..];
            while (value.Length > 0 && value[^1] is (byte)' ' or (byte)'\t') value = value[..^1];
            headers.Add((HeaderName(name), Encoding.Latin1.GetString(value)));
        }
        var head = new UpstreamResponseHead(code, reason, headers);
        // as ngx_http_proxy_module: an HTTP/1.0 answer or `Connection: close` ends the connection
        var connection = head.Header("Connection");
        // a 101 hands the connection over to another protocol: it never returns to a pool
        _keepAlive = !http10 && code != 101 && (connection == null || !connection.Contains("close", StringComparison.OrdinalIgnoreCase));

        if (headRequest || code is (>= 100 and < 200) or 204 or 304) _framing = Framing.None;
        else if (!http10 && head.Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            _framing = Framing.Chunked;
        else if (head.Header("Content-Length") is { } cl)
        {
            if (!long.TryParse(cl, NumberStyles.None, CultureInfo.InvariantCulture, out _remaining))
                return (null, UpstreamFailure.InvalidHeader);
            _framing = _remaining == 0 ? Framing.None : Framing.Length;
        }
        else _framing = Framing.UntilClose;
        _done = _framing == Framing.None;
        return (head, UpstreamFailure.None);
    }

    /// <summary>
    /// The next piece of the body as it arrives (chunked framing removed): bytes, or an empty
    /// array once the body is complete, or null + why when the upstream failed mid-body.
    /// </summary>
    public async ValueTask<(byte[]? Data, UpstreamFailure Failure)> ReadBodyAsync(TimeSpan timeout)
    {
        var (data, failure) = await ReadBodyPieceAsync(timeout);
        return failure == UpstreamFailure.None ? (data.ToArray(), failure) : (null, failure);
    }

    /// <summary>
    /// <see cref="ReadBodyAsync"/> without a copy: the piece lies in the connection's buffer and
    /// is valid until the next call on this connection. Empty once the body is complete.
    /// </summary>
    public async ValueTask<(ReadOnlyMemory<byte> Data, UpstreamFailure Failure)> ReadBodyPieceAsync(TimeSpan timeout)
    {
        while (!_done)
        {
            switch (_framing)
            {
                case Framing.UntilClose:
                    if (_start == _end)
                    {
                        var f = await FillAsync(timeout);
                        if (f == UpstreamFailure.Error && _eof) { _done = true; continue; }
                        if (f != UpstreamFailure.None) return (default, f);
                    }
                    return (Take((int)(_end - _start)), UpstreamFailure.None);

                case Framing.Length:
                    if (_start == _end)
                    {
                        var f = await FillAsync(timeout);
                        if (f != UpstreamFailure.None) return (default, f);
                    }
                    {
                        var n = (int)Math.Min(_remaining, _end - _start);
                        _remaining -= n;
                        if (_remaining == 0) _done = true;
                        return (Take(n), UpstreamFailure.None);
                    }

                case Framing.Chunked:
                    if (_chunkNeedsCrlf)
                    {
                        var (crlf, cf) = await ReadLineAsync(timeout);
                        if (crlf == null) return (default, cf);
                        if (crlf.Length != 0) return (default, UpstreamFailure.InvalidHeader);
                        _chunkNeedsCrlf = false;
                    }
                    if (_remaining == 0)
                    {
                        var (sizeLine, sf) = await ReadLineAsync(timeout);
                        if (sizeLine == null) return (default, sf);
                        var semi = sizeLine.IndexOf(';');
                        var hex = (semi >= 0 ? sizeLine[..semi] : sizeLine).Trim();
                        if (!long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0)
                            return (default, UpstreamFailure.InvalidHeader);
                        if (size == 0)
                        {
                            // trailers, up to the empty line
                            while (true)
                            {
                                var (t, tf) = await ReadLineAsync(timeout);
                                if (t == null) return (default, tf);
                                if (t.Length == 0) break;
                            }
                            _done = true;
                            continue;
                        }
                        _remaining = size;
                    }
                    if (_start == _end)
                    {
                        var f = await FillAsync(timeout);
                        if (f != UpstreamFailure.None) return (default, f);
                    }
                    {
                        var n = (int)Math.Min(_remaining, _end - _start);
                        _remaining -= n;
                        if (_remaining == 0) _chunkNeedsCrlf = true;
                        return (Take(n), UpstreamFailure.None);
                    }
            }
        }
        return (ReadOnlyMemory<byte>.Empty, UpstreamFailure.None);
    }

    private ReadOnlyMemory<byte> Take(int n)
    {
        var data = _buf.AsMemory(_start, n);
        _start += n;
        return data;
    }

    /// <summary>The keepalive pool's list node for this connection, made at its first caching and reused.</summary>
    internal LinkedListNode<UpstreamHttpConnection>? PoolNode { get; set; }

    /// <summary>The idle timer while cached (keepalive_timeout), made at the first caching and re-armed each time.</summary>
    internal Timer? IdleTimer { get; set; }

    /// <summary>The pools the connection was last cached in: the idle timer drops it from there.</summary>
    internal UpstreamKeepalive? IdleOwner { get; set; }

    public ValueTask DisposeAsync()
    {
        _timer?.Dispose();
        IdleTimer?.Dispose();
        return stream.DisposeAsync();
    }
}
