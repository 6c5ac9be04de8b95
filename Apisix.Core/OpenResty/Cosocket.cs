using System.Text;

namespace Apisix.Core.OpenResty;

/// <summary>
/// The C# half of ngx.socket.tcp: a connected stream with a read buffer, and the receive
/// patterns OpenResty offers (a line, N bytes, everything, anything, up to a delimiter).
/// Results are Lua-shaped arrays: data, or nil + error + partial data.
/// </summary>
public sealed class Cosocket(Stream stream, bool leaveOpen = false) : IDisposable
{
    private readonly byte[] _chunk = new byte[16384];
    private readonly StringBuilder _buf = new();   // bytes received but not yet returned (Latin-1 chars)
    private bool _eof;

    public int ConnectTimeoutMs { get; set; } = 60000;

    /// <summary>The key of the connection pool this connection goes back to (setkeepalive).</summary>
    public string? PoolKey { get; set; }
    /// <summary>The pool this connection counts in, once there is one (an NgxBridge pool).</summary>
    public object? Pool { get; set; }
    /// <summary>How many times the connection was taken from its pool (getreusedtimes).</summary>
    public int Reused { get; set; }
    /// <summary>Bytes received and not yet returned (setkeepalive refuses such a connection).</summary>
    public bool HasUnread => _buf.Length > 0;
    /// <summary>The peer closed the connection (or it failed).</summary>
    public bool SawEof => _eof;
    /// <summary>While idle in a pool: cancelled when the connection is taken out again.</summary>
    public CancellationTokenSource? Parked { get; private set; }
    private Task<int>? _idleRead;

    /// <summary>
    /// Idle in a pool: a read stays posted, as nginx keeps an idle connection's read event armed;
    /// <paramref name="lost"/> runs when it completes (the peer closed or sent something unasked)
    /// or the idle timeout (zero: none) passes, unless the connection was taken out first.
    /// </summary>
    public void Park(TimeSpan timeout, Action lost)
    {
        var parked = Parked = new CancellationTokenSource();
        var read = _idleRead ??= stream.ReadAsync(_chunk, CancellationToken.None).AsTask();
        var wait = timeout > TimeSpan.Zero ? Task.Delay(timeout, parked.Token) : Task.Delay(Timeout.Infinite, parked.Token);
        Task.WhenAny(read, wait).ContinueWith(_ =>
        {
            if (!parked.IsCancellationRequested) lost();
        }, TaskScheduler.Default);
    }
    public int SendTimeoutMs { get; set; } = 60000;
    public int ReadTimeoutMs { get; set; } = 60000;

    /// <summary>
    /// For ngx.req.socket over the request body: the client's connection ending before the body did
    /// is "client aborted" (lua-nginx-module's NGX_HTTP_LUA_SOCKET_FT_CLIENTABORT), not a reset.
    /// </summary>
    public bool Downstream { get; init; }

    /// <summary>A read is in progress (the downstream connection is being read, not watched for an abort).</summary>
    public bool Reading { get; private set; }

    private async Task<string?> FillAsync()
    {
        if (_eof) return "closed";
        using var cts = new CancellationTokenSource(ReadTimeoutMs > 0 ? ReadTimeoutMs : Timeout.Infinite);
        Reading = true;
        try
        {
            var pending = _idleRead;
            _idleRead = null;
            var n = pending != null ? await pending.WaitAsync(cts.Token) : await stream.ReadAsync(_chunk, cts.Token);
            if (n == 0) { _eof = true; return "closed"; }
            _buf.Append(Encoding.Latin1.GetString(_chunk, 0, n));
            return null;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested) { return "timeout"; }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            _eof = true;
            return Downstream ? "client aborted" : "connection reset by peer";
        }
        finally { Reading = false; }
    }

    private string Take(int n)
    {
        var s = _buf.ToString(0, n);
        _buf.Remove(0, n);
        return s;
    }

    public async Task<object?[]> SendAsync(string data)
    {
        using var cts = new CancellationTokenSource(SendTimeoutMs > 0 ? SendTimeoutMs : Timeout.Infinite);
        try
        {
            var bytes = Encoding.Latin1.GetBytes(data);
            await stream.WriteAsync(bytes, cts.Token);
            await stream.FlushAsync(cts.Token);
            return [(long)bytes.Length];
        }
        catch (OperationCanceledException) { return [null, "timeout"]; }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return [null, "broken pipe"];
        }
    }

    public async Task<object?[]> ReceiveLineAsync()
    {
        while (true)
        {
            var s = _buf.ToString();
            var nl = s.IndexOf('\n');
            if (nl >= 0)
            {
                var line = Take(nl + 1);
                line = line.TrimEnd('\n').Replace("\r", "");
                return [line];
            }
            var err = await FillAsync();
            if (err != null) return [null, err, Take(_buf.Length)];
        }
    }

    public async Task<object?[]> ReceiveBytesAsync(int n)
    {
        while (_buf.Length < n)
        {
            var err = await FillAsync();
            if (err != null) return [null, err, Take(_buf.Length)];
        }
        return [Take(n)];
    }

    public async Task<object?[]> ReceiveAllAsync()
    {
        while (true)
        {
            var err = await FillAsync();
            if (err == "closed") return [Take(_buf.Length)];
            if (err != null) return [null, err, Take(_buf.Length)];
        }
    }

    public async Task<object?[]> ReceiveAnyAsync(int max)
    {
        if (_buf.Length == 0)
        {
            var err = await FillAsync();
            if (err != null && _buf.Length == 0) return [null, err];
        }
        return [Take(Math.Min(max <= 0 ? _buf.Length : max, _buf.Length))];
    }

    /// <summary>
    /// Read up to (and, when inclusive, including) the delimiter. With size > 0 at most size bytes
    /// come back per call; the call that reaches the delimiter says so with a fourth result (true),
    /// after which lua-nginx-module's iterator answers nil, nil, nil once, ending that part.
    /// </summary>
    public async Task<object?[]> ReceiveUntilAsync(string delimiter, bool inclusive, int size)
    {
        while (true)
        {
            var s = _buf.ToString();
            var at = delimiter.Length == 0 ? -1 : s.IndexOf(delimiter, StringComparison.Ordinal);
            if (at >= 0)
            {
                // a part that fills the size exactly goes out without the delimiter: the next call finds it
                if (size > 0 && at >= size) return [Take(size)];
                var data = Take(at);
                Take(delimiter.Length);
                return [inclusive ? data + delimiter : data, null, null, size > 0];
            }
            // bytes that can no longer start the delimiter may go out in size mode
            if (size > 0 && _buf.Length - PendingPrefix(s, delimiter) >= size) return [Take(size)];
            var err = await FillAsync();
            if (err != null) return [null, err, Take(_buf.Length)];
        }
    }

    /// <summary>The length of the longest tail of <paramref name="s"/> that begins the delimiter.</summary>
    private static int PendingPrefix(string s, string delimiter)
    {
        for (var n = Math.Min(s.Length, delimiter.Length - 1); n > 0; n--)
            if (string.CompareOrdinal(s, s.Length - n, delimiter, 0, n) == 0) return n;
        return 0;
    }

    public void Dispose()
    {
        if (!leaveOpen) stream.Dispose();
    }
}
