using System.Threading.Channels;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// What listens for datagrams at one address on a network: it is handed each datagram with a way to
/// answer its sender.
/// </summary>
public delegate void UdpListener(byte[] datagram, Action<byte[]> reply);

/// <summary>
/// A datagram socket "connected" to one listener (ngx.socket.udp after setpeername): what it sends
/// goes to the listener, what the listener answers queues up for receive.
/// </summary>
public sealed class UdpPeer(UdpListener listener)
{
    private readonly Channel<byte[]> _replies = Channel.CreateUnbounded<byte[]>();
    private bool _closed;

    public void Send(byte[] datagram)
    {
        if (_closed) return;
        listener(datagram, reply =>
        {
            if (!_closed) _replies.Writer.TryWrite(reply);
        });
    }

    /// <summary>The next datagram, or null when <paramref name="ct"/> ends the wait first.</summary>
    public async Task<byte[]?> ReceiveAsync(CancellationToken ct)
    {
        try { return await _replies.Reader.ReadAsync(ct); }
        catch (OperationCanceledException) { return null; }
        catch (ChannelClosedException) { return null; }
    }

    public void Close()
    {
        _closed = true;
        _replies.Writer.TryComplete();
    }
}
