using System.Text;

namespace Apisix.Core.OpenResty;

/// <summary>
/// The C# half of ngx.socket.tcp: a connected stream with a read buffer, and the receive
/// patterns OpenResty offers (a line, N bytes, everything, anything, up to a delimiter).
/// Results are Lua-shaped arrays: data, or nil + error + partial data.
/// </summary>
public sealed class Cosocket(Stream stream) : IDisposable
{
    private readonly byte[] _chunk = new byte[16384];
    private readonly StringBuilder _buf = new();   // bytes received but not yet returned (Latin-1 chars)
    private bool _eof;

    public int ConnectTimeoutMs { get; set; } = 60000;
    public int SendTimeoutMs { get; set; } = 60000;
    public int ReadTimeoutMs { get; set; } = 60000;

    private async Task<string?> FillAsync()
    {
        if (_eof) return "closed";
        using var cts = new CancellationTokenSource(ReadTimeoutMs > 0 ? ReadTimeoutMs : Timeout.Infinite);
        try
        {
            var n = await stream.ReadAsync(_chunk, cts.Token);
            if (n == 0) { _eof = true; return "closed"; }
            _buf.Append(Encoding.Latin1.GetString(_chunk, 0, n));
            return null;
        }
        catch (OperationCanceledException) { return "timeout"; }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _eof = true;
            return "connection reset by peer";
        }
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

    /// <summary>Read up to (and, when inclusive, including) the delimiter; size > 0 returns at most that much.</summary>
    public async Task<object?[]> ReceiveUntilAsync(string delimiter, bool inclusive, int size)
    {
        while (true)
        {
            var s = _buf.ToString();
            var at = s.IndexOf(delimiter, StringComparison.Ordinal);
            if (at >= 0)
            {
                if (size > 0 && at > size) return [Take(size)];
                var data = Take(at);
                Take(delimiter.Length);
                return [inclusive ? data + delimiter : data];
            }
            if (size > 0 && _buf.Length - delimiter.Length >= size) return [Take(size)];
            var err = await FillAsync();
            if (err != null) return [null, err, Take(_buf.Length)];
        }
    }

    public void Dispose() => stream.Dispose();
}
