using System.Diagnostics;

namespace Apisix.Core.OpenResty;

/// <summary>
/// One worker's event timers, as nginx keeps them in one tree keyed by expiry: `ngx.sleep` and
/// `ngx.timer.*` delays expire in deadline order (equal deadlines in the order they were set),
/// even when the worker was too busy to see them expire one by one. Separate `Task.Delay`s give
/// no such order once several are overdue.
/// </summary>
public sealed class WorkerTimers : IDisposable
{
    private readonly object _gate = new();
    private readonly PriorityQueue<Entry, (long Due, long Seq)> _queue = new();
    private readonly Timer _timer;
    private long _seq;
    private long _armedFor = long.MaxValue;

    private sealed class Entry(long due)
    {
        public readonly long Due = due;
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Cancel;
    }

    public WorkerTimers() => _timer = new Timer(_ => Expire());

    /// <summary>Complete after <paramref name="delay"/>; cancelled (without firing) when the token is.</summary>
    public Task DelayAsync(TimeSpan delay, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled(ct);
        var entry = new Entry(Stopwatch.GetTimestamp() + (long)(Math.Max(0, delay.TotalSeconds) * Stopwatch.Frequency));
        lock (_gate)
        {
            _queue.Enqueue(entry, (entry.Due, ++_seq));
            Arm();
        }
        if (ct.CanBeCanceled) entry.Cancel = ct.Register(() => entry.Done.TrySetCanceled(ct));
        return entry.Done.Task;
    }

    /// <summary>
    /// Fire everything due, earliest first, then wait for the next deadline. The firing happens
    /// under the lock: the timer re-armed here can call back on another thread while this one is
    /// still firing, and must not fire a later deadline ahead of this one's (completing only queues
    /// the continuation, to the waiter's loop or the thread pool, so nothing runs under the lock).
    /// </summary>
    private void Expire()
    {
        lock (_gate)
        {
            _armedFor = long.MaxValue;
            var now = Stopwatch.GetTimestamp();
            while (_queue.TryPeek(out var e, out var key) && key.Due <= now)
            {
                _queue.Dequeue();
                e.Cancel.Dispose();
                e.Done.TrySetResult();
            }
            Arm();
        }
    }

    // under _gate: make the timer fire at the earliest deadline
    private void Arm()
    {
        if (!_queue.TryPeek(out _, out var key) || key.Due >= _armedFor) return;
        _armedFor = key.Due;
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), key.Due);
        // round up to the next millisecond, so the timer never fires just before the deadline
        var ms = wait <= TimeSpan.Zero ? 0 : (long)Math.Ceiling(wait.TotalMilliseconds);
        _timer.Change(ms, Timeout.Infinite);
    }

    public void Dispose() => _timer.Dispose();
}
