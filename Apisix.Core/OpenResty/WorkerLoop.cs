using System.Collections.Concurrent;

namespace Apisix.Core.OpenResty;

/// <summary>
/// The event loop of one emulated nginx worker: a dedicated thread that runs posted callbacks in
/// order. It is installed as the SynchronizationContext of its thread, so every `await` in code
/// started here resumes here, as everything in an nginx worker runs on one thread.
/// </summary>
public sealed class WorkerLoop : SynchronizationContext, IDisposable
{
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _queue = new();
    private readonly Thread _thread;
    private readonly Action<Exception> _onUnhandled;
    private readonly object _gate = new();
    private int _sleeping; // 1 while the loop waits, or is about to: a Post must wake it
    private volatile bool _stopped;

    public WorkerLoop(string name, Action<Exception> onUnhandled, bool reactor = false)
    {
        _onUnhandled = onUnhandled;
        if (reactor && Net.Reactor.Supported) Reactor = new Net.Reactor();
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>
    /// The loop's epoll (the gateway host on Linux): sockets registered here are served by the loop
    /// itself, with no other thread in between. Null for the runner's loops.
    /// </summary>
    internal Net.Reactor? Reactor { get; }

    /// <summary>A <see cref="System.IO.Pipelines.PipeScheduler"/> that queues onto this loop.</summary>
    public System.IO.Pipelines.PipeScheduler Scheduler => _scheduler ??= new LoopScheduler(this);
    private LoopScheduler? _scheduler;

    public bool IsCurrent => Thread.CurrentThread == _thread;

    [ThreadStatic] private static WorkerLoop? _current;

    /// <summary>The loop whose thread this is (also while its reactor dispatches, when no context is set), or null.</summary>
    public static new WorkerLoop? Current => _current;

    public override void Post(SendOrPostCallback d, object? state)
    {
        if (_stopped) return; // loop stopped: late continuations are dropped
        _queue.Enqueue((d, state));
        // posted by the loop's own thread (a socket event it is dispatching): it drains the queue
        // before it waits again, so waking it would only cost a write, a wait and a read
        if (_current == this) return;
        if (Volatile.Read(ref _sleeping) == 1 && Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1) Wake();
    }

    private void Wake()
    {
        if (Reactor != null) { Reactor.Wake(); return; }
        lock (_gate) Monitor.Pulse(_gate);
    }

    public override void Send(SendOrPostCallback d, object? state)
    {
        if (IsCurrent) { d(state); return; }
        using var done = new ManualResetEventSlim();
        Exception? error = null;
        Post(_ =>
        {
            try { d(state); } catch (Exception e) { error = e; }
            finally { done.Set(); }
        }, null);
        done.Wait();
        if (error != null) throw error;
    }

    public override SynchronizationContext CreateCopy() => this;

    /// <summary>Run an async function on the loop and complete when it does.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> func)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(async _ =>
        {
            try { tcs.SetResult(await func()); }
            catch (Exception e) { tcs.SetException(e); }
        }, null);
        return tcs.Task;
    }

    public Task RunAsync(Func<Task> func) => RunAsync(async () => { await func(); return true; });

    private void Run()
    {
        SetSynchronizationContext(this);
        _current = this;
        while (true)
        {
            // what is queued now runs first, in order; then the sockets that are ready
            var ran = 0;
            for (var n = _queue.Count; n > 0 && _queue.TryDequeue(out var item); n--, ran++)
            {
                try { item.Callback(item.State); }
                catch (Exception e) { _onUnhandled(e); }
            }
            if (Reactor != null && ran > 0) Poll(0);
            if (!_queue.IsEmpty) continue;
            if (_stopped) break;
            Interlocked.Exchange(ref _sleeping, 1);
            if (!_queue.IsEmpty || _stopped)
            {
                Volatile.Write(ref _sleeping, 0);
                continue;
            }
            if (Reactor != null) Poll(-1);
            else
            {
                lock (_gate)
                    if (Volatile.Read(ref _sleeping) == 1) Monitor.Wait(_gate);
            }
            Volatile.Write(ref _sleeping, 0);
        }
        Reactor?.Dispose();
    }

    /// <summary>
    /// Dispatch the reactor's events with no SynchronizationContext set: .NET runs a
    /// ConfigureAwait(false) continuation (HttpClient's, SslStream's) inline only where no context
    /// is, so the I/O they wait for resumes them here instead of on a thread-pool thread. Code that
    /// awaited with this loop's context still resumes on the loop, through its queue.
    /// </summary>
    private void Poll(int timeoutMs)
    {
        SetSynchronizationContext(null);
        try { Reactor!.Poll(timeoutMs); }
        finally { SetSynchronizationContext(this); }
    }

    public void Dispose()
    {
        _stopped = true;
        Interlocked.Exchange(ref _sleeping, 0);
        Wake();
        if (!IsCurrent) _thread.Join(TimeSpan.FromSeconds(5));
    }

    private sealed class LoopScheduler(WorkerLoop loop) : System.IO.Pipelines.PipeScheduler
    {
        public override void Schedule(Action<object?> action, object? state) =>
            loop.Post(static s => { var (a, st) = ((Action<object?>, object?))s!; a(st); }, (action, state));
    }
}
