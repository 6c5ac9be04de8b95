using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Core.OpenResty.Libs;
using Apisix.Plugins.AiProxy.AiProtocols.Converters;

namespace Apisix.Plugins.AiProxy.Bridges;

/// <summary>
/// C# side of the Lua module apisix.plugins.ai-protocols.converters.anthropic-messages-to-openai-chat
/// (`__bridge(Name)`). Every method takes Lua values, converts them to JSON, runs the
/// <see cref="AnthropicMessagesToOpenAiChat"/> port and returns one Lua table describing the
/// outcome (<c>err</c> set on failure); the Lua half writes the mutated ctx/state/headers back
/// into the caller's tables. Nothing is thrown into Lua.
/// </summary>
public sealed class AnthropicMessagesToOpenAiChatBridge(LuaWorker worker)
{
    public const string Name = "apisix.plugins.ai-protocols.converters.anthropic-messages-to-openai-chat";

    private NLua.Lua Lua => worker.Lua;

    private object? Result(JsonObject result) => LuaJson.FromJson(Lua, result);

    private object? Error(string message) => Result(new JsonObject { ["err"] = message });

    private (JsonNode? Node, string? Error) In(object? value)
    {
        if (value == null || LuaJson.IsNull(Lua, value)) return (null, null);
        return LuaJson.TryToJson(Lua, value);
    }

    /// <summary>
    /// ctxView: { var = { llm_model = ... }, anthropic_tool_name_map = ... }, as the converter's
    /// <see cref="ProtocolCtx"/>: the model through <c>Var</c>, the map in <c>Fields</c>.
    /// </summary>
    private (ProtocolCtx Ctx, string? Error) Ctx(object? ctxView)
    {
        var (node, err) = In(ctxView);
        if (err != null) return (new ProtocolCtx(), err);
        var view = node as JsonObject ?? new JsonObject();
        var modelNode = view["var"] is JsonObject vars ? vars["llm_model"] : null;
        var model = modelNode == null ? null : LuaText.ToLuaString(modelNode);
        var fields = new JsonObject();
        if (view["anthropic_tool_name_map"] is { } map)
        {
            view.Remove("anthropic_tool_name_map");
            fields["anthropic_tool_name_map"] = map;
        }
        return (new ProtocolCtx { Var = name => name == "llm_model" ? model : null, Fields = fields }, null);
    }

    public object? ConvertRequest(object? request, object? ctxView)
    {
        try
        {
            var (req, err) = In(request);
            if (err != null) return Error(err);
            var (ctx, cerr) = Ctx(ctxView);
            if (cerr != null) return Error(cerr);
            var hadMap = ctx.Fields["anthropic_tool_name_map"];
            var (body, error) = AnthropicMessagesToOpenAiChat.Instance.ConvertRequest(req, ctx);
            if (body == null) return Error(error ?? "conversion failed");
            var result = new JsonObject { ["body"] = body };
            var map = ctx.Fields["anthropic_tool_name_map"];
            if (map != null && !ReferenceEquals(map, hadMap))
            {
                ctx.Fields.Remove("anthropic_tool_name_map");
                result["tool_name_map"] = map;
            }
            return Result(result);
        }
        catch (Exception e)
        {
            return Error(e.Message);
        }
    }

    public object? ConvertResponse(object? response, object? ctxView)
    {
        try
        {
            var (res, err) = In(response);
            if (err != null) return Error(err);
            var (ctx, cerr) = Ctx(ctxView);
            if (cerr != null) return Error(cerr);
            var (body, error) = AnthropicMessagesToOpenAiChat.Instance.ConvertResponse(res, ctx);
            if (body == null) return Error(error ?? "conversion failed");
            return Result(new JsonObject { ["body"] = body });
        }
        catch (Exception e)
        {
            return Error(e.Message);
        }
    }

    public object? ConvertSseEvents(object? parsed, object? ctxView, object? state)
    {
        try
        {
            var (p, err) = In(parsed);
            if (err != null) return Error(err);
            var (ctx, cerr) = Ctx(ctxView);
            if (cerr != null) return Error(cerr);
            var (s, serr) = In(state);
            if (serr != null) return Error(serr);
            var st = s as JsonObject ?? new JsonObject();
            var events = AnthropicMessagesToOpenAiChat.Instance.ConvertSseEvents(p, ctx, st);
            var result = new JsonObject { ["state"] = st };
            if (events != null) result["events"] = events;
            return Result(result);
        }
        catch (Exception e)
        {
            return Error(e.Message);
        }
    }

    public object? ConvertHeaders(object? headers)
    {
        try
        {
            var (h, err) = In(headers);
            if (err != null) return Error(err);
            var obj = h as JsonObject ?? new JsonObject();
            AnthropicMessagesToOpenAiChat.ConvertHeaders(obj);
            return Result(new JsonObject { ["headers"] = obj });
        }
        catch (Exception e)
        {
            return Error(e.Message);
        }
    }
}
