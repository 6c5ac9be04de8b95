// Twin of apisix/balancer/ewma.lua
using System.Globalization;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Upstream;

/// <summary>
/// APISIX's <c>apisix/balancer/ewma.lua</c>: each server (host:port) has an exponentially
/// weighted moving average of its round-trip time, kept in the shared dicts
/// <c>balancer-ewma</c> (the average) and <c>balancer-ewma-last-touched-at</c> (when it was last
/// updated), decaying over <see cref="DecayTime"/> seconds. A pick draws two different servers
/// at random ("power of two choices") and takes the one with the lower decayed average; the end
/// of a request (<c>after_balance</c> outside a retry) folds its connect + response time into
/// the average of <c>$upstream_addr</c>. Weights play no part.
///
/// Lua guards the read-modify-write of an average with a <c>resty.lock</c> (timeout 0): here the
/// update is one synchronous step on the worker's loop and each dict operation is atomic, so no
/// other request can come between the read and the write of one worker; across workers the
/// last writer wins, as it does in Lua when the lock is not taken.
/// </summary>
public sealed class EwmaPicker : IServerPicker
{
    /// <summary>Seconds over which an average decays (<c>DECAY_TIME</c>).</summary>
    public const double DecayTime = 10;
    /// <summary>Seconds an average stays in the dicts (<c>SHM_TTL</c>).</summary>
    public const double ShmTtl = 60;

    public const string ShmEwma = "balancer-ewma";
    public const string ShmLastTouchedAt = "balancer-ewma-last-touched-at";

    private readonly List<(string Host, string Port)> _peers = new();
    private readonly int _nodesCount;
    private readonly SharedDict _ewma;
    private readonly SharedDict _lastTouchedAt;
    private readonly Random? _random;

    private EwmaPicker(IReadOnlyList<(string Id, int Weight)> nodes, SharedDict ewma, SharedDict lastTouchedAt, Random? random)
    {
        _ewma = ewma;
        _lastTouchedAt = lastTouchedAt;
        _random = random;
        var distinct = LeastConnPicker.Dedup(nodes);
        _nodesCount = distinct.Count;
        // _trans_format: {"host:port": weight} into [{host, port}]
        foreach (var (addr, _) in distinct)
        {
            var (host, port) = UpstreamConf.ParseAddr(addr);
            _peers.Add((host, port?.ToString(CultureInfo.InvariantCulture) ?? ""));
        }
    }

    /// <summary>
    /// <c>new(up_nodes, upstream)</c>: fails with "dictionary not find" when the nginx has no
    /// <c>balancer-ewma</c> or <c>balancer-ewma-last-touched-at</c> dict.
    /// </summary>
    public static (EwmaPicker? Picker, string? Error) New(IReadOnlyList<(string Id, int Weight)> nodes, Nginx? nginx, Random? random = null)
    {
        if (nginx == null || !nginx.SharedDicts.TryGetValue(ShmEwma, out var ewma)
                          || !nginx.SharedDicts.TryGetValue(ShmLastTouchedAt, out var touched))
            return (null, "dictionary not find");
        return (new EwmaPicker(nodes, ewma, touched, random), null);
    }

    private static double Now() => Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3);

    private static string UpstreamName(string host, string port) => host + ":" + port;

    private static double DecayEwma(double ewma, double lastTouchedAt, double rtt, double now)
    {
        var td = Math.Max(now - lastTouchedAt, 0);
        var weight = Math.Exp(-td / DecayTime);
        return ewma * weight + rtt * (1.0 - weight);
    }

    private static double Number(SharedDict dict, string key) =>
        dict.Get(key).Value switch { double d => d, long l => l, int i => i, _ => 0 };

    private void StoreStats(BalancerState state, string upstream, double ewma, double now)
    {
        var (ok, err) = _lastTouchedAt.Store("set", upstream, now, ShmTtl, 0);
        if (!ok) state.Ctx?.Log(LogLevel.Error, "shm_last_touched_at:set failed: " + err);
        (ok, err) = _ewma.Store("set", upstream, ewma, ShmTtl, 0);
        if (!ok) state.Ctx?.Log(LogLevel.Error, "shm_ewma:set failed: " + err);
    }

    private double GetOrUpdateEwma(BalancerState state, string upstream, double rtt, bool update)
    {
        var ewma = Number(_ewma, upstream);
        var now = Now();
        var lastTouchedAt = Number(_lastTouchedAt, upstream);
        ewma = DecayEwma(ewma, lastTouchedAt, rtt, now);
        if (update) StoreStats(state, upstream, ewma, now);
        return ewma;
    }

    /// <summary>The decayed average of a server right now (<c>score</c>).</summary>
    public double Score(string host, string port) => GetOrUpdateEwma(new BalancerState(), UpstreamName(host, port), 0, false);

    public (string? Server, string? Error) Get(BalancerState state)
    {
        if (_nodesCount == 0) return (null, "up_nodes empty");
        if (state.TriedServers != null && state.TriedCount == _nodesCount)
            return (null, "all upstream servers tried");
        if (_peers.Count == 0) return (null, "up_nodes trans error");

        var filtered = state.TriedServers == null
            ? _peers
            : _peers.Where(p => !state.TriedServers.Contains(UpstreamName(p.Host, p.Port))).ToList();
        if (filtered.Count == 0)
        {
            // Lua indexes an empty filtered list and fails; name the cause instead
            return (null, "all upstream servers tried");
        }

        var endpoint = filtered[0];
        if (filtered.Count > 1)
        {
            var rnd = _random ?? Random.Shared;
            var a = rnd.Next(filtered.Count);
            var b = rnd.Next(filtered.Count - 1);
            if (b >= a) b++;
            endpoint = filtered[a];
            var back = filtered[b];
            if (Score(endpoint.Host, endpoint.Port) > Score(back.Host, back.Port)) endpoint = back;
        }
        return (UpstreamName(endpoint.Host, endpoint.Port), null);
    }

    public void AfterBalance(BalancerState state, bool beforeRetry)
    {
        if (beforeRetry)
        {
            state.TriedServers ??= new HashSet<string>(StringComparer.Ordinal);
            if (state.Server != null) state.TriedServers.Add(state.Server);
            state.TriedCount++;
            return;
        }
        state.TriedServers = null;

        var vars = state.Ctx?.Var;
        if (vars == null) return;
        var responseTime = Seconds(vars.GetString("upstream_response_time"));
        var connectTime = Seconds(vars.GetString("upstream_connect_time"));
        var upstream = vars.GetString("upstream_addr");
        if (upstream == null) return; // "no upstream addr found"
        GetOrUpdateEwma(state, upstream, connectTime + responseTime, true);
    }

    // Lua adds the variable's string to a number, which converts it; a value it cannot convert
    // (several tries joined with ", ") is an error there, taken as 0 here.
    private static double Seconds(string? v) =>
        v != null && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : 0;

    public void BeforeRetryNextPriority(BalancerState state)
    {
        state.TriedServers = null;
        state.TriedCount = 0;
    }
}
