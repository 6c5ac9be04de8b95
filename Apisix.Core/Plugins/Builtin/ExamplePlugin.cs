// Twin of apisix/plugins/example-plugin.lua
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;
using Apisix.Core.Upstream;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// example-plugin (priority 0): APISIX's sample plugin, which its tests use as a plain plugin
/// with a metadata schema. Each phase writes the conf it got to the log at warn level; the access
/// phase, given <c>ip</c> (and <c>port</c>), sends the request to that single node as the route's
/// upstream for this request. Its control API route is not ported (the control API is not).
/// </summary>
public sealed class ExamplePlugin : IPlugin, IRewritePhase, IAccessPhase, IHeaderFilterPhase, IBodyFilterPhase, ILogPhase
{
    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["i"] = new JsonObject { ["type"] = "number", ["minimum"] = 0 },
            ["s"] = new JsonObject { ["type"] = "string" },
            ["t"] = new JsonObject { ["type"] = "array", ["minItems"] = 1 },
            ["ip"] = new JsonObject { ["type"] = "string" },
            ["port"] = new JsonObject { ["type"] = "integer" },
        },
        ["required"] = new JsonArray("i"),
    };

    private readonly JsonObject _metadataSchema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["ikey"] = new JsonObject { ["type"] = "number", ["minimum"] = 0 },
            ["skey"] = new JsonObject { ["type"] = "string" },
        },
        ["required"] = new JsonArray("ikey", "skey"),
    };

    public string Name => "example-plugin";
    public int Priority => 0;
    public double Version => 0.1;
    public JsonNode Schema => _schema;
    public JsonNode? MetadataSchema => _metadataSchema;

    /// <summary>Metadata is checked against the metadata schema, anything else against the conf schema.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        JsonSchema.Check(type == SchemaType.Metadata ? _metadataSchema : _schema, conf);

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Warn, "plugin rewrite phase, conf: " + CJson.Encode(conf));
        ctx.Log(LogLevel.Warn, "conf_type: " + (ctx.ConfType ?? "nil"));
        ctx.Log(LogLevel.Warn, "conf_id: " + (ctx.ConfId ?? "nil"));
        ctx.Log(LogLevel.Warn, "conf_version: " + (ctx.ConfVersion ?? "nil"));
        return ValueTask.FromResult(PhaseResult.Continue);
    }

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Warn, "plugin access phase, conf: " + CJson.Encode(conf));
        if (!JsonScalars.TryGetString(conf["ip"], out var ip)) return ValueTask.FromResult(PhaseResult.Continue);

        var node = new JsonObject { ["host"] = ip };
        if (conf["port"] != null) node["port"] = conf["port"]!.DeepClone();
        node["weight"] = 1;
        var upConf = new JsonObject { ["type"] = "roundrobin", ["nodes"] = new JsonArray(node) };

        // upstream.check_schema(up_conf)
        var (ok, err) = JsonSchema.Check(SchemaDefs.Upstream, upConf);
        if (!ok) return ValueTask.FromResult(new PhaseResult(500, err));

        // upstream.set(ctx, "roundrobin#route_" .. route id, ctx.conf_version, up_conf)
        ctx.Items[TrafficSplitPlugin.UpstreamConfItem] = upConf;
        ctx.Items[TrafficSplitPlugin.UpstreamKeyItem] = "roundrobin#route_" + ctx.RouteId;
        ctx.Items[TrafficSplitPlugin.UpstreamVersionItem] = ctx.ConfVersion;
        return ValueTask.FromResult(PhaseResult.Continue);
    }

    public void HeaderFilter(JsonObject conf, ApiCtx ctx) =>
        ctx.Log(LogLevel.Warn, "plugin header_filter phase, conf: " + CJson.Encode(conf));

    public (string Chunk, bool Eof) BodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof)
    {
        ctx.Log(LogLevel.Warn, "plugin body_filter phase, eof: " + (eof ? "true" : "false") + ", conf: " + CJson.Encode(conf));
        return (chunk, eof);
    }

    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Warn, "plugin log phase, conf: " + CJson.Encode(conf));
        return ValueTask.CompletedTask;
    }
}
