// Twin of resty/limit/conn.lua (lua-resty-limit-traffic), the local policy of limit-conn
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin.LimitConnImpl;

/// <summary>
/// <c>resty.limit.conn</c>: a counter of requests in flight per key in a shared dict. Up to
/// <c>max</c> pass at once, up to <c>burst</c> more pass after a delay that grows with their
/// number, the rest are rejected; <see cref="Leaving"/> counts a request out.
/// </summary>
public sealed class RestyLimitConn(SharedDict dict, double max, double burst, double defaultConnDelay)
{
    private double _unitDelay = defaultConnDelay;

    /// <summary>Whether the last <see cref="Incoming"/> counted the request in (<c>is_committed</c>).</summary>
    public bool Committed { get; private set; }

    /// <summary><c>incoming(key, commit)</c>: (delay in seconds, connections) or a null delay and the error.</summary>
    public (double? Delay, double Conn, string? Error) Incoming(string key, bool commit)
    {
        Committed = false;
        double conn;
        if (commit)
        {
            var (v, err) = dict.Incr(key, 1, 0, 0);
            if (v == null) return (null, 0, err);
            conn = Convert.ToDouble(v);
            if (conn > max + burst)
            {
                var (back, err2) = dict.Incr(key, -1, null, 0);
                if (back == null) return (null, 0, err2);
                return (null, 0, "rejected");
            }
            Committed = true;
        }
        else
        {
            conn = (dict.Get(key).Value is double d ? d : 0) + 1;
            if (conn > max + burst) return (null, 0, "rejected");
        }
        if (conn > max) return (_unitDelay * Math.Floor((conn - 1) / max), conn, null);
        return (0, conn, null);
    }

    /// <summary><c>leaving(key, req_latency)</c>: the connections left, or the error.</summary>
    public (double? Conn, string? Error) Leaving(string key, double? reqLatency)
    {
        var (v, err) = dict.Incr(key, -1, null, 0);
        if (v == null) return (null, err);
        if (reqLatency != null) _unitDelay = (reqLatency.Value + _unitDelay) / 2;
        return (Convert.ToDouble(v), null);
    }
}
