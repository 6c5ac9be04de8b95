using System.Collections.Concurrent;

namespace Apisix.Core.Utils;

/// <summary>
/// Values worked out from a text key once and found again on the hot path (a route's store key,
/// a header name's variable, a parsed endpoint). Keys often come from requests, so only the
/// first <c>capacity</c> are remembered; past that a value is worked out each time, never
/// wrong, only not kept. Safe from any thread.
/// </summary>
public sealed class BoundedCache<TValue>(int capacity)
{
    private readonly ConcurrentDictionary<string, TValue> _known = new(StringComparer.Ordinal);
    // counted here: ConcurrentDictionary.Count takes every lock of the table, on every miss once full
    private int _count;

    /// <summary>The value for <paramref name="key"/>: remembered, else made (and remembered while there is room).</summary>
    public TValue Get(string key, Func<string, TValue> make)
    {
        if (_known.TryGetValue(key, out var value)) return value;
        value = make(key);
        Remember(key, value);
        return value;
    }

    /// <summary><see cref="Get(string, Func{string, TValue})"/> with the maker's state passed along (no closure per call).</summary>
    public TValue Get<TState>(string key, TState state, Func<string, TState, TValue> make)
    {
        if (_known.TryGetValue(key, out var value)) return value;
        value = make(key, state);
        Remember(key, value);
        return value;
    }

    /// <summary>The value remembered for <paramref name="key"/>, if any.</summary>
    public bool TryGet(string key, out TValue value) => _known.TryGetValue(key, out value!);

    /// <summary>
    /// Remember <paramref name="value"/> for <paramref name="key"/>, in place of what was there (a
    /// value that goes stale, such as a config's parsed form at an older version); a new key only
    /// while there is room.
    /// </summary>
    public void Put(string key, TValue value)
    {
        if (_known.TryGetValue(key, out _)) _known[key] = value;
        else Remember(key, value);
    }

    private void Remember(string key, TValue value)
    {
        if (Volatile.Read(ref _count) < capacity && _known.TryAdd(key, value)) Interlocked.Increment(ref _count);
    }
}
