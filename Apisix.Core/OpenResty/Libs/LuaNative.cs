using System.Text;
using KeraLua;
using LuaState = KeraLua.Lua;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// Helpers for library functions written as raw Lua C functions (KeraLua delegates): they run on
/// the calling coroutine's own stack, so no value is marshalled through NLua. Every such function
/// must catch its exceptions and report them as (nil, message): an exception must never unwind
/// through the Lua interpreter, and Lua errors are raised by the Lua-side wrappers.
/// </summary>
public static class LuaNative
{
    /// <summary>Build a table of C functions (delegates must be kept alive by the caller, e.g. in static fields).</summary>
    public static NLua.LuaTable Table(NLua.Lua lua, IEnumerable<(string Name, LuaFunction Fn)> functions)
    {
        var L = lua.State;
        L.CheckStack(4);
        L.NewTable();
        foreach (var (name, fn) in functions)
        {
            L.PushCFunction(fn);
            L.SetField(-2, name);
        }
        return (NLua.LuaTable)lua.Pop();
    }

    /// <summary>The byte string at <paramref name="index"/> (one char per byte), or null when it is not a string or number.</summary>
    public static string? ToBytes(LuaState L, int index)
    {
        var t = L.Type(index);
        if (t != LuaType.String && t != LuaType.Number) return null;
        if (t == LuaType.Number)
        {
            // never let lua_tolstring convert a stack slot in place
            L.PushCopy(index);
            var b = L.ToBuffer(-1, false);
            L.Pop(1);
            return b == null ? null : Encoding.Latin1.GetString(b);
        }
        var buf = L.ToBuffer(index, false);
        return buf == null ? null : Encoding.Latin1.GetString(buf);
    }

    /// <summary>Push a byte string; chars above 0xFF are taken as Unicode text and pushed as UTF-8.</summary>
    public static void PushBytes(LuaState L, string s) => L.PushBuffer(Apisix.Core.Json.ByteString.ToBytes(s));

    /// <summary>Push nil and a message; returns 2 (the C function's result count).</summary>
    public static int Fail(LuaState L, string message)
    {
        L.CheckStack(2);
        L.PushNil();
        PushBytes(L, message);
        return 2;
    }

    public static long? ToLong(LuaState L, int index)
    {
        var t = L.Type(index);
        if (t != LuaType.Number) return null;
        if (L.IsInteger(index)) return L.ToInteger(index);
        var d = L.ToNumber(index);
        if (double.IsNaN(d) || double.IsInfinity(d)) return null;
        return (long)Math.Truncate(d);
    }

    /// <summary>Push a number the port's way: integral values within ±2^53 as Lua integers.</summary>
    public static void PushNumber(LuaState L, double d)
    {
        if (Math.Floor(d) == d && Math.Abs(d) < 9.007199254740992e15 && !(d == 0 && double.IsNegative(d)))
            L.PushInteger((long)d);
        else
            L.PushNumber(d);
    }
}
