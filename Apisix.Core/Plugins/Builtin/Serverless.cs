using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Schema;
using Apisix.Core.OpenResty.Conf;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// Port of <c>apisix/plugins/serverless/init.lua</c> and its two instances,
/// <c>serverless-pre-function</c> (priority 10000) and <c>serverless-post-function</c>
/// (priority -2000): user Lua functions (<c>return function(conf, ctx) ... end</c>) run in the
/// chosen phase, in the request's own worker. A function returning a code (or body) ends the
/// request with it. The <c>ctx</c> they get carries <c>var</c>, the request's <c>ctx.var</c>
/// (APISIX's variables and cache included, e.g. <c>llm_response_text</c>; names registered with
/// <c>core.ctx.register_var</c> and <c>post_arg.*</c> are computed in Lua, see
/// <c>apisix/core/ctx.lua</c>'s <c>gateway_vars</c>), and <c>matched_route</c>; it is the request's
/// <c>ngx.ctx.api_ctx</c>, kept from phase to phase. The C# ctx's other fields are not visible to Lua. header_filter and body_filter functions are not run.
/// </summary>
public sealed class ServerlessPlugin : IPlugin, IRewritePhase, IAccessPhase, IBeforeProxyPhase, ILogPhase
{
    private static readonly string[] Phases = ["rewrite", "access", "header_filter", "body_filter", "log", "before_proxy"];

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["phase"] = new JsonObject
            {
                ["type"] = "string",
                ["default"] = "access",
                ["enum"] = new JsonArray(Phases.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray()),
            },
            ["functions"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string" },
                ["minItems"] = 1,
            },
        },
        ["required"] = new JsonArray("functions"),
    };

    // Compiles and calls the functions in order; the first code or body returned ends the loop.
    private static readonly LuaChunk Runner = new("""
        local srcs, conf, vars, route, route_key, matched, resp_source, proxied = ...
        -- one ctx per request (ngx.ctx.api_ctx), so values the functions or registered
        -- variable getters keep on it last from phase to phase
        local ctx = ngx.ctx.api_ctx
        if not ctx then
            ctx = {}
            ctx.var = require("apisix.core.ctx").gateway_vars(ctx, vars)
            ngx.ctx.api_ctx = ctx
        end
        -- ctx.req_post_args once the form body was parsed (request.get_post_args)
        if rawget(ctx, "req_post_args") == nil and vars:PostArgsParsed() then
            ctx.req_post_args = setmetatable({}, {__index = function(_, name) return vars:Get("post_arg_" .. name) end})
        end
        if route and not ctx.matched_route then
            ctx.matched_route = { key = route_key, value = route }
        end
        -- what the C# gateway knows of the response's source (core.response.get_response_source reads these)
        if resp_source and rawget(ctx, "_resp_source") == nil then
            ctx._resp_source = resp_source
        end
        if proxied then
            ctx._apisix_proxied = true
        end
        if matched and not ctx.curr_req_matched then
            ctx.curr_req_matched = matched
        end
        for _, src in ipairs(srcs) do
            local _, func = pcall(loadstring(src))
            local code, body = func(conf, ctx)
            if code or body then
                return code, body
            end
        end
        """, "serverless", 1);

    // check_schema compiles the user code; one private Lua state serves every check.
    private static readonly object CheckLock = new();
    private static NLua.Lua? _checkState;

    public ServerlessPlugin(string name, int priority)
    {
        Name = name;
        Priority = priority;
    }

    public string Name { get; }
    public int Priority { get; }
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        foreach (var fn in (conf["functions"] as JsonArray)!)
        {
            var src = fn!.GetValue<string>();
            lock (CheckLock)
            {
                _checkState ??= new NLua.Lua();
                var lua = _checkState;
                lua["__src"] = src;
                var res = lua.DoString("""
                    local f, err = load(__src, "=(load)")
                    if not f then return "load", err end
                    local ok, ret = pcall(f)
                    if not ok then return "pcall", tostring(ret) end
                    return "type", type(ret)
                    """);
                var kind = res[0] as string;
                var detail = res.Length > 1 ? res[1]?.ToString() : null;
                if (kind == "load") return (false, "failed to loadstring: " + detail);
                if (kind == "pcall") return (false, "pcall error: " + detail);
                if (detail != "function") return (false, "only accept Lua function, the input code type is " + detail);
            }
        }
        return (true, null);
    }

    private async ValueTask<PhaseResult> CallFuncs(string phase, JsonObject conf, ApiCtx ctx)
    {
        if (!JsonScalars.TryGetString(conf["phase"], out var confPhase) || confPhase != phase) return PhaseResult.Continue;
        var worker = ctx.Request.Worker;
        if (worker == null) return PhaseResult.Continue;
        var srcs = LuaJson.FromJson(worker.Lua, conf["functions"]);
        var luaConf = LuaJson.FromJson(worker.Lua, conf);
        var route = ctx.MatchedRoute == null ? null : LuaJson.FromJson(worker.Lua, ctx.MatchedRoute);
        var routeKey = ctx.RouteId == null ? null : "/apisix/routes/" + ctx.RouteId;
        var matched = ctx.CurrReqMatched == null ? null
            : LuaJson.FromJson(worker.Lua, new JsonObject(ctx.CurrReqMatched.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))));
        var r = await worker.RunEntry(worker.Chunk(Runner), ctx.Request, srcs, luaConf, new LuaVars(ctx.Var), route, routeKey, matched,
            ctx.RespSource, ctx.Items.TryGetValue("_apisix_proxied", out var proxied) && proxied is true);
        if (!r.Ok)
        {
            ctx.Log(LogLevel.Error, $"lua entry thread aborted: runtime error: {r.Error}\n{r.Traceback}");
            return phase == "log" ? PhaseResult.Continue : new PhaseResult(500);
        }
        if (r.Exited || phase == "log") return PhaseResult.Continue;
        var code = r.Values.Length > 0 && r.Values[0] is long or double ? Convert.ToInt32(r.Values[0]) : (int?)null;
        object? body = r.Values.Length > 1 ? r.Values[1] switch
        {
            null => null,
            string s => (object)s, // not JsonNode: a string body is sent as is
            NLua.LuaTable t => LuaJson.ToJson(worker.Lua, t),
            var other => CtxVar.ToVarString(other),
        } : null;
        return code == null && body == null ? PhaseResult.Continue : new PhaseResult(code, body);
    }

    /// <summary>`ctx.var` as the Lua functions see it: scalars as Lua values, anything else as its string form.</summary>
    public sealed class LuaVars(CtxVar vars)
    {
        public object? Get(string name)
        {
            var value = vars.Get(name);
            return value switch
            {
                null or string or bool or long or double => value,
                int i => (long)i,
                JsonValue v when JsonScalars.TryGetNumber(v, out var d) => d,
                JsonValue v when JsonScalars.TryGetBoolean(v, out var b) => b,
                _ => CtxVar.ToVarString(value),
            };
        }

        public void Set(string name, object? value) => vars.Set(name, value);

        public bool PostArgsParsed() => vars.PostArgsParsed;
    }

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx) => CallFuncs("rewrite", conf, ctx);
    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx) => CallFuncs("access", conf, ctx);
    public ValueTask<PhaseResult> BeforeProxyAsync(JsonObject conf, ApiCtx ctx) => CallFuncs("before_proxy", conf, ctx);
    public async ValueTask LogAsync(JsonObject conf, ApiCtx ctx) => await CallFuncs("log", conf, ctx);
}
