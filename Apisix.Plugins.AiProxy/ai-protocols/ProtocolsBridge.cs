using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Plugins.AiProxy.AiTransport;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// The C# half of the Lua modules <c>apisix.plugins.ai-protocols</c> (bridge object
/// "apisix.plugins.ai-protocols") and <c>apisix.plugins.ai-protocols.anthropic-messages</c>
/// (the same bridge object; its other functions go through <see cref="Call"/>). The Lua side reads
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

    /// <summary>
    /// Any other function of a registered protocol module, by its Lua name: a table with the
    /// return values (<c>r1</c>, <c>r2</c>) and, for the functions that change their first
    /// argument, the changed <c>body</c>; plus the log lines; or nil, nil and an error.
    /// Returned values are copies (Lua would hand back parts of the body itself).
    /// </summary>
    public object? Call(string protocol, string fn, object? a1, object? a2, object? a3, object? uri, out object? logs, out string? err)
    {
        logs = null;
        err = null;
        try
        {
            var p = Init.Get(protocol) ?? throw new InvalidOperationException("unknown protocol: " + protocol);
            JsonNode? Arg(object? v) => v == null || LuaJson.IsNull(_lua, v) ? null : LuaJson.ToJson(_lua, v, Lenient);
            var lines = new List<(LogLevel, string)>();
            var ctx = CtxFor(uri, lines);
            var result = new JsonObject();
            void Put(string key, JsonNode? value) { if (value != null) result[key] = value.Parent == null ? value : value.DeepClone(); }

            switch (fn)
            {
                case "is_streaming": Put("r1", p.IsStreaming(Arg(a1))); break;
                case "prepare_outgoing_request":
                {
                    var body = Arg(a1);
                    Put("r1", p.PrepareOutgoingRequest(body));
                    Put("body", body);
                    break;
                }
                case "extract_response_text": Put("r1", p.ExtractResponseText(Arg(a1))); break;
                case "extract_usage":
                {
                    var (usage, raw) = p.ExtractUsage(Arg(a1));
                    Put("r1", usage);
                    Put("r2", raw);
                    break;
                }
                case "has_tool_call": Put("r1", p.HasToolCall(Arg(a1))); break;
                case "extract_end_user_id": Put("r1", p.ExtractEndUserId(Arg(a1))); break;
                case "extract_request_content": Put("r1", p.ExtractRequestContent(Arg(a1))); break;
                case "get_messages": Put("r1", p.GetMessages(Arg(a1))); break;
                case "prepend_messages":
                case "append_messages":
                {
                    var body = Arg(a1);
                    var msgs = Arg(a2) as JsonArray;
                    if (fn == "prepend_messages") p.PrependMessages(body, msgs);
                    else p.AppendMessages(body, msgs);
                    Put("body", body);
                    break;
                }
                case "get_request_content": Put("r1", p.GetRequestContent(Arg(a1))); break;
                case "build_simple_request":
                    Put("r1", p.BuildSimpleRequest(a1 == null ? null : SseBridge.LuaString(a1), Arg(a2), Arg(a3) as JsonObject));
                    break;
                case "build_deny_response": Put("r1", p.BuildDenyResponse(Arg(a1) as JsonObject)); break;
                case "empty_usage": Put("r1", p.EmptyUsage()); break;
                case "is_data_event": Put("r1", p.IsDataEvent(Arg(a1) as JsonObject ?? new JsonObject())); break;
                case "is_done_event": Put("r1", p.IsDoneEvent(Arg(a1) as JsonObject ?? new JsonObject())); break;
                case "build_done_event": Put("r1", p.BuildDoneEvent()); break;
                default: throw new InvalidOperationException($"attempt to call field '{fn}' (a nil value)");
            }

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
