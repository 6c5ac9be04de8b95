// Twin of apisix/plugins/prometheus.lua
using System.Text.Json.Nodes;
using Apisix.Core.Http;
using Apisix.Core.Plugins.Builtin.Prometheus;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// prometheus (priority 500): counts each request of the routes (or global rules) it is on into
/// APISIX's metrics (<see cref="Exporter"/>), and serves the metrics page as a plugin API.
/// <c>prefer_name</c> labels series by route and service names instead of ids. Its metadata may
/// blank labels per metric (<c>disabled_labels</c>), except those that make a series what it is.
/// </summary>
public sealed class PrometheusPlugin : IPlugin, ILogPhase, IPluginApi
{
    public string Name => "prometheus";
    public int Priority => 500;
    public double Version => 0.2;
    public string? RunPolicy => "prefer_route";

    public JsonNode Schema { get; } = new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["prefer_name"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
        },
    };

    // the labels a metric cannot drop: they tell its series apart (request, upstream and apisix latency...)
    private static readonly Dictionary<string, string> StructuralLabels = new(StringComparer.Ordinal)
    {
        ["http_status"] = "code", ["http_latency"] = "type", ["bandwidth"] = "type", ["llm_latency"] = "type",
    };

    public JsonNode? MetadataSchema { get; } = BuildMetadataSchema();

    private static JsonObject BuildMetadataSchema()
    {
        var properties = new JsonObject();
        foreach (var (metric, labels) in Exporter.MetricLabelMap)
        {
            var allowed = labels.Where(l => !(StructuralLabels.TryGetValue(metric, out var s) && s == l));
            properties[metric] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "string",
                    ["enum"] = new JsonArray(allowed.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
                },
            };
        }
        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["disabled_labels"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = properties,
                    ["additionalProperties"] = false,
                },
            },
        };
    }

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        type == SchemaType.Metadata ? JsonSchema.Check(MetadataSchema!, conf) : JsonSchema.Check(Schema, conf);

    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        Exporter.HttpLog(conf, ctx);
        return ValueTask.CompletedTask;
    }

    public IReadOnlyList<ApiRoute> Api(Config.ApisixConfig config) => Exporter.GetApi(config.PluginAttr(Name), true);
}
