// Twin of apisix/plugins/cors.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// cors (priority 4000): answers preflight <c>OPTIONS</c> requests with 200 and adds the
/// <c>Access-Control-*</c> (and <c>Timing-Allow-Origin</c>) headers to responses whose
/// <c>Origin</c> is allowed: by a comma-separated list, by regexes, or by named lists in the
/// plugin's metadata.
/// </summary>
public sealed class CorsPlugin : IPlugin, IRewritePhase, IHeaderFilterPhase
{
    private const string PluginName = "cors";
    private const string OriginsPattern = @"^(\*|\*\*|null|\w+://[^,]+(,\w+://[^,]+)*)$";
    private const string AllMethods = "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE";

    private static JsonObject RegexList(string description) => new()
    {
        ["type"] = "array",
        ["description"] = description,
        ["items"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 4096 },
        ["minItems"] = 1,
        ["uniqueItems"] = true,
    };

    private readonly JsonObject _metadataSchema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["allow_origins"] = new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = new JsonObject { ["type"] = "string", ["pattern"] = OriginsPattern },
            },
        },
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["allow_origins"] = new JsonObject
            {
                ["description"] = "'*' for any origin without credentials, '**' for any origin always, or a comma-separated list",
                ["type"] = "string", ["pattern"] = OriginsPattern, ["default"] = "*",
            },
            ["allow_methods"] = new JsonObject
            {
                ["description"] = "'*', '**' or a comma-separated list of methods",
                ["type"] = "string", ["default"] = "*",
            },
            ["allow_headers"] = new JsonObject
            {
                ["description"] = "'*', '**' (echo the request's) or a comma-separated list of headers",
                ["type"] = "string", ["default"] = "*",
            },
            ["expose_headers"] = new JsonObject
            {
                ["description"] = "comma-separated headers the client may read",
                ["type"] = "string",
            },
            ["max_age"] = new JsonObject
            {
                ["description"] = "seconds a preflight answer may be cached; -1 disables caching",
                ["type"] = "integer", ["default"] = 5,
            },
            ["allow_credential"] = new JsonObject
            {
                ["description"] = "whether credentials are allowed; then no option may be '*'",
                ["type"] = "boolean", ["default"] = false,
            },
            ["allow_origins_by_regex"] = RegexList("regexes an allowed origin matches"),
            ["allow_origins_by_metadata"] = RegexList("names of origin lists in the plugin metadata"),
            ["timing_allow_origins"] = new JsonObject
            {
                ["description"] = "origins that may see timing information: '*', '**' or a comma-separated list",
                ["type"] = "string", ["pattern"] = OriginsPattern,
            },
            ["timing_allow_origins_by_regex"] = RegexList("regexes an origin that may see timing information matches"),
        },
    };

    public string Name => PluginName;
    public int Priority => 4000;
    public double Version => 0.1;
    public JsonNode Schema => _schema;
    public JsonNode? MetadataSchema => _metadataSchema;

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        if (type == SchemaType.Metadata) return JsonSchema.Check(_metadataSchema, conf);
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        if (JsonScalars.TryGetBoolean(conf["allow_credential"], out var cred) && cred)
        {
            foreach (var field in new[] { "allow_origins", "allow_methods", "allow_headers", "expose_headers", "timing_allow_origins" })
            {
                if (Str(conf[field]) == "*")
                    return (false, "you can not set '*' for other option when 'allow_credential' is true");
            }
        }
        foreach (var field in new[] { "allow_origins_by_regex", "timing_allow_origins_by_regex" })
        {
            foreach (var rule in conf[field] as JsonArray ?? [])
            {
                var (re, reErr) = NgxRegex.Get(Str(rule) ?? "", "j");
                if (re == null) return (false, reErr);
            }
        }
        return (true, null);
    }

    /// <summary><c>create_multiple_origin_cache</c>: the set of a comma-separated list, or null for a single origin.</summary>
    private static HashSet<string>? MultipleOrigins(string allowOrigins)
    {
        if (!allowOrigins.Contains(',')) return null;
        return new HashSet<string>(allowOrigins.Split(',', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
    }

    private static void SetCorsHeaders(JsonObject conf, ApiCtx ctx, string allowOrigins)
    {
        var methods = Str(conf["allow_methods"]) ?? "*";
        if (methods == "**") methods = AllMethods;
        CoreResponse.SetHeader(ctx, "Access-Control-Allow-Origin", allowOrigins);
        CoreResponse.SetHeader(ctx, "Access-Control-Allow-Methods", methods);
        CoreResponse.SetHeader(ctx, "Access-Control-Max-Age", CtxVar.ToVarString(conf["max_age"]));
        if (Str(conf["expose_headers"]) is { Length: > 0 } expose)
            CoreResponse.SetHeader(ctx, "Access-Control-Expose-Headers", expose);
        var headers = Str(conf["allow_headers"]) ?? "*";
        CoreResponse.SetHeader(ctx, "Access-Control-Allow-Headers",
            headers == "**" ? CoreRequest.Header(ctx, "Access-Control-Request-Headers") : headers);
        if (JsonScalars.TryGetBoolean(conf["allow_credential"], out var cred) && cred)
            CoreResponse.SetHeader(ctx, "Access-Control-Allow-Credentials", "true");
    }

    private static string? ProcessWithAllowOrigins(string? allowOrigins, string? reqOrigin)
    {
        if (allowOrigins == null) return null;
        if (allowOrigins == "**") allowOrigins = reqOrigin ?? "*";
        var multiple = MultipleOrigins(allowOrigins);
        if (multiple != null)
        {
            if (reqOrigin != null && multiple.Contains(reqOrigin)) return reqOrigin;
            return null;
        }
        return allowOrigins;
    }

    private static string? ProcessWithAllowOriginsByRegex(string type, JsonArray rules, JsonObject conf, ApiCtx ctx, string? reqOrigin)
    {
        if (reqOrigin == null) return null;
        // conf.allow_origins_by_regex_rules_concat_<type>: the rules joined once
        var concat = string.Join("|", rules.Select(r => Str(r) ?? ""));
        var (m, _) = PluginRegex.Match(reqOrigin, concat, "jo");
        return m != null ? reqOrigin : null;
    }

    private static bool MatchOrigins(string? reqOrigin, string? allowOrigins) =>
        reqOrigin == allowOrigins || allowOrigins == "*"; // nil == nil is true in Lua too

    private static string? ProcessWithAllowOriginsByMetadata(JsonNode? byMetadata, ApiCtx ctx, string? reqOrigin)
    {
        if (byMetadata is not JsonArray keys) return null;
        var metadata = ctx.Store?.Get("/apisix/plugin_metadata/" + PluginName)?.Value as JsonObject;
        if (metadata?["allow_origins"] is not JsonObject map) return null;
        foreach (var key in keys)
        {
            var allow = ProcessWithAllowOrigins(Str(map[Str(key) ?? ""]), reqOrigin);
            if (MatchOrigins(reqOrigin, allow)) return reqOrigin;
        }
        return null;
    }

    private const string OriginalOrigin = "original_request_origin";

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        // the request's Origin before other phases may change it
        ctx.Items[OriginalOrigin] = CoreRequest.Header(ctx, "Origin");
        if (ctx.Var.GetString("request_method") == "OPTIONS") return ValueTask.FromResult(new PhaseResult(200));
        return ValueTask.FromResult(PhaseResult.Continue);
    }

    public void HeaderFilter(JsonObject conf, ApiCtx ctx)
    {
        var reqOrigin = ctx.Items.GetValueOrDefault(OriginalOrigin) as string;
        string? allowOrigins = null;
        var local = false;
        var confOrigins = Str(conf["allow_origins"]);
        if (conf["allow_origins_by_metadata"] != null)
        {
            allowOrigins = ProcessWithAllowOriginsByMetadata(conf["allow_origins_by_metadata"], ctx, reqOrigin);
            if (!MatchOrigins(reqOrigin, allowOrigins) && confOrigins != null && confOrigins != "*") local = true;
        }
        else local = true;

        if (conf["allow_origins_by_regex"] is not JsonArray byRegex)
        {
            if (local) allowOrigins = ProcessWithAllowOrigins(confOrigins, reqOrigin);
        }
        else if (local) allowOrigins = ProcessWithAllowOriginsByRegex("ACAO", byRegex, conf, ctx, reqOrigin);

        if (!MatchOrigins(reqOrigin, allowOrigins))
            allowOrigins = ProcessWithAllowOriginsByMetadata(conf["allow_origins_by_metadata"], ctx, reqOrigin);
        if (confOrigins != "*") CsrfPlugin.AddResponseHeader(ctx, "Vary", "Origin");
        if (allowOrigins != null)
        {
            ctx.Items["cors_allow_origins"] = allowOrigins;
            SetCorsHeaders(conf, ctx, allowOrigins);
        }

        string? timing = null;
        var timingConf = Str(conf["timing_allow_origins"]);
        if (conf["timing_allow_origins_by_regex"] is JsonArray timingRegex)
            timing = ProcessWithAllowOriginsByRegex("TAO", timingRegex, conf, ctx, reqOrigin);
        else if (timingConf != null)
            timing = ProcessWithAllowOrigins(timingConf, reqOrigin);
        if (timing != null && MatchOrigins(reqOrigin, timing))
        {
            ctx.Items["timing_allow_origin"] = timing;
            CoreResponse.SetHeader(ctx, "Timing-Allow-Origin", timing);
        }
    }
}
