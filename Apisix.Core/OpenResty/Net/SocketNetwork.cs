using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// The real network, for the gateway host: TCP sockets, /etc/hosts and the system resolver.
/// Listening itself is Kestrel's socket transport (<see cref="HttpServerHost.StartSocketsAsync"/>),
/// bound before nginx starts; <see cref="Bind"/> only records what the configuration listens on.
/// </summary>
public sealed class SocketNetwork : INetwork
{
    private readonly ConcurrentDictionary<(IPAddress, int), bool> _bound = new();

    public SocketNetwork(string hostsFile = "/etc/hosts")
    {
        Hosts["localhost"] = IPAddress.Loopback;
        foreach (var (name, ip) in ReadHostsFile(hostsFile)) Hosts.TryAdd(name, ip);
    }

    public ConcurrentDictionary<string, IPAddress> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the workers serve their sockets themselves, each loop on its own epoll
    /// (<see cref="Reactor"/>), as an nginx worker does: a connection made on a worker's loop then
    /// never leaves that thread. Off: .NET's sockets, whose completions come from the thread pool.
    /// </summary>
    public bool UseReactor { get; init; } = true;

    /// <summary>How long a connect may take when the caller gives no shorter deadline (nginx's proxy_connect_timeout default).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(60);

    public void Bind(IPAddress addr, int port, ServerTls? tls = null)
    {
        // the host's listens come from config.yaml, which has no TLS listen here yet
        if (tls != null) throw new NotSupportedException($"listen {addr}:{port} ssl: TLS listens are not supported by the gateway host yet");
        _bound[(addr, port)] = true;
    }

    public void Reset() => _bound.Clear();

    public IReadOnlyCollection<(IPAddress Addr, int Port)> Bound => _bound.Keys.ToList();

    public IPAddress? Resolve(string host)
    {
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (IPAddress.TryParse(host, out var ip)) return ip;
        if (Hosts.TryGetValue(host, out var known)) return known;
        try
        {
            var all = Dns.GetHostAddresses(host);
            return all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault();
        }
        catch (SocketException) { return null; }
    }

    private static async ValueTask<IPAddress?> ResolveAsync(SocketNetwork net, string host, CancellationToken ct)
    {
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (IPAddress.TryParse(host, out var ip)) return ip;
        if (net.Hosts.TryGetValue(host, out var known)) return known;
        try
        {
            var all = await Dns.GetHostAddressesAsync(host, ct);
            return all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault();
        }
        catch (SocketException) { return null; }
    }

    public async ValueTask<(Stream? Stream, string? Error)> ConnectAsync(string host, int port, CancellationToken ct)
    {
        var ip = await ResolveAsync(this, host, ct);
        if (ip is null) return (null, $"{host} could not be resolved (3: Host not found)");
        if (WorkerLoop.Current is { Reactor: not null } loop)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(ConnectTimeout);
            try { return await ReactorSocket.ConnectAsync(loop, ip, port, deadline.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return (null, "timeout"); }
        }
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(ip, port), timeout.Token);
            return (new NetworkStream(socket, ownsSocket: true), null);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            return (null, e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.TimedOut => "timeout",
                SocketError.NetworkUnreachable or SocketError.HostUnreachable => "no route to host",
                _ => e.Message,
            });
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            if (ct.IsCancellationRequested) throw;
            return (null, "timeout");
        }
    }

    private static IEnumerable<(string Name, IPAddress Ip)> ReadHostsFile(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (IOException) { yield break; }
        catch (UnauthorizedAccessException) { yield break; }
        foreach (var raw in lines)
        {
            var line = raw.Split('#')[0];
            var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !IPAddress.TryParse(parts[0], out var ip)) continue;
            foreach (var name in parts.Skip(1)) yield return (name, ip);
        }
    }
}
