// Twin of apisix/plugins/limit-count.lua
using System.Text.Json.Nodes;
using Apisix.Core.Plugins.Builtin.LimitCountImpl;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>limit-count (priority 1002): at most <c>count</c> requests per <c>time_window</c> seconds per key.</summary>
public sealed class LimitCountPlugin : IPlugin, IAccessPhase
{
    public string Name => "limit-count";
    public int Priority => 1002;
    public double Version => 0.5;
    public JsonNode Schema { get; } = LimitCountInit.BuildSchema();
    public JsonNode? MetadataSchema { get; } = LimitCountInit.BuildMetadataSchema();

    private readonly Dictionary<string, JsonObject> _groupConfs = new(StringComparer.Ordinal);

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        LimitCountInit.CheckSchema(this, _groupConfs, conf, type);

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx) =>
        LimitCountInit.RateLimitAsync(conf, ctx, Name, 1);
}
