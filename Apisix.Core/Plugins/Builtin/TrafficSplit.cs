// Twin of apisix/plugins/traffic-split.lua
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;
using Apisix.Core.Upstream;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// traffic-split (priority 966): the first rule whose <c>match</c> holds (any of its <c>vars</c>
/// conditions; a rule without <c>match</c> always holds) picks one of its
/// <c>weighted_upstreams</c> by weighted round robin: an upstream id (sets
/// <c>ctx.upstream_id</c>), an inline upstream (set as the request's upstream conf, keyed
/// <c>TYPE#route_ID_N</c>), or neither (the route's own upstream).
/// </summary>
public sealed class TrafficSplitPlugin : IPlugin, IAccessPhase
{
    /// <summary>ctx.Items keys for <c>upstream.set(ctx, key, ver, conf)</c>, read by the upstream proxy.</summary>
    public const string UpstreamConfItem = "upstream_conf_by_plugin", UpstreamKeyItem = "upstream_key", UpstreamVersionItem = "upstream_version";

    private const string EmptyUpstream = "plugin#upstream#is#empty";

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["rules"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["match"] = new JsonObject
                        {
                            ["type"] = "array",
                            ["items"] = new JsonObject
                            {
                                ["type"] = "object",
                                ["properties"] = new JsonObject { ["vars"] = new JsonObject { ["type"] = "array" } },
                            },
                        },
                        ["weighted_upstreams"] = new JsonObject
                        {
                            ["type"] = "array",
                            ["items"] = new JsonObject
                            {
                                ["type"] = "object",
                                ["properties"] = new JsonObject
                                {
                                    ["upstream_id"] = SchemaDefs.IdSchema(),
                                    ["upstream"] = SchemaDefs.Upstream.DeepClone(),
                                    ["weight"] = new JsonObject
                                    {
                                        ["description"] = "used to split traffic between different" +
                                                          "upstreams for plugin configuration",
                                        ["type"] = "integer", ["default"] = 1, ["minimum"] = 0,
                                    },
                                },
                            },
                            ["default"] = new JsonArray(new JsonObject { ["weight"] = 1 }),
                            ["minItems"] = 1,
                            ["maxItems"] = 20,
                        },
                    },
                },
            },
        },
    };

    public string Name => "traffic-split";
    public int Priority => 966;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        foreach (var rule in conf["rules"] as JsonArray ?? [])
        {
            foreach (var m in rule?["match"] as JsonArray ?? [])
            {
                var (_, verr) = ExprV1.New(m?["vars"]);
                if (verr != null) return (false, "failed to validate the 'vars' expression: " + verr);
            }
        }
        return (true, null);
    }

    // the round robin of each weighted_upstreams list (lrucache keyed by the table)
    private static readonly ConditionalWeakTable<JsonArray, Picker> Pickers = new();

    private sealed class Picker(RoundRobin rr, Dictionary<string, JsonNode?> targets)
    {
        public RoundRobin Rr { get; } = rr;
        public Dictionary<string, JsonNode?> Targets { get; } = targets;
    }

    /// <summary><c>new_rr_obj</c>: ids name themselves; inline upstreams get their 1-based position as <c>vid</c>.</summary>
    private static Picker NewRrObj(JsonArray weighted)
    {
        var servers = new List<(string Id, int Weight)>();
        var targets = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in weighted)
        {
            i++;
            if (item is not JsonObject w) continue;
            var weight = JsonScalars.TryGetNumber(w["weight"], out var wd) ? (int)wd : 1;
            string id;
            if (LuaTruthy(w["upstream_id"]))
            {
                id = "id:" + IdText(w["upstream_id"]);
                targets[id] = w["upstream_id"];
            }
            else if (w["upstream"] is JsonObject up)
            {
                id = "up:" + i;
                targets[id] = up;
            }
            else
            {
                id = EmptyUpstream;
                targets[id] = null;
            }
            // a Lua table keyed by the target: a repeated key keeps its last weight
            if (!weights.ContainsKey(id)) servers.Add((id, weight));
            weights[id] = weight;
        }
        servers = servers.Select(s => (s.Id, weights[s.Id])).ToList();
        return new Picker(new RoundRobin(servers), targets);
    }

    private static bool LuaTruthy(JsonNode? n) =>
        n != null && !(JsonScalars.TryGetBoolean(n, out var b) && !b);

    private static string IdText(JsonNode? n) => CtxVar.ToVarString(n) ?? "";

    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        if (conf["rules"] is not JsonArray rules) return PhaseResult.Continue;
        await Http.ApisixHttp.ReadBodyForPostArgsAsync(ctx, rules.Select(r => r?["match"]));
        return Access(rules, ctx);
    }

    private static PhaseResult Access(JsonArray rules, ApiCtx ctx)
    {

        JsonArray? weightedUpstreams = null;
        var matchPassed = true;
        foreach (var ruleNode in rules)
        {
            if (ruleNode is not JsonObject rule) continue;
            foreach (var w in rule["weighted_upstreams"] as JsonArray ?? [])
            {
                if (w is JsonObject wo && LuaTruthy(wo["upstream_id"]))
                {
                    var upsId = IdText(wo["upstream_id"]);
                    if (ctx.Store?.Get("/apisix/upstreams/" + upsId)?.Value is not JsonObject)
                    {
                        ctx.Log(LogLevel.Error, "failed to find upstream by id: " + upsId);
                        return new PhaseResult(500, "failed to fetch upstream info by upstream id: " + upsId);
                    }
                }
            }

            if (rule["match"] is not JsonArray matches)
            {
                matchPassed = true;
                weightedUpstreams = rule["weighted_upstreams"] as JsonArray;
                break;
            }

            foreach (var single in matches)
            {
                var (expr, err) = ExprV1.New(single?["vars"]);
                if (err != null)
                {
                    ctx.Log(LogLevel.Error, "vars expression does not match: " + err);
                    return new PhaseResult(500, err);
                }
                matchPassed = expr!.Eval(ctx.Var);
                if (matchPassed) break;
            }

            if (matchPassed)
            {
                weightedUpstreams = rule["weighted_upstreams"] as JsonArray;
                break;
            }
        }

        ctx.Log(LogLevel.Info, "match_passed: " + (matchPassed ? "true" : "false"));
        if (!matchPassed) return PhaseResult.Continue;

        if (weightedUpstreams == null || weightedUpstreams.Count == 0)
        {
            // lrucache(nil, ...) has no key to cache under
            ctx.Log(LogLevel.Error, "lrucache roundrobin failed: invalid key");
            return new PhaseResult(500);
        }
        var picker = Pickers.GetValue(weightedUpstreams, NewRrObj);
        var pick = picker.Rr.Find();
        var target = picker.Targets[pick];
        if (target is JsonObject upstream)
        {
            ctx.Log(LogLevel.Info, "upstream: " + CJson.Encode(upstream));
            return SetUpstream(upstream, int.Parse(pick[3..]), ctx);
        }
        if (pick != EmptyUpstream)
        {
            var id = IdText(target);
            ctx.Items["upstream_id"] = id;
            ctx.Log(LogLevel.Info, "upstream_id: " + id);
            return PhaseResult.Continue;
        }
        ctx.Items.Remove("upstream_id");
        ctx.Log(LogLevel.Info, "route_up: " + pick);
        return PhaseResult.Continue;
    }

    private static readonly ConditionalWeakTable<JsonObject, string> NodeTids = new();
    private static long _nextTid;

    private static string NodeTid(JsonObject upstream) =>
        NodeTids.GetValue(upstream, _ => "0x" + Interlocked.Increment(ref _nextTid).ToString("x8", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary><c>set_upstream</c>: the inline upstream as a checked upstream conf for this request.</summary>
    private static PhaseResult SetUpstream(JsonObject info, int vid, ApiCtx ctx)
    {
        var newNodes = new JsonArray();
        if (info["nodes"] is JsonArray list)
        {
            foreach (var n in list) newNodes.Add(n?.DeepClone());
        }
        else if (info["nodes"] is JsonObject map)
        {
            foreach (var (addr, weight) in map)
            {
                var (host, port) = UpstreamConf.ParseAddr(addr);
                var node = new JsonObject { ["host"] = host };
                if (port != null) node["port"] = port.Value;
                node["weight"] = weight?.DeepClone();
                newNodes.Add(node);
            }
        }

        var upConf = new JsonObject();
        foreach (var field in new[] { "name", "type", "hash_on", "pass_host", "upstream_host", "key" })
            if (info[field] != null) upConf[field] = info[field]!.DeepClone();
        upConf["nodes"] = newNodes;
        foreach (var field in new[] { "timeout", "scheme" })
            if (info[field] != null) upConf[field] = info[field]!.DeepClone();

        var (ok, err) = JsonSchema.Check(SchemaDefs.Upstream, upConf);
        if (!ok)
        {
            ctx.Log(LogLevel.Error, "failed to validate generated upstream: " + err);
            return new PhaseResult(500, err);
        }

        var type = JsonScalars.TryGetString(upConf["type"], out var t) ? t : "roundrobin";
        // node_tid: upstream names the nodes table by its address; here each inline upstream object gets its own number
        var key = type + "#route_" + ctx.RouteId + "_" + vid + "_" + NodeTid(info);
        ctx.Log(LogLevel.Info, "upstream_key: " + key);
        ctx.Items[UpstreamConfItem] = upConf;
        ctx.Items[UpstreamKeyItem] = key;
        ctx.Items[UpstreamVersionItem] = ctx.ConfVersion;
        if (JsonScalars.TryGetString(info["scheme"], out var scheme) && scheme == "https"
            && ctx.Items.GetValueOrDefault("upstream_scheme") == null)
        {
            ctx.Items["upstream_scheme"] = scheme;
            ctx.Var["upstream_scheme"] = scheme;
        }
        return PhaseResult.Continue;
    }
}
