// Twin of apisix/plugins/ai-prompt-guard.lua
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProxy;
using Protocols = Apisix.Plugins.AiProxy.AiProtocols.Init;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-prompt-guard (priority 1072): in the access phase, joins the text of the messages it is
/// told to look at (the last one, or the whole history; user messages only, or every role) and
/// refuses the request with 400 when no allow pattern matches it or a deny pattern does.
/// Requests that are not JSON or match no AI protocol go by <c>fail_mode</c>.
/// </summary>
public sealed class AiPromptGuardPlugin : IPlugin, IAccessPhase
{
    private const string PluginName = "ai-prompt-guard";
    // PCRE options of every pattern: JIT, compile once, UTF-8
    private const string ReOpts = "jou";

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["match_all_roles"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["match_all_conversation_history"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["allow_patterns"] = new JsonObject
            {
                ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" }, ["default"] = new JsonArray(),
            },
            ["deny_patterns"] = new JsonObject
            {
                ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" }, ["default"] = new JsonArray(),
            },
            ["fail_mode"] = Binding.SchemaProperty("skip"),
        },
    };

    public string Name => PluginName;
    public int Priority => 1072;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary><c>_M.check_schema(conf)</c>: the schema, then every pattern must compile.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        foreach (var (field, what) in new[] { ("allow_patterns", "allow_pattern"), ("deny_patterns", "deny_pattern") })
        {
            foreach (var p in Patterns(conf, field))
            {
                if (Apisix.Core.OpenResty.Libs.NgxRegex.Get(p, ReOpts).Regex == null)
                    return (false, $"invalid {what}: {p}");
            }
        }
        return (true, null);
    }

    private static IEnumerable<string> Patterns(JsonObject conf, string field) =>
        conf[field] is JsonArray a ? a.Select(x => JsonScalars.TryGetString(x, out var s) ? s : "") : [];

    /// <summary><c>get_content_to_check(conf, messages)</c>: the whole history, or its last message.</summary>
    private static List<JsonNode?> GetContentToCheck(JsonObject conf, JsonNode messages)
    {
        var list = LuaOps.IPairs(messages).Cast<JsonNode?>().ToList();
        if (JsonScalars.TryGetBoolean(conf["match_all_conversation_history"], out var all) && all) return list;
        var contents = new List<JsonNode?>();
        if (list.Count > 0 && list[^1] != null) contents.Add(list[^1]);
        return contents;
    }

    /// <summary><c>_M.access(conf, ctx)</c>.</summary>
    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var (body, _) = await CoreRequest.GetBodyAsync(null, ctx);
        if (body == null)
        {
            ctx.Log(LogLevel.Error, "Empty request body");
            return new PhaseResult(400, new JsonObject { ["message"] = "Empty request body" });
        }

        var protocolCtx = AiCtx.For(ctx).Protocol;
        JsonScalars.TryGetString(conf["fail_mode"], out var failMode);
        var (jsonBody, err) = CJson.Decode(body);
        if (err != null)
        {
            // a body that is not JSON never went through an AI protocol: fail_mode decides
            var (handled, code, resp) = Binding.OnUnsupported(failMode, PluginName, protocolCtx,
                "request body is not valid JSON: " + err, 400, new JsonObject { ["message"] = err });
            return handled ? new PhaseResult(code, resp) : PhaseResult.Continue;
        }

        var (protoName, _) = Protocols.Detect(jsonBody, protocolCtx);
        if (protoName == null || protoName == "passthrough")
        {
            var (handled, code, resp) = Binding.OnUnsupported(failMode, PluginName, protocolCtx,
                "request body does not match any supported AI protocol", 400,
                new JsonObject { ["message"] = "Request format not recognized by ai-prompt-guard" });
            return handled ? new PhaseResult(code, resp) : PhaseResult.Continue;
        }

        var all = Protocols.GetMessages(jsonBody, protocolCtx);
        // the Responses API's instructions and input are parallel fields, not a history
        var messages = protoName != "openai-responses"
            ? GetContentToCheck(conf, all)
            : LuaOps.IPairs(all).Cast<JsonNode?>().ToList();
        if (!(JsonScalars.TryGetBoolean(conf["match_all_roles"], out var allRoles) && allRoles))
            messages = messages.Where(m => LuaOps.StringEquals(LuaOps.Index(m, "role", "local 'msg'"), "user")).ToList();
        if (messages.Count == 0) return new PhaseResult(200); // nothing to check

        var content = new List<JsonNode?>();
        foreach (var msg in messages)
        {
            var c = LuaOps.Index(msg, "content", "local 'msg'");
            if (LuaOps.Truthy(c)) content.Add(c);
        }
        var contentToCheck = LuaOps.Concat(content, " ");

        var allow = Patterns(conf, "allow_patterns").ToList();
        if (allow.Count > 0 && !allow.Any(p => Find(contentToCheck, p)))
            return new PhaseResult(400, new JsonObject { ["message"] = "Request doesn't match allow patterns" });

        foreach (var p in Patterns(conf, "deny_patterns"))
        {
            if (Find(contentToCheck, p))
                return new PhaseResult(400, new JsonObject { ["message"] = "Request contains prohibited content" });
        }
        return PhaseResult.Continue;
    }

    /// <summary><c>ngx.re.find(subject, pattern, "jou")</c> as a truth value (an error finds nothing).</summary>
    private static bool Find(string subject, string pattern) => PluginRegex.Match(subject, pattern, ReOpts).Captures != null;
}
