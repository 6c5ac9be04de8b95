using KeraLua;
using LuaState = KeraLua.Lua;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// The native half of the <c>ffi</c> shim (bridge object "ffi"): LuaJIT's FFI is not part of
/// this runtime, so the shim only makes opaque cdata-like values, full userdata that print as
/// LuaJIT prints them (<c>cdata&lt;char *[1]&gt;: 0x...</c>).
/// <list type="bullet">
/// <item>userdata(mt) → a new full userdata with metatable mt</item>
/// <item>address(u) → "0x..." the userdata's address</item>
/// </list>
/// </summary>
public static class FfiLib
{
    private static readonly LuaFunction UserdataFn = NewUserdata;
    private static readonly LuaFunction AddressFn = Address;

    public static object Create(LuaWorker w) => LuaNative.Table(w.Lua, [("userdata", UserdataFn), ("address", AddressFn)]);

    private static int NewUserdata(IntPtr p)
    {
        var L = LuaState.FromIntPtr(p);
        L.CheckStack(2);
        L.NewUserData(8);
        if (L.Type(1) == LuaType.Table)
        {
            L.PushCopy(1);
            L.SetMetaTable(-2);
        }
        return 1;
    }

    private static int Address(IntPtr p)
    {
        var L = LuaState.FromIntPtr(p);
        L.CheckStack(1);
        L.PushString("0x" + ((long)L.ToPointer(1)).ToString("x"));
        return 1;
    }
}
