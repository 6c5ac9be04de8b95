using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
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

    /// <summary>ctxView: { var = { llm_model = ... }, anthropic_tool_name_map = ... }.</summary>
    private (JsonObject Ctx, string? Error) Ctx(object? ctxView)
    {
        var (node, err) = In(ctxView);
        if (err != null) return (new JsonObject(), err);
        return (node as JsonObject ?? new JsonObject(), null);
    }

    public object? ConvertRequest(object? request, object? ctxView)
    {
        try
        {
            var (req, err) = In(request);
            if (err != null) return Error(err);
            var (ctx, cerr) = Ctx(ctxView);
            if (cerr != null) return Error(cerr);
            var hadMap = ctx["anthropic_tool_name_map"];
            var (body, error) = AnthropicMessagesToOpenAiChat.ConvertRequest(req, ctx);
            if (body == null) return Error(error ?? "conversion failed");
            var result = new JsonObject { ["body"] = body };
            var map = ctx["anthropic_tool_name_map"];
            if (map != null && !ReferenceEquals(map, hadMap))
            {
                ctx.Remove("anthropic_tool_name_map");
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
            var (body, error) = AnthropicMessagesToOpenAiChat.ConvertResponse(res, ctx);
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
            var events = AnthropicMessagesToOpenAiChat.ConvertSseEvents(p, ctx, st);
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
