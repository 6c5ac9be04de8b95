using System.Collections.Concurrent;
using System.Net;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// The one seam between the emulated nginx and the network it serves on: listening, name
/// resolution and connecting. <see cref="LoopbackNetwork"/> is the test runner's in-memory
/// loopback; <see cref="SocketNetwork"/> is the real one the gateway host uses. Everything
/// above it (workers, the request path, cosockets, the upstream proxy, the AI transport) is
/// the same code in both.
/// </summary>
public interface INetwork
{
    /// <summary>Names answered without DNS (a hosts file): the test world's few names, /etc/hosts for real.</summary>
    ConcurrentDictionary<string, IPAddress> Hosts { get; }

    /// <summary>
    /// Listen on addr:port (<see cref="IPAddress.Any"/>: every local address); with
    /// <paramref name="tls"/>, connections there start with a TLS handshake (<c>listen ... ssl</c>).
    /// </summary>
    void Bind(IPAddress addr, int port, ServerTls? tls = null);

    /// <summary>nginx stops: stop listening (in memory: also drop the open connections).</summary>
    void Reset();

    /// <summary>The address a host name (or IP literal, bracketed IPv6 included) resolves to, or null.</summary>
    IPAddress? Resolve(string host);

    /// <summary>
    /// Connect as a TCP client: the connected stream, or an error worded as nginx words it
    /// ("connection refused", "HOST could not be resolved (3: Host not found)", "timeout").
    /// </summary>
    ValueTask<(Stream? Stream, string? Error)> ConnectAsync(string host, int port, CancellationToken ct);

    /// <summary>Connect to a unix-domain stream socket: the stream, or null when nothing listens at the path.</summary>
    Stream? ConnectUnix(string path) => null;

    /// <summary>
    /// A datagram socket to addr:port, or to a unix datagram socket (<paramref name="path"/>): null when
    /// nothing listens there (what it sends is lost; a receive hears "connection refused").
    /// </summary>
    UdpPeer? ConnectUdp(System.Net.IPAddress? addr, int port, string? path) => null;
}
