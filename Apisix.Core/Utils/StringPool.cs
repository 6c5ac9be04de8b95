using System.Collections.Concurrent;

namespace Apisix.Core.Utils;

/// <summary>
/// Strings made from text in a buffer (JSON keys, metric series keys): the same text gives back
/// one shared string instead of a new one each time. Bounded as <see cref="BoundedCache{TValue}"/>.
/// </summary>
public sealed class StringPool(int capacity)
{
    private readonly ConcurrentDictionary<string, string> _known = new(StringComparer.Ordinal);
    // counted here: ConcurrentDictionary.Count takes every lock of the table, on every miss once full
    private int _count;

    public string Get(ReadOnlySpan<char> text)
    {
        if (_known.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var known)) return known;
        var s = new string(text);
        if (Volatile.Read(ref _count) < capacity && _known.TryAdd(s, s)) Interlocked.Increment(ref _count);
        return s;
    }
}
