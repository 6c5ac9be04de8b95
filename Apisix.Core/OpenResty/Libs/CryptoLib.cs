namespace Apisix.Core.OpenResty.Libs;
public static class CryptoLib { public static object Create(LuaWorker w) => LuaNative.Table(w.Lua, []); }
