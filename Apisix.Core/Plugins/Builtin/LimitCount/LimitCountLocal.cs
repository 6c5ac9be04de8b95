// Twin of apisix/plugins/limit-count/limit-count-local.lua
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin.LimitCountImpl;

/// <summary>
/// The <c>local</c> policy: a fixed-window counter in the worker's shared dict
/// <c>plugin-NAME</c> (resty.limit.count), and the window's end time in
/// <c>plugin-NAME-reset-header</c>, from which the reset header is read.
/// </summary>
public sealed class LimitCountLocal
{
    private readonly SharedDict _counters;
    private readonly SharedDict? _resets;
    private readonly Func<double> _now;

    public LimitCountLocal(SharedDict counters, SharedDict? resets, long limit, long window, Func<double> now)
    {
        _counters = counters;
        _resets = resets;
        Limit = limit;
        Window = window;
        _now = now;
    }

    public long Limit { get; }
    public long Window { get; }

    /// <summary>
    /// <c>incoming(key, cost)</c>: (delay, remaining, reset) when the request may pass; a null
    /// delay and the error ("rejected") otherwise.
    /// </summary>
    public (double? Delay, object Remaining, double Reset) Incoming(string key, long cost)
    {
        var (value, err) = _counters.Incr(key, cost, 0, Window);
        if (value == null) return (null, err ?? "failed to incr", 0);
        var consumed = Convert.ToInt64(value);
        double reset;
        if (consumed > Limit)
        {
            reset = ReadReset(key);
            return (null, "rejected", reset);
        }
        var remaining = Limit - consumed;
        reset = remaining == Limit - cost ? SetEndTime(key) : ReadReset(key);
        return (0, remaining, reset);
    }

    private double SetEndTime(string key)
    {
        _resets?.Store("set", key, _now() + Window, Window, 0);
        return Window;
    }

    private double ReadReset(string key)
    {
        var end = _resets?.Get(key).Value is double d ? d : 0;
        var reset = end - _now();
        return reset < 0 ? 0 : reset;
    }
}
