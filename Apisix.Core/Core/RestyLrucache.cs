// Twin of lua-resty-lrucache (require("resty.lrucache")), which core.lrucache stands on
using System.Collections.Concurrent;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;
using LuaState = KeraLua.Lua;

namespace Apisix.Core;

/// <summary>
/// <c>resty.lrucache</c>: a bounded cache, least recently used first out, entries with an
/// optional time to live. The order and the expiry times live in C#; keys and values stay Lua
/// values (any type, tables by identity) in two tables of the cache object, indexed by the id the
/// C# side gave the key. <c>get</c> returns the value, or nil and the stale value once it expired.
/// </summary>
public static class RestyLrucache
{
    public const string Name = "resty.lrucache";
    private const string MtKey = "resty.lrucache.mt";

    private sealed class Store(int capacity)
    {
        public readonly int Capacity = Math.Max(1, capacity);
        public readonly LinkedList<long> Order = new(); // most recent first
        public readonly Dictionary<long, (LinkedListNode<long> Node, double Expire)> Entries = new();
        public long NextId;
    }

    private static readonly ConcurrentDictionary<long, Store> Stores = new();
    private static long _nextHandle;

    private static readonly LuaFunction GetFn = Get, SetFn = Set, DeleteFn = Delete, FlushAllFn = FlushAll,
        CountFn = Count, CapacityFn = CapacityOf, GcFn = Gc;

    private static readonly (string, LuaFunction)[] Functions = [("new", New)];

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    private static double Now() => Environment.TickCount64 / 1000.0;

    private static int New(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var size = LuaNative.ToLong(L, 1);
        if (size is not > 0) { L.PushNil(); LuaNative.PushBytes(L, "size too small"); return 2; }
        var handle = Interlocked.Increment(ref _nextHandle);
        Stores[handle] = new Store((int)Math.Min(size.Value, int.MaxValue));
        L.CheckStack(6);
        L.CreateTable(0, 4);
        L.PushInteger(handle);
        L.SetField(-2, "__h");
        L.NewTable();
        L.SetField(-2, "__ids");   // key -> id
        L.NewTable();
        L.SetField(-2, "__keys");  // id -> key
        L.NewTable();
        L.SetField(-2, "__vals");  // id -> value
        PushMetatable(L);
        L.SetMetaTable(-2);
        return 1;
    });

    private static void PushMetatable(LuaState L)
    {
        if (L.GetField((int)LuaRegistry.Index, MtKey) == LuaType.Table) return;
        L.Pop(1);
        L.NewTable();
        L.NewTable();
        foreach (var (n, f) in new[] { ("get", GetFn), ("set", SetFn), ("delete", DeleteFn), ("flush_all", FlushAllFn), ("count", CountFn), ("capacity", CapacityFn) })
        {
            L.PushCFunction(f);
            L.SetField(-2, n);
        }
        L.SetField(-2, "__index");
        L.PushCFunction(GcFn);
        L.SetField(-2, "__gc");
        L.PushCopy(-1);
        L.SetField((int)LuaRegistry.Index, MtKey);
    }

    private static Store? StoreOf(LuaState L)
    {
        if (L.Type(1) != LuaType.Table) return null;
        L.GetField(1, "__h");
        var h = LuaNative.ToLong(L, -1);
        L.Pop(1);
        return h is long id && Stores.TryGetValue(id, out var s) ? s : null;
    }

    // the id of the key at index 2, or null
    private static long? IdOf(LuaState L)
    {
        L.GetField(1, "__ids");
        L.PushCopy(2);
        L.RawGet(-2);
        var id = LuaNative.ToLong(L, -1);
        L.Pop(2);
        return id;
    }

    private static void Forget(LuaState L, Store s, long id)
    {
        if (s.Entries.Remove(id, out var e)) s.Order.Remove(e.Node);
        L.GetField(1, "__keys");
        L.RawGetInteger(-1, id);          // the key
        L.GetField(1, "__ids");
        L.PushCopy(-2);
        L.PushNil();
        L.RawSet(-3);
        L.Pop(2);
        L.PushNil();
        L.RawSetInteger(-2, id);
        L.Pop(1);
        L.GetField(1, "__vals");
        L.PushNil();
        L.RawSetInteger(-2, id);
        L.Pop(1);
    }

    /// <summary><c>cache:get(key)</c>: value; or nil, stale value (expired: the entry is dropped).</summary>
    private static int Get(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(2);
        L.CheckStack(8);
        var s = StoreOf(L);
        if (s == null) return CoreLib.Raise(L, "bad lrucache object");
        if (L.Type(2) == LuaType.Nil || IdOf(L) is not long id || !s.Entries.TryGetValue(id, out var e)) { L.PushNil(); return 1; }
        L.GetField(1, "__vals");
        L.RawGetInteger(-1, id);
        L.Remove(-2);
        if (e.Expire >= 0 && e.Expire <= Now())
        {
            var stale = L.GetTop();
            Forget(L, s, id);
            L.PushNil();
            L.PushCopy(stale);
            return 2;
        }
        s.Order.Remove(e.Node);
        s.Order.AddFirst(e.Node);
        return 1;
    });

    /// <summary><c>cache:set(key, value, ttl)</c>: the oldest entry goes when the cache is full.</summary>
    private static int Set(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(4);
        L.CheckStack(8);
        var s = StoreOf(L);
        if (s == null) return CoreLib.Raise(L, "bad lrucache object");
        if (L.Type(2) == LuaType.Nil) return CoreLib.Raise(L, "table index is nil");
        var ttl = L.Type(4) == LuaType.Number ? L.ToNumber(4) : 0;
        var expire = ttl > 0 ? Now() + ttl : -1;
        long id;
        if (IdOf(L) is long existing && s.Entries.TryGetValue(existing, out var e))
        {
            id = existing;
            s.Order.Remove(e.Node);
            s.Order.AddFirst(e.Node);
            s.Entries[id] = (e.Node, expire);
        }
        else
        {
            while (s.Entries.Count >= s.Capacity && s.Order.Last is { } oldest) Forget(L, s, oldest.Value);
            id = ++s.NextId;
            s.Entries[id] = (s.Order.AddFirst(id), expire);
            L.GetField(1, "__ids");
            L.PushCopy(2);
            L.PushInteger(id);
            L.RawSet(-3);
            L.Pop(1);
            L.GetField(1, "__keys");
            L.PushCopy(2);
            L.RawSetInteger(-2, id);
            L.Pop(1);
        }
        L.GetField(1, "__vals");
        L.PushCopy(3);
        L.RawSetInteger(-2, id);
        L.Pop(1);
        return 0;
    });

    private static int Delete(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(2);
        L.CheckStack(8);
        var s = StoreOf(L);
        if (s != null && L.Type(2) != LuaType.Nil && IdOf(L) is long id) Forget(L, s, id);
        return 0;
    });

    private static int FlushAll(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(1);
        var s = StoreOf(L);
        if (s == null) return 0;
        s.Entries.Clear();
        s.Order.Clear();
        foreach (var f in new[] { "__ids", "__keys", "__vals" }) { L.NewTable(); L.SetField(1, f); }
        return 0;
    });

    private static int Count(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.PushInteger(StoreOf(L)?.Entries.Count ?? 0);
        return 1;
    });

    private static int CapacityOf(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.PushInteger(StoreOf(L)?.Capacity ?? 0);
        return 1;
    });

    private static int Gc(IntPtr p)
    {
        try
        {
            var L = LuaState.FromIntPtr(p);
            L.GetField(1, "__h");
            if (LuaNative.ToLong(L, -1) is long h) Stores.TryRemove(h, out _);
            L.Pop(1);
        }
        catch
        {
            // a finalizer has nowhere to report to
        }
        return 0;
    }
}
