// Twin of apisix/plugins/fault-injection.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// fault-injection (priority 11000): delays the request (<c>delay.duration</c> seconds) and/or
/// answers it at once (<c>abort</c>: status, body and headers with variables), each for a
/// percentage of requests and only when one of its <c>vars</c> conditions holds.
/// </summary>
public sealed class FaultInjectionPlugin : IPlugin, IRewritePhase
{
    private static JsonObject VarsSchema() => new()
    {
        ["type"] = "array", ["maxItems"] = 20, ["items"] = new JsonObject { ["type"] = "array" },
    };

    private static JsonObject Percentage() => new() { ["type"] = "integer", ["minimum"] = 0, ["maximum"] = 100 };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["abort"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["http_status"] = new JsonObject { ["type"] = "integer", ["minimum"] = 200 },
                    ["body"] = new JsonObject { ["type"] = "string", ["minLength"] = 0 },
                    ["headers"] = new JsonObject
                    {
                        ["type"] = "object", ["minProperties"] = 1,
                        ["patternProperties"] = new JsonObject
                        {
                            ["^[^:]+$"] = new JsonObject
                            {
                                ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "number" }),
                            },
                        },
                    },
                    ["percentage"] = Percentage(),
                    ["vars"] = VarsSchema(),
                },
                ["required"] = new JsonArray("http_status"),
            },
            ["delay"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["duration"] = new JsonObject { ["type"] = "number", ["minimum"] = 0 },
                    ["percentage"] = Percentage(),
                    ["vars"] = VarsSchema(),
                },
                ["required"] = new JsonArray("duration"),
            },
        },
        ["minProperties"] = 1,
    };

    public string Name => "fault-injection";
    public int Priority => 11000;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary>Where percentages draw from (math.random(1, 100)); tests may seed it.</summary>
    public Random Random { get; set; } = Random.Shared;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        foreach (var part in new[] { "abort", "delay" })
        {
            foreach (var v in conf[part]?["vars"] as JsonArray ?? [])
            {
                var (_, verr) = ExprV1.New(v);
                if (verr != null) return (false, verr);
            }
        }
        return (true, null);
    }

    private bool SampleHit(JsonNode? percentage) =>
        !JsonScalars.TryGetNumber(percentage, out var p) || Random.Next(1, 101) <= p;

    private static bool VarsMatch(JsonArray vars, ApiCtx ctx)
    {
        foreach (var v in vars)
        {
            var (ex, _) = ExprV1.New(v);
            if (ex != null && ex.Eval(ctx.Var)) return true;
        }
        return false;
    }

    public async ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Info, "plugin rewrite phase, conf: " + CJson.Encode(conf));
        var abort = conf["abort"] as JsonObject;
        var delay = conf["delay"] as JsonObject;
        var abortVars = abort?["vars"] is not JsonArray av || VarsMatch(av, ctx);
        ctx.Log(LogLevel.Info, "abort_vars: " + (abortVars ? "true" : "false"));
        var delayVars = delay?["vars"] is not JsonArray dv || VarsMatch(dv, ctx);
        ctx.Log(LogLevel.Info, "delay_vars: " + (delayVars ? "true" : "false"));

        if (delay != null && SampleHit(delay["percentage"]) && delayVars
            && JsonScalars.TryGetNumber(delay["duration"], out var seconds) && seconds > 0)
            await Task.Delay(TimeSpan.FromSeconds(seconds));

        if (abort != null && SampleHit(abort["percentage"]) && abortVars)
        {
            if (abort["headers"] is JsonObject headers)
            {
                foreach (var (name, value) in headers)
                {
                    var text = JsonScalars.TryGetString(value, out var s)
                        ? CoreUtils.ResolveVar(s, ctx.Var.GetString).Value!
                        : CtxVar.ToVarString(value);
                    ctx.Request.SetResponseHeader(name, text);
                }
            }
            var code = JsonScalars.TryGetNumber(abort["http_status"], out var hs) ? (int)hs : 500;
            var body = JsonScalars.TryGetString(abort["body"], out var b) ? CoreUtils.ResolveVar(b, ctx.Var.GetString).Value! : null;
            return new PhaseResult(code, body);
        }
        return PhaseResult.Continue;
    }
}
