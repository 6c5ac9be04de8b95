using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProviders;

namespace Apisix.Plugins.AiProxy.Bridges;

/// <summary>
/// The C# half of the Lua module <c>apisix.plugins.ai-providers.vertex-ai</c>: its
/// capabilities' <c>host(conf)</c> and <c>path(conf, ctx)</c> run <see cref="VertexAi"/>'s,
/// with <c>ctx.var</c> read from the plain table the caller passes (nil ctx: no variables).
/// </summary>
public sealed class VertexAiBridge(LuaWorker worker)
{
    public const string Name = "apisix.plugins.ai-providers.vertex-ai";

    private static readonly LuaJsonEncodeOptions Lenient = new() { SparseConvert = true, SkipUnsupported = true };

    private ProviderCapability? Cap(string? name) =>
        name != null && VertexAi.Instance.Capabilities.TryGetValue(name, out var cap) ? cap : null;

    private JsonObject Conf(object? conf) => LuaJson.ToJson(worker.Lua, conf, Lenient) as JsonObject ?? new JsonObject();

    private ProtocolCtx? Ctx(object? ctx)
    {
        if (ctx is not NLua.LuaTable) return null;
        var vars = LuaJson.ToJson(worker.Lua, ctx, Lenient)?["var"] as JsonObject ?? new JsonObject();
        return new ProtocolCtx
        {
            Var = k => vars[k] is { } v ? (JsonScalars.TryGetString(v, out var s) ? s : v.ToJsonString()) : null,
        };
    }

    public string? Host(string? capability, object? conf) => Cap(capability)?.Host?.Invoke(Conf(conf), null);

    public string? Path(string? capability, object? conf, object? ctx) => Cap(capability)?.Path?.Invoke(Conf(conf), Ctx(ctx));
}
