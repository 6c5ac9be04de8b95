// Twin of apisix/plugins/public-api.lua
using System.Text.Json.Nodes;
using Apisix.Core.Http;
using Apisix.Core.Json;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// public-api (priority 501): exposes the APIs of the enabled plugins (the prometheus page...) on
/// a route of one's own. <c>uri</c>, when set, is the plugin API to serve instead of the request's
/// uri; a request that no plugin API matches gets 404.
/// </summary>
public sealed class PublicApiPlugin(PluginRegistry plugins) : IPlugin, IAccessPhase
{
    public string Name => "public-api";
    public int Priority => 501;
    public double Version => 0.1;

    public JsonNode Schema { get; } = new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["uri"] = new JsonObject { ["type"] = "string" } },
    };

    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        if (JsonScalars.TryGetString(conf["uri"], out var uri)) ctx.Var["uri"] = uri;
        if (await ApiRouter.MatchAsync(ctx, plugins)) return PhaseResult.Continue;
        return 404;
    }
}
