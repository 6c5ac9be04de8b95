// Twin of lua-tablepool (require("tablepool"), core.tablepool)
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;

namespace Apisix.Core;

/// <summary>
/// <c>core.tablepool</c>: <c>fetch(tag, narr, nrec)</c> hands out a table sized for narr array and
/// nrec hash slots; <c>release(tag, t, noclear)</c> empties it unless told not to. The pool's
/// reuse is an allocation saving on LuaJIT that this port does not need, so released tables are
/// left to the collector: what callers can observe (a fresh empty table, a cleared one) is kept.
/// </summary>
public static class Tablepool
{
    public const string Name = "tablepool";

    private static readonly (string, LuaFunction)[] Functions = [("fetch", Fetch), ("release", Release)];

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    private static int Fetch(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var narr = (int)Math.Clamp(LuaNative.ToLong(L, 2) ?? 0, 0, 1 << 16);
        var nrec = (int)Math.Clamp(LuaNative.ToLong(L, 3) ?? 0, 0, 1 << 16);
        L.CreateTable(narr, nrec);
        return 1;
    });

    private static int Release(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(2) != LuaType.Table) return CoreLib.Raise(L, "object empty");
        if (L.ToBoolean(3)) return 0;
        L.CheckStack(4);
        // collect the keys first: assigning nil during lua_next is fine, but clearing as we go is simplest this way
        while (true)
        {
            L.PushNil();
            if (!L.Next(2)) break;
            L.Pop(1);
            L.PushNil();
            L.RawSet(2);
        }
        return 0;
    });
}
