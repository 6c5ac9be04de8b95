using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;
using LuaState = KeraLua.Lua;

namespace Apisix.Core;

/// <summary>
/// How a C# twin of an <c>apisix/core/*.lua</c> module reaches Lua. A module is a table of raw Lua
/// C functions (KeraLua delegates, run on the calling coroutine's stack, so tables keep their
/// identity); <c>apisix/core/native.lua</c> turns it into the module Lua requires. A C function
/// never raises through .NET frames: where the Lua original raises, it returns
/// <see cref="Raise"/>'s marker and message and the Lua wrapper raises them.
/// Modules that need the worker's state (the request, the environment) are NLua objects instead,
/// forwarded to by a few lines of Lua.
/// </summary>
public static class CoreLib
{
    private const string RaiseKey = "apisix.core.raise";

    /// <summary>A module table of C functions, plus <c>__raise</c>, the marker its functions return to raise an error.</summary>
    public static NLua.LuaTable Module(LuaWorker w, IEnumerable<(string Name, LuaFunction Fn)> functions)
    {
        var t = LuaNative.Table(w.Lua, functions);
        var L = w.Lua.State;
        L.CheckStack(4);
        PushRaiseMarker(L);
        w.Lua.Push(t);
        L.Insert(-2);
        L.SetField(-2, "__raise");
        L.Pop(1);
        return t;
    }

    private static void PushRaiseMarker(LuaState L)
    {
        if (L.GetField((int)LuaRegistry.Index, RaiseKey) == LuaType.Table) return;
        L.Pop(1);
        L.NewTable();
        L.PushCopy(-1);
        L.SetField((int)LuaRegistry.Index, RaiseKey);
    }

    /// <summary>Return this from a C function to have the Lua wrapper raise <paramref name="message"/> (level 2, the caller).</summary>
    public static int Raise(LuaState L, string message)
    {
        L.CheckStack(3);
        PushRaiseMarker(L);
        LuaNative.PushBytes(L, message);
        return 2;
    }

    public static string TypeName(LuaState L, int index) => L.TypeName(L.Type(index));

    /// <summary>A string argument (not a number), or null.</summary>
    public static string? Str(LuaState L, int index) =>
        L.Type(index) == LuaType.String ? LuaNative.ToBytes(L, index) : null;

    /// <summary>Run a C function body; an unexpected .NET exception becomes a Lua error at the caller.</summary>
    public static int Guard(IntPtr p, Func<LuaState, int> body)
    {
        var L = LuaState.FromIntPtr(p);
        try { return body(L); }
        catch (Exception e) { return Raise(L, e.Message); }
    }
}
