namespace Apisix.Core.OpenResty;

/// <summary>
/// lua-nginx-module's cache of spent Lua threads (`lua_thread_cache_max_entries`, 1024 by default),
/// kept for its debug log lines: an entry thread of rewrite/access/content, an ngx.timer's thread and
/// a user thread are taken from the cache when it holds one ("lua reusing cached lua thread %p (ref
/// %d)"), else made anew ("lua ref lua thread ..."); an entry thread (a request's or a timer's) that
/// is over goes back while free slots remain ("lua caching unused lua thread ..."), any other is let
/// go ("http lua unref thread ..."). The threads here are names only (an address and a registry reference, as nginx prints them);
/// the coroutines themselves are the worker's.
/// </summary>
public sealed class LuaThreadCache(int maxEntries)
{
    public readonly record struct Thread(long Address, int Ref)
    {
        /// <summary>As nginx's `%p (ref %d)`: the address in 16 upper-case hex digits.</summary>
        public override string ToString() => $"{Address:X16} (ref {Ref})";
    }

    private readonly Stack<Thread> _cached = new();
    private int _nextRef = 1;
    private long _nextAddress = 0x00007F3A5C0E1000;

    /// <summary>A thread for a new entry or user thread: a cached one (<paramref name="reused"/>) or a new one.</summary>
    public Thread Take(out bool reused)
    {
        reused = _cached.TryPop(out var t);
        return reused ? t : new Thread(_nextAddress += 0x1F0, _nextRef++);
    }

    /// <summary>An entry thread is over: cached while the cache has room (true), else let go.</summary>
    public bool Release(Thread t)
    {
        if (_cached.Count >= maxEntries) return false;
        _cached.Push(t);
        return true;
    }

    /// <summary>The debug line of <see cref="Take"/>.</summary>
    public static string TakenLine(Thread t, bool reused) =>
        reused ? $"lua reusing cached lua thread {t}" : $"lua ref lua thread {t}";

    /// <summary>The debug line of <see cref="Release"/>.</summary>
    public static string ReleasedLine(Thread t, bool cached) =>
        cached ? $"lua caching unused lua thread {t}" : $"http lua unref thread {t.Address:X16}: {t.Ref}";
}
