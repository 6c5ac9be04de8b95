// Twin of apisix/core/request.lua (the Lua-visible side; CoreRequest.cs is the gateway's C# side)
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// The C# half of <c>core.request</c> as Lua calls it. apisix/core/request.lua keeps the parts
/// that must stay Lua: the caches it leaves on the Lua ctx (<c>ctx.headers</c>,
/// <c>ctx.req_uri_args</c>, <c>ctx._request_body_table</c>) and the body read, which yields.
/// Here: adding a request header (ngx.req.add_header), the header-name check, and the size
/// check's message, shared with <see cref="CoreRequest"/>.
/// </summary>
public sealed class CoreRequestLua(LuaWorker worker)
{
    public const string Name = "apisix.core.request";

    /// <summary>ngx.req.add_header: one more value for the header, the earlier ones kept.</summary>
    public void AddHeader(string name, object? value)
    {
        if (worker.CurrentRequest is not { } r) return;
        if (value is NLua.LuaTable t)
        {
            foreach (var v in t.Values) r.RequestHeaders.Add((name, CtxVar.ToVarString(v) ?? ""));
            return;
        }
        if (value != null) r.RequestHeaders.Add((name, CtxVar.ToVarString(value) ?? ""));
    }

    /// <summary>The error for a header name that is not a string (the name formatted as %q), or null.</summary>
    public string? ValidateHeaderName(object? name) => name is string ? null :
        $"invalid header name {Quote(name)}: got {CoreEnv.LuaTypeName(name)}, expected string";

    private static string Quote(object? v) => v switch
    {
        null => "nil",
        bool b => b ? "true" : "false",
        long or double => CtxVar.ToVarString(v)!,
        _ => CoreEnv.LuaTypeName(v),
    };

    /// <summary>The error when size is over max_size (null max: no limit), or null.</summary>
    public string? CheckSize(double size, object? maxSize) => maxSize is long or double && size > Convert.ToDouble(maxSize)
        ? $"request size {Json.LuaNumber.ToLuaString(size)} is greater than the maximum size {CtxVar.ToVarString(maxSize)} allowed"
        : null;

    /// <summary>
    /// The <c>multipart</c> rock's <c>multipart(body, content_type):get_all()</c> as JSON text
    /// (Lua decodes it), or null when the body does not parse (<see cref="CoreRequest.ParseMultipart"/>).
    /// </summary>
    public string? ParseMultipart(string body, string contentType) =>
        CoreRequest.ParseMultipart(body, contentType)?.ToJsonString();
}
