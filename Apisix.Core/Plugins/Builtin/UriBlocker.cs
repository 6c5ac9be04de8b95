// Twin of apisix/plugins/uri-blocker.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// uri-blocker (priority 2900): a request whose <c>request_uri</c> matches any of the
/// <c>block_rules</c> (PCRE, joined with <c>|</c>) is refused with <c>rejected_code</c> (403),
/// and <c>{"error_msg": rejected_msg}</c> when a message is set.
/// </summary>
public sealed class UriBlockerPlugin : IPlugin, IRewritePhase
{
    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["block_rules"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 4096 },
                ["uniqueItems"] = true,
            },
            ["rejected_code"] = new JsonObject { ["type"] = "integer", ["minimum"] = 200, ["default"] = 403 },
            ["rejected_msg"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["case_insensitive"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
        },
        ["required"] = new JsonArray("block_rules"),
    };

    public string Name => "uri-blocker";
    public int Priority => 2900;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary>The schema, then every rule must compile (resty.core.regex's <c>re_match_compile(rule, "j")</c>).</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        foreach (var rule in conf["block_rules"] as JsonArray ?? [])
        {
            var (re, reErr) = NgxRegex.Get(CtxVar.ToVarString(rule) ?? "", "j");
            if (re == null) return (false, reErr);
        }
        return (true, null);
    }

    // conf.block_rules_concat: built on the first request, kept with the conf
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JsonObject, string> Concat = new();

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var uri = ctx.Var.GetString("request_uri") ?? "";
        ctx.Log(LogLevel.Info, "uri: " + uri);
        Concat.TryGetValue(conf, out var pattern);
        ctx.Log(LogLevel.Info, "block uri rules: " + (pattern ?? "nil"));
        if (pattern == null)
        {
            pattern = string.Join("|", (conf["block_rules"] as JsonArray ?? []).Select(r => CtxVar.ToVarString(r) ?? ""));
            if (JsonScalars.TryGetBoolean(conf["case_insensitive"], out var ci) && ci) pattern = "(?i)" + pattern;
            Concat.AddOrUpdate(conf, pattern);
            ctx.Log(LogLevel.Info, "concat block_rules: " + pattern);
        }

        var (m, err) = PluginRegex.Match(uri, pattern, "jo");
        if (m == null)
        {
            // ngx.re.find's error is not checked upstream either: no match
            return ValueTask.FromResult(PhaseResult.Continue);
        }
        var code = JsonScalars.TryGetNumber(conf["rejected_code"], out var c) ? (int)c : 403;
        if (JsonScalars.TryGetString(conf["rejected_msg"], out var msg))
            return ValueTask.FromResult(new PhaseResult(code, new JsonObject { ["error_msg"] = msg }));
        return ValueTask.FromResult(new PhaseResult(code));
    }
}
