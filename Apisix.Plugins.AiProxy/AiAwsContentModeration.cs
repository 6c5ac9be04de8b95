// Twin of apisix/plugins/ai-aws-content-moderation.lua
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProxy;
using Apisix.Plugins.AiProxy.Bridges;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-aws-content-moderation (priority 1050): in the rewrite phase, sends the raw request body to
/// AWS Comprehend <c>DetectToxicContent</c> (SigV4-signed, as lua-resty-aws does) and rejects the
/// request with 400 when the overall toxicity, or a configured category's score, is above its
/// threshold. Requests that are not JSON follow <c>fail_mode</c>.
/// </summary>
public sealed class AiAwsContentModerationPlugin : IPlugin, IRewritePhase
{
    private const string PluginName = "ai-aws-content-moderation";

    private const string ModerationCategoriesPattern =
        "^(PROFANITY|HATE_SPEECH|INSULT|HARASSMENT_OR_ABUSE|SEXUAL|VIOLENCE_OR_THREAT)$";

    // Comprehend's service metadata (comprehend-2017-11-27): the parts build_request and the signer use
    private const string ComprehendEndpointPrefix = "comprehend";
    private const string ComprehendTargetPrefix = "Comprehend_20171127";
    private const string ComprehendJsonVersion = "1.1";
    private const string ComprehendServiceId = "Comprehend";
    private const int DefaultTimeoutMs = 60000;

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["comprehend"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["access_key_id"] = new JsonObject { ["type"] = "string" },
                    ["secret_access_key"] = new JsonObject { ["type"] = "string" },
                    ["region"] = new JsonObject { ["type"] = "string" },
                    ["endpoint"] = new JsonObject { ["type"] = "string", ["pattern"] = "^https?://" },
                    ["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
                },
                ["required"] = new JsonArray("access_key_id", "secret_access_key", "region"),
            },
            ["moderation_categories"] = new JsonObject
            {
                ["type"] = "object",
                ["patternProperties"] = new JsonObject
                {
                    [ModerationCategoriesPattern] = new JsonObject
                    {
                        ["type"] = "number", ["minimum"] = 0, ["maximum"] = 1,
                    },
                },
                ["additionalProperties"] = false,
            },
            ["moderation_threshold"] = new JsonObject
            {
                ["type"] = "number", ["minimum"] = 0, ["maximum"] = 1, ["default"] = 0.5,
            },
            ["fail_mode"] = Binding.SchemaProperty("skip"),
        },
        ["encrypt_fields"] = new JsonArray("comprehend.secret_access_key"),
        ["required"] = new JsonArray("comprehend"),
    };

    public string Name => PluginName;
    public int Priority => 1050;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary><c>_M.check_schema(conf)</c>: the schema alone.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    /// <summary><c>_M.rewrite(conf, ctx)</c>.</summary>
    public async ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        // a consumer-bound plugin also sees non-AI traffic (uploads...): fail_mode decides
        var ct = CoreRequest.Header(ctx, "Content-Type")?.ToLowerInvariant();
        if (ct != null && !ct.StartsWith("application/json", StringComparison.Ordinal))
        {
            JsonScalars.TryGetString(conf["fail_mode"], out var failMode);
            var (handled, code, resp) = Binding.OnUnsupported(failMode, PluginName, AiCtx.For(ctx).Protocol,
                "unsupported content-type: " + ct, 400,
                JsonValue.Create("unsupported content-type: " + ct + ", only application/json is supported"));
            if (handled) return new PhaseResult(code, ((JsonValue?)resp)?.GetValue<string>());
            return PhaseResult.Continue;
        }

        var (body, err) = await CoreRequest.GetBodyAsync(null, ctx);
        if (body == null) return new PhaseResult(400, err);

        var comprehend = (JsonObject)conf["comprehend"]!;
        JsonScalars.TryGetString(comprehend["region"], out var region);
        region ??= "";
        var defaultEndpoint = "https://comprehend." + region + ".amazonaws.com";
        var (scheme, host, port) = ParseUri(JsonScalars.TryGetString(comprehend["endpoint"], out var ep) ? ep : defaultEndpoint);
        var endpoint = scheme + "://" + host;
        var sslVerify = comprehend["ssl_verify"] is { } sv && JsonScalars.TryGetBoolean(sv, out var svb) ? svb : (bool?)null;

        var (res, callErr) = await DetectToxicContent(ctx, comprehend, endpoint, port, region, sslVerify, new JsonObject
        {
            ["LanguageCode"] = "en",
            ["TextSegments"] = new JsonArray(new JsonObject { ["Text"] = body }),
        });
        if (res == null)
        {
            ctx.Log(LogLevel.Error, "failed to send request to " + endpoint + ": " + callErr);
            return new PhaseResult(500, callErr);
        }

        // local results = res.body and res.body.ResultList
        var results = (res as JsonObject)?["ResultList"];
        if (results is not (JsonObject or JsonArray) || results is JsonObject { Count: 0 } || results is JsonArray { Count: 0 })
            return new PhaseResult(500, "failed to get moderation results from response");

        var categories = conf["moderation_categories"] as JsonObject;
        var threshold = JsonScalars.TryGetNumber(conf["moderation_threshold"], out var t) ? t : 0.5;
        if (results is not JsonArray list) return PhaseResult.Continue; // ipairs over a hash: nothing
        foreach (var result in list)
        {
            if (result is not JsonObject r)
                throw new InvalidOperationException("attempt to index local 'result' (a " + LuaTypeName(result) + " value)");
            if (categories != null)
            {
                var labels = r["Labels"];
                if (labels is not (JsonObject or JsonArray))
                    throw new InvalidOperationException("bad argument #1 to 'for iterator' (table expected, got "
                        + LuaTypeName(labels) + ")");
                IEnumerable<JsonNode?> items = labels is JsonArray a ? a : ((JsonObject)labels).Select(kv => kv.Value);
                foreach (var item in items)
                {
                    if (item is not JsonObject it)
                        throw new InvalidOperationException("attempt to index local 'item' (a " + LuaTypeName(item) + " value)");
                    if (!JsonScalars.TryGetString(it["Name"], out var name) || categories[name] is not { } limitNode)
                        continue;
                    JsonScalars.TryGetNumber(limitNode, out var limit);
                    if (Compare(it["Score"], limit) > 0)
                        return new PhaseResult(400, "request body exceeds " + name + " threshold");
                }
            }

            if (Compare(r["Toxicity"], threshold) > 0)
                return new PhaseResult(400, "request body exceeds toxicity threshold");
        }
        return PhaseResult.Continue;
    }

    /// <summary>
    /// <c>aws_instance:Comprehend({...}):detectToxicContent(params)</c>: build, sign (SigV4,
    /// service "comprehend") and execute the call; the response body, JSON-decoded when the
    /// answer says it is JSON, or the error worded as lua-resty-aws words it.
    /// </summary>
    private static async Task<(JsonNode? Body, string? Error)> DetectToxicContent(
        ApiCtx ctx, JsonObject comprehend, string endpoint, int port, string region, bool? sslVerify, JsonObject input)
    {
        var operationPrefix = ComprehendServiceId + ":detectToxicContent()";
        var request = RestyAws.BuildJsonRequest(endpoint, port, ComprehendTargetPrefix, "DetectToxicContent",
            ComprehendJsonVersion, input);

        JsonScalars.TryGetString(comprehend["access_key_id"], out var accessKey);
        JsonScalars.TryGetString(comprehend["secret_access_key"], out var secretKey);
        var sessionToken = JsonScalars.TryGetString(comprehend["session_token"], out var tok) ? tok : null;
        var (signed, signErr) = RestyAws.SignV4(
            new RestyAws.SigningConfig(region, ComprehendEndpointPrefix, accessKey ?? "", secretKey ?? "", sessionToken),
            request, DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        if (signed == null) return (null, "failed to sign request: " + signErr);
        var req = signed.Request;

        var (httpc, newErr) = await RestyHttpClient.NewAsync(ctx);
        if (httpc == null) throw new InvalidOperationException(newErr);
        using var _ = httpc;

        var scheme = req.Tls ? "https" : "http";
        var connectOpts = new JsonObject
        {
            ["host"] = req.Host,
            ["port"] = req.Port,
            ["scheme"] = scheme,
            ["ssl_server_name"] = req.Host,
            ["proxy_opts"] = new JsonObject(),
        };
        if (sslVerify != null) connectOpts["ssl_verify"] = sslVerify.Value;
        var headers = new JsonObject();
        foreach (var (k, v) in req.Headers) headers[k] = v;
        var requestOpts = new JsonObject
        {
            ["path"] = req.Path,
            ["method"] = req.Method,
            ["headers"] = headers,
            ["query"] = new JsonObject(),
            ["body"] = req.Body,
        };

        var (res, step, err) = await httpc.ConnectAndRequestAsync(connectOpts, requestOpts, DefaultTimeoutMs);
        var portText = req.Port.ToString(CultureInfo.InvariantCulture);
        if (res == null)
        {
            var text = step switch
            {
                "connect" => $"failed to connect to '{scheme}://{req.Host}:{portText}': {err ?? "nil"}",
                "request" => $"failed sending request to '{req.Host}:{portText}': {err ?? "nil"}",
                _ => $"failed reading response body from '{req.Host}:{portText}': {err ?? "nil"}",
            };
            return (null, operationPrefix + " " + text);
        }

        // res.body: JSON-decoded when Content-Type says application/...json and it decodes
        JsonNode? body = res.Body == null ? null : JsonValue.Create(res.Body);
        if (res.Headers.TryGetValue("Content-Type", out var ct)
            && Regex.IsMatch(ct.ToLowerInvariant(), "application/.*json") && res.Body != null)
        {
            var (decoded, _) = CJson.Decode(res.Body);
            if (decoded != null && !(decoded is JsonValue dv && JsonScalars.TryGetBoolean(dv, out var bv) && !bv))
                body = decoded;
        }
        // the response table is always there; its body may be missing
        return (body ?? new JsonObject(), null);
    }

    /// <summary><c>http:parse_uri(uri)</c>: scheme, host and port (the scheme's default when none is given).</summary>
    private static (string Scheme, string Host, int Port) ParseUri(string uri)
    {
        var m = Regex.Match(uri, @"^(?:(http[s]?):)?//((?:[^\[\]:/\?]+)|(?:\[.+\]))(?::(\d+))?([^\?]*)\??(.*)");
        if (!m.Success) throw new InvalidOperationException("bad argument #1 to 'unpack' (table expected, got nil)");
        var scheme = m.Groups[1].Success ? m.Groups[1].Value : "http";
        var port = m.Groups[3].Success ? int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)
            : scheme == "https" ? 443 : 80;
        return (scheme, m.Groups[2].Value, port);
    }

    // `a > b` between a JSON value and a number, with Lua's error for a non-number
    private static int Compare(JsonNode? a, double b)
    {
        if (!JsonScalars.TryGetNumber(a, out var x) || a is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String)
            throw new InvalidOperationException("attempt to compare number with " + LuaTypeName(a));
        return x.CompareTo(b);
    }

    private static string LuaTypeName(JsonNode? node) => node switch
    {
        null => "nil",
        JsonObject or JsonArray => "table",
        _ => node.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => "string",
            System.Text.Json.JsonValueKind.Number => "number",
            System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
            _ => "userdata",
        },
    };
}
