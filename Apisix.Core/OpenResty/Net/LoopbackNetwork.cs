using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// An in-memory "loopback": which addresses and ports are listening, name resolution for the
/// few hosts a test world knows, and connecting. No real port is taken, so several worlds
/// (one per .t file) can run side by side.
/// </summary>
public sealed class LoopbackNetwork : INetwork
{
    private readonly ConcurrentDictionary<(IPAddress Addr, int Port), ServerTls?> _bound = new();
    private readonly ConcurrentDictionary<InMemoryConnection, byte> _open = new();
    private readonly Channel<InMemoryConnection> _accepted = Channel.CreateUnbounded<InMemoryConnection>();
    private readonly ConcurrentDictionary<(IPAddress Addr, int Port), Action<InMemoryConnection>> _raw = new();
    private readonly ConcurrentDictionary<string, Action<InMemoryConnection>> _unix = new(StringComparer.Ordinal);
    private long _nextClientPort = 40000;

    /// <summary>Host names this network resolves besides IP literals.</summary>
    public ConcurrentDictionary<string, IPAddress> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["localhost"] = IPAddress.Loopback,
    };

    /// <summary>Connections accepted for any bound endpoint; the HTTP server consumes them.</summary>
    public ChannelReader<InMemoryConnection> Accepted => _accepted.Reader;

    /// <summary>
    /// Listen on addr:port; <see cref="IPAddress.Any"/> listens on every local address. With
    /// <paramref name="tls"/>, connections to it start with a TLS handshake (`listen ... ssl`).
    /// </summary>
    public void Bind(IPAddress addr, int port, ServerTls? tls = null) => _bound[(addr, port)] = tls;

    /// <summary>The TLS side of the listen a connection reached, or null for plain TCP.</summary>
    public ServerTls? TlsFor(EndPoint? local)
    {
        if (local is not IPEndPoint ep) return null;
        if (_bound.TryGetValue((ep.Address, ep.Port), out var tls)) return tls;
        return IsLocal(ep.Address) && _bound.TryGetValue((IPAddress.Any, ep.Port), out tls) ? tls : null;
    }

    /// <summary>Stop listening everywhere and drop every open connection (the world is torn down).</summary>
    public void Reset()
    {
        _bound.Clear();
        _raw.Clear();
        _unix.Clear();
        _udp.Clear();
        foreach (var c in _open.Keys) c.Kill();
        _open.Clear();
    }

    public bool IsBound(IPAddress addr, int port) =>
        _bound.ContainsKey((addr, port)) || (IsLocal(addr) && _bound.ContainsKey((IPAddress.Any, port)));

    /// <summary>
    /// A listener outside the emulated nginx (a test's mock TCP server): connections to addr:port
    /// (or, for <see cref="IPAddress.Any"/>, any local address) are handed to <paramref name="onAccept"/>,
    /// which owns the server end (<see cref="ServerStream"/>). It wins over an nginx listen on the same port.
    /// </summary>
    public void BindRaw(IPAddress addr, int port, Action<InMemoryConnection> onAccept) => _raw[(addr, port)] = onAccept;

    public void UnbindRaw(IPAddress addr, int port) => _raw.TryRemove((addr, port), out _);

    /// <summary>A unix-domain stream socket at <paramref name="path"/> served by <paramref name="onAccept"/>.</summary>
    public void BindUnix(string path, Action<InMemoryConnection> onAccept) => _unix[path] = onAccept;

    public void UnbindUnix(string path) => _unix.TryRemove(path, out _);

    private readonly ConcurrentDictionary<string, UdpListener> _udp = new(StringComparer.Ordinal);

    /// <summary>A datagram listener outside nginx (a test's mock UDP server) at addr:port.</summary>
    public void BindUdp(IPAddress addr, int port, UdpListener listener) => _udp[$"{addr}:{port}"] = listener;

    /// <summary>A datagram listener at a unix socket path.</summary>
    public void BindUdpUnix(string path, UdpListener listener) => _udp["unix:" + path] = listener;

    public void UnbindUdp(IPAddress addr, int port) => _udp.TryRemove($"{addr}:{port}", out _);

    public void UnbindUdpUnix(string path) => _udp.TryRemove("unix:" + path, out _);

    public UdpPeer? ConnectUdp(IPAddress? addr, int port, string? path)
    {
        UdpListener? found = null;
        if (path != null) _udp.TryGetValue("unix:" + path, out found);
        else if (addr != null && !_udp.TryGetValue($"{addr}:{port}", out found) && IPAddress.IsLoopback(addr))
            _udp.TryGetValue($"{IPAddress.Any}:{port}", out found);
        return found == null ? null : new UdpPeer(found);
    }

    /// <summary>The server's end of an in-memory connection as a stream (for raw listeners).</summary>
    public static Stream ServerStream(InMemoryConnection conn) =>
        new DuplexPipeStream(conn.Transport.Input, conn.Transport.Output);

    private Action<InMemoryConnection>? RawListener(IPAddress addr, int port) =>
        _raw.TryGetValue((addr, port), out var h) ? h
        : IsLocal(addr) && _raw.TryGetValue((IPAddress.Any, port), out h) ? h
        : IsLocal(addr) && _raw.TryGetValue((IPAddress.Loopback, port), out h) ? h : null;

    /// <summary>
    /// nginx's `listen unix:PATH`: connections to the path reach the HTTP server as if they came to
    /// loopback port <paramref name="port"/> (from 64500 up, one per path, which names the server).
    /// </summary>
    public void BindUnixServer(string path, int port) =>
        _unix[path] = conn => _accepted.Writer.TryWrite(conn);

    private readonly ConcurrentDictionary<string, int> _unixPorts = new(StringComparer.Ordinal);

    /// <summary>The synthetic loopback port of the nginx server listening at a unix path.</summary>
    public int UnixServerPort(string path) => _unixPorts.GetOrAdd(path, _ => 64500 + _unixPorts.Count);

    /// <summary>Connect to a unix-domain socket: the client's stream, or null when nothing listens at the path.</summary>
    public Stream? ConnectUnix(string path)
    {
        if (!_unix.TryGetValue(path, out var onAccept)) return null;
        if (_unixPorts.TryGetValue(path, out var port))
        {
            var server = NewConnection(new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.Loopback, 0));
            onAccept(server);
            return server.ClientStream;
        }
        var conn = NewConnection(new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.Loopback, 0));
        onAccept(conn);
        return conn.ClientStream;
    }

    private InMemoryConnection NewConnection(IPEndPoint local, IPEndPoint remote)
    {
        var conn = new InMemoryConnection(local, remote);
        _open[conn] = 0;
        conn.ConnectionClosed.Register(() => _open.TryRemove(conn, out _));
        return conn;
    }

    private static bool IsLocal(IPAddress a) => IPAddress.IsLoopback(a) || a.Equals(IPAddress.Any);

    public IPAddress? Resolve(string host)
    {
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (IPAddress.TryParse(host, out var ip)) return ip;
        return Hosts.TryGetValue(host, out var a) ? a : null;
    }

    /// <summary>
    /// Connect as a TCP client. Returns the client's stream, or an error worded as nginx words it
    /// ("connection refused", "no resolver defined to resolve ...").
    /// </summary>
    public (Stream? Stream, string? Error) Connect(string host, int port)
    {
        var ip = Resolve(host);
        if (ip is null) return (null, $"{host} could not be resolved (3: Host not found)");
        var raw = RawListener(ip, port);
        if (raw == null && !IsBound(ip, port) && IsLocal(ip) && ExternalPorts.Contains(port)) return ConnectExternal(port);
        if (raw == null && !IsBound(ip, port)) return (null, "connection refused");
        var remotePort = (int)(Interlocked.Increment(ref _nextClientPort) % 20000) + 40000;
        var conn = NewConnection(new IPEndPoint(ip, port),
            new IPEndPoint(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, remotePort));
        if (raw != null) raw(conn);
        else _accepted.Writer.TryWrite(conn);
        return (conn.ClientStream, null);
    }

    public ValueTask<(Stream? Stream, string? Error)> ConnectAsync(string host, int port, CancellationToken ct) =>
        ValueTask.FromResult(Connect(host, port));

    public void Complete() => _accepted.Writer.TryComplete();

    /// <summary>
    /// Loopback ports served by real processes of this machine rather than by the test world
    /// (the redis-server upstream's tests expect on 127.0.0.1:6379): a connection to one that no
    /// in-memory server binds goes out on a real socket. <c>APISIX_EXTERNAL_PORTS</c> (comma
    /// separated) replaces the default list.
    /// </summary>
    public static IReadOnlySet<int> ExternalPorts { get; } =
        (Environment.GetEnvironmentVariable("APISIX_EXTERNAL_PORTS") ?? "6379")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => int.TryParse(p, out var n) ? n : -1).Where(n => n > 0).ToHashSet();

    private static (Stream? Stream, string? Error) ConnectExternal(int port)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork,
            System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // a loopback connect answers at once: accepted, or refused
            socket.Connect(IPAddress.Loopback, port);
            return (new System.Net.Sockets.NetworkStream(socket, ownsSocket: true), null);
        }
        catch (System.Net.Sockets.SocketException)
        {
            socket.Dispose();
            return (null, "connection refused");
        }
    }
}
