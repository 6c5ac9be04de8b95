using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Plugins.AiProxy.AiTransport;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// The C# half of the Lua modules <c>apisix.plugins.ai-protocols</c> (bridge object
/// "apisix.plugins.ai-protocols") and <c>apisix.plugins.ai-protocols.anthropic-messages</c>
/// (the same bridge object). The Lua side reads
/// <c>ctx.var.uri</c> and passes it; bodies and events arrive as Lua tables.
/// Methods return their result, or nil and an error; log lines come back to be written by Lua.
/// </summary>
public sealed class ProtocolsBridge
{
    public const string Name = "apisix.plugins.ai-protocols";

    private static readonly LuaJsonEncodeOptions Lenient = new() { SparseConvert = true, SkipUnsupported = true };

    private readonly NLua.Lua _lua;

    public ProtocolsBridge(LuaWorker worker) => _lua = worker.Lua;

    private static ProtocolCtx CtxFor(object? uri, List<(LogLevel, string)>? logs = null)
    {
        var u = uri is NLua.LuaTable ? null : SseBridge.LuaString(uri);
        return new ProtocolCtx
        {
            Var = name => name == "uri" ? u : null,
            Log = logs == null ? null : (level, msg) => logs.Add((level, msg)),
        };
    }

    /// <summary><c>detect(body, ctx)</c> given <c>ctx.var.uri</c>.</summary>
    public string? Detect(object? body, object? uri, out string? err)
    {
        err = null;
        try
        {
            var (name, e) = Init.Detect(LuaJson.ToJson(_lua, body, Lenient), CtxFor(uri));
            err = e;
            return name;
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }

    /// <summary><c>names()</c>.</summary>
    public object? Names() =>
        LuaJson.FromJson(_lua, new JsonArray(Init.Names().Select(n => (JsonNode?)n).ToArray()), arrayMt: false);

    /// <summary>Whether <paramref name="name"/> is registered (the Lua side requires its module).</summary>
    public bool IsRegistered(object? name) => name is string s && Init.Get(s) != null;

    /// <summary><c>matches(body, ctx)</c> of one registered protocol.</summary>
    public bool Matches(string protocol, object? body, object? uri)
    {
        try
        {
            var p = Init.Get(protocol);
            return p != null && p.Matches(LuaJson.ToJson(_lua, body, Lenient), CtxFor(uri));
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// anthropic-messages <c>parse_sse_event(event, ctx, state)</c>: the result table and the
    /// log lines (a list of <c>{level, message}</c>), or nil, nil and an error.
    /// </summary>
    public object? AnthropicParseSseEvent(object? ev, object? uri, out object? logs, out string? err)
    {
        logs = null;
        err = null;
        try
        {
            if (ev is not NLua.LuaTable)
            {
                err = $"attempt to index local 'event' (a {SseBridge.LuaTypeName(ev)} value)";
                return null;
            }
            var node = LuaJson.ToJson(_lua, ev, Lenient) as JsonObject ?? new JsonObject();
            var lines = new List<(LogLevel, string)>();
            var result = AnthropicMessages.Instance.ParseSseEvent(node, CtxFor(uri, lines), null);
            var logArray = new JsonArray();
            foreach (var (level, msg) in lines)
                logArray.Add(new JsonArray(ErrorLog.Tag(level), msg));
            logs = LuaJson.FromJson(_lua, logArray, arrayMt: false);
            return LuaJson.FromJson(_lua, result, arrayMt: false);
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }
}
