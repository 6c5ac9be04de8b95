// Twin of apisix/plugins/example-plugin.lua
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// example-plugin (priority 0): APISIX's template plugin. Every phase logs a warn line with the
/// conf; with <c>ip</c> and <c>port</c> the access phase sends the request to that node instead
/// of the route's upstream. Its Lua face (<c>apisix.plugins.example-plugin</c>) also has the
/// module's <c>init</c> and <c>destroy</c>, which do nothing unless a test replaces them.
/// Not ported: the control API route <c>/v1/plugin/example-plugin/hello</c>.
/// </summary>
public sealed class ExamplePlugin : IPlugin, IRewritePhase, IAccessPhase, IHeaderFilterPhase, IBodyFilterPhase, IDelayedBodyFilterPhase, ILogPhase
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

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        JsonSchema.Check(type == SchemaType.Metadata ? _metadataSchema : _schema, conf);

    private static string Encode(JsonObject conf) => CJson.Encode(conf);

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Warn, "plugin rewrite phase, conf: " + Encode(conf));
        ctx.Log(LogLevel.Warn, "conf_type: " + (ctx.ConfType ?? "nil"));
        ctx.Log(LogLevel.Warn, "conf_id: " + (ctx.ConfId ?? "nil"));
        ctx.Log(LogLevel.Warn, "conf_version: " + (ctx.ConfVersion ?? "nil"));
        return ValueTask.FromResult(PhaseResult.Continue);
    }

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Warn, "plugin access phase, conf: " + Encode(conf));
        if (!JsonScalars.TryGetString(conf["ip"], out var ip)) return ValueTask.FromResult(PhaseResult.Continue);

        var node = new JsonObject { ["host"] = ip, ["weight"] = 1 };
        if (conf["port"] is { } port) node["port"] = port.DeepClone();
        var upConf = new JsonObject { ["type"] = "roundrobin", ["nodes"] = new JsonArray(node) };
        var (ok, err) = JsonSchema.Check(SchemaDefs.Upstream, upConf);
        if (!ok) return ValueTask.FromResult(new PhaseResult(500, err));

        // upstream.set(ctx, "roundrobin#route_<id>", ctx.conf_version, up_conf)
        ctx.Items[TrafficSplitPlugin.UpstreamConfItem] = upConf;
        ctx.Items[TrafficSplitPlugin.UpstreamKeyItem] = "roundrobin#route_" + ctx.RouteId;
        ctx.Items[TrafficSplitPlugin.UpstreamVersionItem] = ctx.ConfVersion;
        return ValueTask.FromResult(PhaseResult.Continue);
    }

    public void HeaderFilter(JsonObject conf, ApiCtx ctx) =>
        ctx.Log(LogLevel.Warn, "plugin header_filter phase, conf: " + Encode(conf));

    public (string Chunk, bool Eof) BodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof)
    {
        ctx.Log(LogLevel.Warn, "plugin body_filter phase, eof: " + (eof ? "true" : "false") + ", conf: " + Encode(conf));
        return (chunk, false);
    }

    public void DelayedBodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof) =>
        ctx.Log(LogLevel.Warn, "plugin delayed_body_filter phase, eof: " + (eof ? "true" : "false") + ", conf: " + Encode(conf));

    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Warn, "plugin log phase, conf: " + Encode(conf));
        return ValueTask.CompletedTask;
    }
}
