// Twin of apisix/core/response.lua (the Lua-visible side; CoreResponse.cs is the gateway's C# side)
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// The C# half of <c>core.response</c> as Lua calls it. apisix/core/response.lua keeps
/// <c>exit</c>/<c>say</c> (they end in ngx.print and ngx.exit, which yield), the exit callbacks
/// (Lua functions) and the body-chunk buffer kept on the Lua ctx. Here: adding a response header
/// (ngx.resp.add_header), the last token of an upstream timing list, and the response source.
/// </summary>
public sealed class CoreResponseLua(LuaWorker worker)
{
    public const string Name = "apisix.core.response";

    public bool HeadersSent() => worker.CurrentRequest?.HeadersSent ?? false;

    /// <summary>ngx.resp.add_header: one more value for a response header.</summary>
    public void AddHeader(object? name, object? value)
    {
        if (worker.CurrentRequest is not { } r || name is not string n) return;
        if (value is NLua.LuaTable t)
        {
            foreach (var v in t.Values) worker.Bridge.AddRespHeader(n, CtxVar.ToVarString(v) ?? "");
            return;
        }
        if (value != null) worker.Bridge.AddRespHeader(n, CtxVar.ToVarString(value) ?? "");
    }

    /// <summary>
    /// <c>get_last_upstream_token(s)</c>: the last entry of nginx's per-try list ("0.001, 0.002 : 0.003"
    /// → "0.003"), tokens split on whitespace and commas; null for null or no token.
    /// </summary>
    public static string? GetLastUpstreamToken(string? s)
    {
        if (s == null) return null;
        var tokens = s.Split([' ', '\t', '\n', '\r', '\f', '\v', ','], StringSplitOptions.RemoveEmptyEntries);
        return tokens.Length == 0 ? null : tokens[^1];
    }

    public string? LastUpstreamToken(object? s) => s is string str ? GetLastUpstreamToken(str) : null;

    /// <summary>The upstream status: the number at the end of ctx.var.upstream_status, or null.</summary>
    public long? UpstreamStatus(object? status)
    {
        var s = status as string ?? "";
        var tail = s.Length > 3 ? s[^3..] : s;
        return long.TryParse(tail.Trim(), out var v) ? v : null;
    }
}
