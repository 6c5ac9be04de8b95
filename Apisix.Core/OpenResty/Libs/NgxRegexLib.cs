namespace Apisix.Core.OpenResty.Libs;
public static class NgxRegexLib { public static object Create(LuaWorker w) => LuaNative.Table(w.Lua, []); }
