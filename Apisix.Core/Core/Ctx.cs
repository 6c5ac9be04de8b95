// Twin of apisix/core/ctx.lua
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// <c>core.ctx</c>: the variables behind <c>ctx.var</c> for a ctx made in Lua
/// (<c>set_vars_meta</c>). apisix/core/ctx.lua keeps the table, its cache and the metatable (a
/// getter registered with <c>register_var</c> and the variables that read the Lua ctx or the
/// request body stay there: they are Lua functions or yield); every other name is resolved
/// here, as <see cref="CtxVar"/> does for the gateway's ctx: <c>method</c>, <c>cookie_*</c>,
/// <c>arg_*</c>, <c>http_*</c>, and nginx's own variables.
/// </summary>
public sealed class CoreCtx(LuaWorker worker)
{
    public const string Name = "apisix.core.ctx";

    /// <summary>The names ctx.var writes through to nginx (APISIX's nginx.conf `set`s them).</summary>
    public bool IsNgxVar(string name) => CtxVar.NgxVarNames.Contains(name);

    /// <summary>The value of a request variable, or null.</summary>
    public string? Var(string key)
    {
        var r = worker.CurrentRequest;
        if (r == null) return null;
        if (key == "method") return r.Method;
        if (key.StartsWith("cookie_", StringComparison.Ordinal))
            return NgxVars.Cookie(r.RequestHeader("Cookie"), key[7..]);
        if (key.StartsWith("http_", StringComparison.Ordinal))
            return r.RequestHeader(key[5..].Replace('_', '-'));
        return NgxVars.Get(worker.Nginx, r, key);
    }
}
