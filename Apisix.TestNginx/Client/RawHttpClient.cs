using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Client;

/// <summary>
/// Test::Nginx's client: write the request bytes, then read until the server closes the connection.
/// The timeout is an idle timeout: it restarts whenever bytes arrive (or a write completes), so a slow
/// stream that keeps sending never times out. When it fires, the connection is closed and the result
/// carries <see cref="HttpResult.TimeoutError"/>; whatever arrived before is still parsed.
/// The client owns the stream and disposes it.
/// </summary>
public static partial class RawHttpClient
{
    private const int BufferSize = 16 * 1024;

    /// <summary>Connects with <paramref name="connect"/>, then behaves like <see cref="SendAsync(Stream, byte[], TimeSpan, CancellationToken)"/>.
    /// A failing connect gives a result with <see cref="HttpResult.Error"/> set and nothing else.</summary>
    public static async Task<HttpResult> SendAsync(Func<CancellationToken, ValueTask<Stream>> connect, byte[] request,
        TimeSpan idleTimeout, CancellationToken cancellationToken = default, bool shutdownWrite = false)
    {
        var clock = Stopwatch.StartNew();
        Stream stream;
        try
        {
            stream = await connect(cancellationToken).AsTask().WaitAsync(idleTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            return new HttpResult { Error = "Can't connect: connect timed out", Elapsed = clock.Elapsed };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new HttpResult { Error = $"Can't connect: {e.Message}", Elapsed = clock.Elapsed };
        }
        var result = await SendAsync(stream, request, idleTimeout, cancellationToken, shutdownWrite);
        result.Elapsed = clock.Elapsed;
        return result;
    }

    /// <summary>Sends one request on an already connected stream and reads one response to EOF.</summary>
    /// <param name="time">the clock of the idle timeout (a test's own; by default the system's)</param>
    public static async Task<HttpResult> SendAsync(Stream stream, byte[] request, TimeSpan idleTimeout,
        CancellationToken cancellationToken = default, bool shutdownWrite = false, TimeProvider? time = null)
    {
        var (raw, result) = await ExchangeAsync(stream, request, idleTimeout, cancellationToken, shutdownWrite, time);
        HttpResponseParser.ParseInto(result, raw, IsHead(request));
        result.Raw = raw;
        return result;
    }

    /// <summary>
    /// Sends pipelined requests (one byte string, see <see cref="RequestBuilder"/>) and splits what comes
    /// back into <paramref name="count"/> responses. Transport errors are reported on every result.
    /// </summary>
    public static async Task<List<HttpResult>> SendPipelinedAsync(Stream stream, byte[] requests, int count,
        TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        var (raw, transport) = await ExchangeAsync(stream, requests, idleTimeout, cancellationToken);
        var results = HttpResponseParser.ParsePipelined(raw, count, IsHead(requests));
        foreach (var r in results)
        {
            r.Error = transport.Error;
            r.TimedOut = transport.TimedOut;
            r.Elapsed = transport.Elapsed;
            r.Warnings.InsertRange(0, transport.Warnings);
        }
        return results;
    }

    private static async Task<(string Raw, HttpResult Transport)> ExchangeAsync(Stream stream, byte[] request,
        TimeSpan idleTimeout, CancellationToken cancellationToken, bool shutdownWrite = false, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var result = new HttpResult();
        var clock = Stopwatch.StartNew();
        var received = new MemoryStream();
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            try
            {
                await stream.WriteAsync(request, abort.Token).AsTask().WaitAsync(idleTimeout, time, cancellationToken);
                await stream.FlushAsync(abort.Token).WaitAsync(idleTimeout, time, cancellationToken);
                // `--- shutdown`: Test::Nginx half-closes its socket once the request is out
                if (shutdownWrite) ShutdownWrite(stream);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                // The server may have answered and closed early; still read what it sent.
                result.Warnings.Add($"write failed: {e.Message}");
            }

            var buffer = new byte[BufferSize];
            while (true)
            {
                int n;
                try
                {
                    n = await stream.ReadAsync(buffer, abort.Token).AsTask().WaitAsync(idleTimeout, time, cancellationToken);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    result.Warnings.Add($"HTTP response read failure: {e.Message}");
                    break;
                }
                if (n == 0) break;
                received.Write(buffer, 0, n);
            }
        }
        catch (TimeoutException)
        {
            result.Error = HttpResult.TimeoutError;
            result.TimedOut = true;
        }
        finally
        {
            abort.Cancel(); // releases a read still pending after a timeout
            await stream.DisposeAsync();
        }

        if (result.Warnings.Count > 0 && received.Length == 0 && result.Error == null
            && result.Warnings[0].StartsWith("write failed", StringComparison.Ordinal))
            result.Error = result.Warnings[0];

        result.Elapsed = clock.Elapsed;
        return (Encoding.Latin1.GetString(received.GetBuffer(), 0, (int)received.Length), result);
    }

    private static void ShutdownWrite(Stream stream)
    {
        switch (stream)
        {
            // Kestrel takes the end of its input for the end of the connection (it has no half-close),
            // so in memory the client just stops writing: nginx, too, reads nothing past the request
            // unless lua_check_client_abort watches the connection
            case Core.OpenResty.Net.DuplexPipeStream: break;
            case System.Net.Sockets.NetworkStream net: net.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send); break;
            default: throw new NotSupportedException($"--- shutdown: cannot half-close a {stream.GetType().Name}");
        }
    }

    private static bool IsHead(byte[] request) =>
        HeadRequest().IsMatch(Encoding.Latin1.GetString(request, 0, Math.Min(request.Length, 64)));

    [GeneratedRegex(@"\A[ \t\n\r\f\v]*HEAD[ \t\n\r\f\v]+")]
    private static partial Regex HeadRequest();
}
