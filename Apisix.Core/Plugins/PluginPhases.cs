using System.Text.Json.Nodes;

namespace Apisix.Core.Plugins;

/// <summary>
/// What a phase function returns in Lua: <c>return code, body</c>. A code (or a body) ends the
/// request with <c>core.response.exit(code, body)</c>; nothing returned lets the request go on.
/// A body is a string (sent as is) or a JSON node (encoded, then a newline).
/// </summary>
public readonly record struct PhaseResult(int? Code, object? Body = null)
{
    public static readonly PhaseResult Continue = default;

    /// <summary>Whether the request ends here (Lua: <c>if code or body</c>).</summary>
    public bool Exits => Code != null || Body != null;

    public static implicit operator PhaseResult(int code) => new(code);
}

// One interface per phase, so a plugin implements only the phases its Lua module has.

/// <summary><c>_M.rewrite(conf, ctx)</c>.</summary>
public interface IRewritePhase
{
    ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx);
}

/// <summary><c>_M.access(conf, ctx)</c>.</summary>
public interface IAccessPhase
{
    ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx);
}

/// <summary><c>_M.before_proxy(conf, ctx)</c>: runs when the plugin set <c>ctx.bypass_nginx_upstream</c>.</summary>
public interface IBeforeProxyPhase
{
    ValueTask<PhaseResult> BeforeProxyAsync(JsonObject conf, ApiCtx ctx);
}

/// <summary><c>_M.header_filter(conf, ctx)</c>: response headers can still change.</summary>
public interface IHeaderFilterPhase
{
    void HeaderFilter(JsonObject conf, ApiCtx ctx);
}

/// <summary>
/// <c>_M.body_filter(conf, ctx)</c>: sees each chunk of the response body (<c>ngx.arg[1]</c>) and
/// whether it is the last (<c>ngx.arg[2]</c>); returns the chunk to send (empty holds it back)
/// and whether the body ends here.
/// </summary>
public interface IBodyFilterPhase
{
    (string Chunk, bool Eof) BodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof);
}

/// <summary>
/// <c>_M.delayed_body_filter(conf, ctx)</c>: after every plugin's body_filter has seen the chunk
/// (<c>http_body_filter_phase</c> runs the two phases in turn); it can read the chunk, not change it.
/// </summary>
public interface IDelayedBodyFilterPhase
{
    void DelayedBodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof);
}

/// <summary><c>_M.lua_body_filter(conf, ctx, headers, body)</c>: sees each chunk a plugin writes itself.</summary>
public interface ILuaBodyFilter
{
    /// <summary>
    /// A code ends the response with <c>Body</c> (0, ngx.OK, keeps the status); otherwise a non-null
    /// body replaces the chunk. Asynchronous, since a filter may call out (content moderation).
    /// </summary>
    ValueTask<(int? Code, string? Body)> LuaBodyFilterAsync(JsonObject conf, ApiCtx ctx, IReadOnlyDictionary<string, string> headers, string body);
}

/// <summary><c>_M.log(conf, ctx)</c>: after the response is sent.</summary>
public interface ILogPhase
{
    ValueTask LogAsync(JsonObject conf, ApiCtx ctx);
}
