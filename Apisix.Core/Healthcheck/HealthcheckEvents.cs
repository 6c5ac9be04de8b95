using System.Runtime.CompilerServices;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Healthcheck;

/// <summary>What a health event is about: one target of one checker.</summary>
public sealed record HealthTarget(string Ip, int Port, string Hostname);

/// <summary>
/// The per-nginx pieces health checkers share across the emulated workers, standing in for
/// lua-resty-events (a broadcast that reaches every worker, the sender included, later on each
/// worker's own loop) and for resty.lock over the health-check shared dict.
/// </summary>
public sealed class HealthcheckEvents
{
    private static readonly ConditionalWeakTable<Nginx, HealthcheckEvents> All = new();

    private readonly object _gate = new();
    private readonly Dictionary<string, List<(LuaWorker Worker, Action<string, HealthTarget?> Handler)>> _handlers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, object> _locks = new(StringComparer.Ordinal);

    private HealthcheckEvents(Nginx nginx) => Nginx = nginx;

    public Nginx Nginx { get; }

    /// <summary>The event bus and locks of <paramref name="nginx"/> (created on first use).</summary>
    public static HealthcheckEvents Of(Nginx nginx) => All.GetValue(nginx, n => new HealthcheckEvents(n));

    /// <summary>Subscribe <paramref name="handler"/> to <paramref name="source"/>; it runs on <paramref name="worker"/>'s loop.</summary>
    public void Register(string source, LuaWorker worker, Action<string, HealthTarget?> handler)
    {
        lock (_gate)
        {
            if (!_handlers.TryGetValue(source, out var list)) _handlers[source] = list = new();
            list.Add((worker, handler));
        }
    }

    public void Unregister(string source, Action<string, HealthTarget?> handler)
    {
        lock (_gate)
        {
            if (!_handlers.TryGetValue(source, out var list)) return;
            list.RemoveAll(h => h.Handler == handler);
            if (list.Count == 0) _handlers.Remove(source);
        }
    }

    /// <summary>Broadcast an event: every subscriber gets it asynchronously, on its own worker's loop.</summary>
    public void Post(string source, string evt, HealthTarget? target)
    {
        List<(LuaWorker Worker, Action<string, HealthTarget?> Handler)> subs;
        lock (_gate)
        {
            if (!_handlers.TryGetValue(source, out var list)) return;
            subs = list.ToList();
        }
        foreach (var (worker, handler) in subs)
        {
            if (worker.Exiting || Nginx.Stopping.IsCancellationRequested) continue;
            worker.Loop.Post(_ =>
            {
                // it may have unsubscribed (checker stopped) between the post and now
                lock (_gate)
                    if (!_handlers.TryGetValue(source, out var now) || !now.Any(h => h.Handler == handler)) return;
                try { handler(evt, target); }
                catch (Exception e) { Nginx.Log(worker, LogLevel.Error, $"health event handler failed: {e.Message}", null); }
            }, null);
        }
    }

    /// <summary>
    /// Run <paramref name="fn"/> holding the named lock (resty.lock on the shared dict). The locked
    /// sections are short and never await, so a monitor shared by the worker threads does.
    /// </summary>
    public T RunLocked<T>(string key, Func<T> fn)
    {
        object l;
        lock (_gate)
            if (!_locks.TryGetValue(key, out l!)) _locks[key] = l = new object();
        lock (l) return fn();
    }
}
