using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// Port of <c>apisix/core/response.lua</c> (the parts the gateway uses): <c>exit</c>,
/// <c>set_header</c> and the response source.
/// </summary>
public static class CoreResponse
{
    /// <summary>
    /// <c>core.response.exit(code, body)</c>: a string body is sent as is, a table as JSON plus a
    /// newline; then <c>ngx.exit(code)</c>, where a code of 300 or more with nothing written
    /// becomes nginx's own error page. Without a code the body is only queued.
    /// </summary>
    public static async Task ExitAsync(ApiCtx? ctx, NgxRequest req, int? code, object? body)
    {
        if (code != null && !req.HeadersSent) req.Status = code.Value;
        var wrote = false;
        switch (body)
        {
            case null:
                break;
            case string s:
                wrote = s.Length > 0;
                req.Append(s);
                break;
            case JsonNode node:
                req.Append(CJson.Encode(node) + "\n");
                wrote = true;
                break;
            default:
                var text = CtxVar.ToVarString(body) ?? "";
                wrote = text.Length > 0;
                req.Append(text);
                break;
        }
        if (code == null) return;
        if (ctx != null) ctx.RespSource ??= "apisix";
        req.ExitStatus = code;
        if (code >= 300 && !wrote && !req.HeadersSent) await Nginx.SendErrorPage(req, code.Value);
        else await req.FinishAsync();
    }

    /// <summary><c>core.response.set_header(name, value)</c>; a null value removes the header.</summary>
    public static void SetHeader(ApiCtx ctx, string name, string? value)
    {
        if (ctx.Request.HeadersSent) throw new InvalidOperationException("headers have already been sent");
        ctx.Request.SetResponseHeader(name, value);
    }

    /// <summary><c>core.response.set_response_source(ctx, source)</c>.</summary>
    public static void SetResponseSource(ApiCtx? ctx, string source)
    {
        if (ctx != null) ctx.RespSource = source;
    }
}
