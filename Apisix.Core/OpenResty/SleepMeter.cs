using System.Diagnostics;

namespace Apisix.Core.OpenResty;

/// <summary>
/// How long requests spent in `ngx.sleep` (and in pauses a test harness adds on the request
/// path): the union of the sleeping intervals, so two requests sleeping at once count once.
/// Benchmarks subtract it from a block's wall time to see the runner's own cost.
/// </summary>
public sealed class SleepMeter(Func<long>? timestamp = null)
{
    private readonly Func<long> _now = timestamp ?? Stopwatch.GetTimestamp;
    private readonly object _gate = new();
    private int _active;
    private long _since;
    private long _ticks;

    /// <summary>Sleeping time so far (in <see cref="Stopwatch"/> ticks), including a sleep still in progress.</summary>
    public TimeSpan Total
    {
        get
        {
            lock (_gate)
                return Stopwatch.GetElapsedTime(0, _ticks + (_active > 0 ? _now() - _since : 0));
        }
    }

    /// <summary>Wait <paramref name="delay"/>, counting it as sleep.</summary>
    public async Task SleepAsync(TimeSpan delay, CancellationToken ct)
    {
        using (Measure()) await Task.Delay(delay, ct);
    }

    /// <summary>Counts as sleeping until disposed.</summary>
    public IDisposable Measure()
    {
        lock (_gate)
            if (_active++ == 0) _since = _now();
        return new Sleeping(this);
    }

    private void Exit()
    {
        lock (_gate)
            if (--_active == 0) _ticks += _now() - _since;
    }

    private sealed class Sleeping(SleepMeter meter) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) meter.Exit();
        }
    }
}
