using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Upstream;

/// <summary>
/// One worker's upstream keepalive pools: what <c>set_current_peer</c> in apisix/balancer.lua asks
/// of lua-nginx-module's balancer keepalive. A pool is named
/// <c>scheme#host#port</c> (plus <c>#sni</c>, and <c>#client_cert</c>, for https), its size is
/// fixed by the first request that names it, and it caches idle connections most recent first,
/// closing the oldest one when full. A cached connection leaves the pool when its peer closes it,
/// when it has been idle for idle_timeout, or when it has served <c>requests</c> requests.
/// </summary>
public sealed class UpstreamKeepalive
{
    private static readonly ConditionalWeakTable<LuaWorker, UpstreamKeepalive> PerWorker = new();

    /// <summary>The pools of a worker (nginx keeps them per worker process).</summary>
    public static UpstreamKeepalive Of(LuaWorker worker) => PerWorker.GetValue(worker, _ => new UpstreamKeepalive());

    /// <summary>A pool's name and the limits that apply to the request's connection.</summary>
    public sealed record Target(string Pool, int Size, TimeSpan IdleTimeout, int Requests);

    private sealed class Pool(int size)
    {
        public int Size { get; } = size;
        public LinkedList<UpstreamHttpConnection> Idle { get; } = new();
    }

    private readonly Dictionary<string, Pool> _pools = new(StringComparer.Ordinal);
    private readonly object _lock = new();
    private Action<UpstreamHttpConnection>? _drop;

    /// <summary>
    /// The target for an upstream: its <c>keepalive_pool</c>, else the defaults of
    /// <c>nginx_config.http.upstream</c> (keepalive, keepalive_timeout, keepalive_requests).
    /// </summary>
    public static Target TargetFor(ApisixConfig config, UpstreamConf up, string scheme, string host, int port, string? sni)
    {
        // an upstream read once per version (UpstreamProxy) asks for the same peer request after request
        if (up.LastKeepaliveTarget is { } last && last.Port == port && ReferenceEquals(last.Config, config)
            && last.Scheme == scheme && last.Host == host && last.Sni == sni)
            return last.Target;
        var target = NewTarget(config, up, scheme, host, port, sni);
        up.LastKeepaliveTarget = new(config, scheme, host, port, sni, target);
        return target;
    }

    private static Target NewTarget(ApisixConfig config, UpstreamConf up, string scheme, string host, int port, string? sni)
    {
        var (size, idle, requests) = up.Raw?["keepalive_pool"] is JsonObject kp
            ? ((int)Number(kp["size"], 320), Number(kp["idle_timeout"], 60), (int)Number(kp["requests"], 1000))
            : Defaults.GetValue(config, DefaultsOf).Value;
        var pool = scheme + "#" + host + "#" + port.ToString(CultureInfo.InvariantCulture);
        if (scheme is "https" or "grpcs")
        {
            pool += "#" + sni;
            if (up.Raw?["tls"] is JsonObject tls && JsonScalars.TryGetString(tls["client_cert"], out var cert)) pool += "#" + cert;
        }
        return new Target(pool, size, TimeSpan.FromSeconds(idle), requests);
    }

    private static double Number(JsonNode? v, double fallback) => JsonScalars.TryGetNumber(v, out var n) ? n : fallback;

    // as set_current_peer's default_keepalive_pool: read from the config once, not per request
    private static readonly ConditionalWeakTable<ApisixConfig, StrongBox<(int Size, double Idle, int Requests)>> Defaults = new();

    private static StrongBox<(int, double, int)> DefaultsOf(ApisixConfig config)
    {
        var conf = config.Get("nginx_config", "http", "upstream") as JsonObject;
        var idle = conf?["keepalive_timeout"] switch
        {
            JsonValue v when v.TryGetValue(out string? text) => ConfigUtil.ParseTimeUnit(text).Seconds ?? 60,
            var v => Number(v, 60),
        };
        return new(((int)Number(conf?["keepalive"], 320), idle, (int)Number(conf?["keepalive_requests"], 1000)));
    }

    /// <summary>The most recently cached idle connection of the pool, if any.</summary>
    public UpstreamHttpConnection? Take(Target target)
    {
        lock (_lock)
        {
            if (!_pools.TryGetValue(target.Pool, out var pool) || pool.Idle.First is not { } first) return null;
            pool.Idle.RemoveFirst();
            var conn = first.Value;
            // its idle timer is left to run: the next caching re-arms it, and should it fire while a
            // request has the connection, the drop finds nothing in the pool to remove
            conn.Parked = false;
            return conn;
        }
    }

    /// <summary>
    /// After a response: cache the connection if it may serve another request, else close it.
    /// </summary>
    public async ValueTask SaveOrCloseAsync(Target target, UpstreamHttpConnection conn)
    {
        if (!conn.Reusable || conn.Requests >= target.Requests || target.IdleTimeout <= TimeSpan.Zero)
        {
            await conn.DisposeAsync();
            return;
        }
        // the read is posted before the connection can be taken, so a taker always finds it
        conn.Park(_drop ??= Drop);
        UpstreamHttpConnection? evicted = null;
        lock (_lock)
        {
            if (!_pools.TryGetValue(target.Pool, out var pool)) _pools[target.Pool] = pool = new Pool(target.Size);
            // the connection's own list node and idle timer, made once and reused each time it is cached
            pool.Idle.AddFirst(conn.PoolNode ??= new LinkedListNode<UpstreamHttpConnection>(conn));
            if (pool.Idle.Count > pool.Size)
            {
                var last = pool.Idle.Last!.Value;
                pool.Idle.RemoveLast();
                last.IdleTimer?.Change(Timeout.Infinite, Timeout.Infinite);
                evicted = last;
            }
            conn.IdleOwner = this;
            conn.IdleTimer ??= new Timer(static s =>
            {
                var c = (UpstreamHttpConnection)s!;
                c.IdleOwner?.Drop(c);
            }, conn, Timeout.Infinite, Timeout.Infinite);
            conn.IdleTimer.Change(target.IdleTimeout, Timeout.InfiniteTimeSpan);
        }
        if (conn.ClosedWhileIdle) Drop(conn); // the peer closed it before it was in the pool
        if (evicted != null) await evicted.DisposeAsync();
    }

    /// <summary>A cached connection closed by its peer or idle too long: out of the pool, closed.</summary>
    private void Drop(UpstreamHttpConnection conn)
    {
        var found = false;
        lock (_lock)
        {
            foreach (var pool in _pools.Values)
            {
                for (var node = pool.Idle.First; node != null; node = node.Next)
                {
                    if (!ReferenceEquals(node.Value, conn)) continue;
                    pool.Idle.Remove(node);
                    conn.IdleTimer?.Change(Timeout.Infinite, Timeout.Infinite);
                    found = true;
                    break;
                }
                if (found) break;
            }
        }
        if (found) _ = conn.DisposeAsync().AsTask();
    }

    /// <summary>Idle connections cached in all pools (for tests and diagnostics).</summary>
    public int IdleCount
    {
        get { lock (_lock) return _pools.Values.Sum(p => p.Idle.Count); }
    }
}
