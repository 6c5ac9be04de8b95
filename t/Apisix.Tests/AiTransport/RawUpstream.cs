using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Apisix.Core.OpenResty.Net;

namespace Apisix.Tests.AiTransport;

/// <summary>
/// One in-memory connection to a scripted upstream that writes raw bytes: the test decides exactly
/// how the response is cut into writes (several HTTP chunks in one write, one chunk over two).
/// </summary>
public sealed class RawUpstream
{
    private readonly Pipe _toServer = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _toClient = new(new PipeOptions(useSynchronizationContext: false));
    private int _connects;

    public RawUpstream() => Client = new DuplexPipeStream(_toClient.Reader, _toServer.Writer);

    /// <summary>The client's end of the connection.</summary>
    public Stream Client { get; }

    /// <summary>How many times the transport connected (the connect seam hands out this one connection).</summary>
    public int Connects => _connects;

    /// <summary>Route every connect of <paramref name="w"/>'s nginx to this connection.</summary>
    public RawUpstream Attach(AiUpstreamWorld w)
    {
        w.Nginx.TcpConnectAsync = (_, _, _) =>
        {
            Interlocked.Increment(ref _connects);
            return ValueTask.FromResult(Client);
        };
        return this;
    }

    /// <summary>Read one request (head and a Content-Length body); returns its request line.</summary>
    public async Task<string> ReadRequestAsync()
    {
        var reader = _toServer.Reader;
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            var text = Encoding.Latin1.GetString(result.Buffer.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var head = text[..end];
                var length = 0;
                foreach (var line in head.Split("\r\n"))
                    if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                        length = int.Parse(line["Content-Length:".Length..].Trim());
                var total = end + 4 + length;
                if (text.Length >= total)
                {
                    LastRequest = text[..total];
                    reader.AdvanceTo(result.Buffer.GetPosition(total));
                    return head.Split("\r\n")[0];
                }
            }
            if (result.IsCompleted) throw new IOException("client went away mid-request");
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>The last request read, head and body, as it came over the wire.</summary>
    public string LastRequest { get; private set; } = "";

    /// <summary>Close the upstream's side: the client reads the end of the stream.</summary>
    public async Task CloseAsync() => await _toClient.Writer.CompleteAsync();

    /// <summary>Send these bytes in one write.</summary>
    public async Task WriteAsync(string raw)
    {
        await _toClient.Writer.WriteAsync(Encoding.Latin1.GetBytes(raw));
    }
}
