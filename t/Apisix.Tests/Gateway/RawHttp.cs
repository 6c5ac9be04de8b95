using System.Net.Sockets;
using System.Text;

namespace Apisix.Tests.Gateway;

/// <summary>Raw bytes over a real TCP connection, for input no HTTP client would send.</summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="request"/> and reads until the server closes (or <paramref name="seconds"/> pass).</summary>
    public static async Task<string> ExchangeAsync(int port, string request, double seconds = 30)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        return await ReadToCloseAsync(stream, seconds);
    }

    public static async Task<string> ReadToCloseAsync(NetworkStream stream, double seconds)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var buffer = new byte[16384];
        var all = new MemoryStream();
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0) break;
                all.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException) { all.Write("\n<<timeout>>"u8); }
        catch (IOException) { all.Write("\n<<reset>>"u8); }
        return Encoding.Latin1.GetString(all.ToArray());
    }

    /// <summary>A plain GET that closes the connection after the answer.</summary>
    public static Task<string> GetAsync(int port, string path) =>
        ExchangeAsync(port, $"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}
