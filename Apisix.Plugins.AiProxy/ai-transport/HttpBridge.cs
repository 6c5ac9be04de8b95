using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// The C# half of the Lua module <c>apisix.plugins.ai-transport.http</c>
/// (Bridges/Lua/apisix/plugins/ai-transport/http.lua): the parts that need no Lua objects,
/// from <see cref="Http"/>.
/// </summary>
public sealed class HttpBridge(LuaWorker worker)
{
    public const string Name = "apisix.plugins.ai-transport.http";

    /// <summary><c>handle_error(err)</c>.</summary>
    public long HandleError(object? err) => Http.HandleError(SseBridge.LuaString(err) ?? "");

    /// <summary><c>construct_forward_headers</c> from the client's headers table and the extra ones.</summary>
    public object? ForwardHeaders(object? clientHeaders, object? extHeaders)
    {
        var client = new List<KeyValuePair<string, string>>();
        if (LuaJson.TryToJson(worker.Lua, clientHeaders).Value is JsonObject c)
        {
            foreach (var (k, v) in c)
            {
                var text = v is JsonArray a ? (a.Count > 0 ? a[0] : null) : v;
                if (text != null) client.Add(new(k, CtxVar.ToVarString(JsonScalars.TryGetString(text, out var s) ? s : text.ToJsonString()) ?? ""));
            }
        }
        var ext = LuaJson.TryToJson(worker.Lua, extHeaders).Value as JsonObject;
        var headers = Http.ConstructForwardHeaders(ext, client);
        var obj = new JsonObject();
        foreach (var (k, v) in headers) obj[k] = v;
        return LuaJson.FromJson(worker.Lua, obj, arrayMt: false);
    }
}
