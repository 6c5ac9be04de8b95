using System.Collections.Concurrent;

namespace Apisix.Core.OpenResty;

/// <summary>
/// The event loop of one emulated nginx worker: a dedicated thread that runs posted callbacks in
/// order. It is installed as the SynchronizationContext of its thread, so every `await` in code
/// started here resumes here, as everything in an nginx worker runs on one thread.
/// </summary>
public sealed class WorkerLoop : SynchronizationContext, IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = new();
    private readonly Thread _thread;
    private readonly Action<Exception> _onUnhandled;

    public WorkerLoop(string name, Action<Exception> onUnhandled)
    {
        _onUnhandled = onUnhandled;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public bool IsCurrent => Thread.CurrentThread == _thread;

    public override void Post(SendOrPostCallback d, object? state)
    {
        try { _queue.Add((d, state)); }
        catch (InvalidOperationException) { } // loop stopped: late continuations are dropped
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
        foreach (var (callback, state) in _queue.GetConsumingEnumerable())
        {
            try { callback(state); }
            catch (Exception e) { _onUnhandled(e); }
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        if (!IsCurrent) _thread.Join(TimeSpan.FromSeconds(5));
    }
}
