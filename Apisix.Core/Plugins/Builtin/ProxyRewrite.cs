// Twin of apisix/plugins/proxy-rewrite.lua
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// proxy-rewrite (priority 1008): rewrites what the upstream gets: the uri (<c>uri</c> with
/// variables, or <c>regex_uri</c> pairs), the host, the method and request headers
/// (add / set / remove, with <c>$1</c> captures of regex_uri and <c>$var</c> variables).
/// </summary>
public sealed class ProxyRewritePlugin : IPlugin, IRewritePhase
{
    private static readonly string[] Methods =
        ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE", "PROPFIND", "LOCK", "UNLOCK", "PATCH", "TRACE"];

    private static JsonObject StrOrNum() => new()
    {
        ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "number" }),
    };

    private static JsonObject HeaderMap() => new()
    {
        ["type"] = "object",
        ["minProperties"] = 1,
        ["patternProperties"] = new JsonObject { ["^[^:]+$"] = StrOrNum() },
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["uri"] = new JsonObject
            {
                ["description"] = "new uri for upstream",
                ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 4096, ["pattern"] = @"^\/.*",
            },
            ["method"] = new JsonObject
            {
                ["description"] = "proxy route method",
                ["type"] = "string",
                ["enum"] = new JsonArray(Methods.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            },
            ["regex_uri"] = new JsonObject
            {
                ["description"] = "new uri that substitute from client uri for upstream, lower priority than uri property",
                ["type"] = "array", ["minItems"] = 2,
                ["items"] = new JsonObject { ["description"] = "regex uri", ["type"] = "string" },
            },
            ["host"] = new JsonObject
            {
                ["description"] = "new host for upstream",
                ["type"] = "string", ["pattern"] = @"^[0-9a-zA-Z-.]+(:\d{1,5})?$",
            },
            ["headers"] = new JsonObject
            {
                ["description"] = "new headers for request",
                ["oneOf"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "object", ["minProperties"] = 1, ["additionalProperties"] = false,
                        ["properties"] = new JsonObject
                        {
                            ["add"] = HeaderMap(),
                            ["set"] = HeaderMap(),
                            ["remove"] = new JsonObject
                            {
                                ["type"] = "array", ["minItems"] = 1,
                                ["items"] = new JsonObject { ["type"] = "string", ["pattern"] = "^[^:]+$" },
                            },
                        },
                    },
                    HeaderMap()),
            },
            ["use_real_request_uri_unsafe"] = new JsonObject
            {
                ["description"] = "use real_request_uri instead, THIS IS VERY UNSAFE.",
                ["type"] = "boolean", ["default"] = false,
            },
        },
        ["minProperties"] = 1,
    };

    public string Name => "proxy-rewrite";
    public int Priority => 1008;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    private static bool IsNewHeadersConf(JsonObject headers) =>
        headers["add"] is JsonObject || headers["set"] is JsonObject || headers["remove"] is JsonArray;

    /// <summary><c>core.utils.validate_header_field</c>: '!' to '~' without ':'.</summary>
    public static bool ValidateHeaderField(string field) => field.All(c => c > 32 && c < 127 && c != ':');

    /// <summary><c>core.utils.validate_header_value</c>: no control characters (a number is always valid).</summary>
    public static bool ValidateHeaderValue(JsonNode? value) =>
        !JsonScalars.TryGetString(value, out var s) || s.All(c => c >= 32 && c < 127);

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        if (conf["regex_uri"] is JsonArray regex && regex.Count > 0)
        {
            if (regex.Count % 2 != 0) return (false, "The length of regex_uri should be an even number");
            for (var i = 0; i < regex.Count; i += 2)
            {
                var pattern = regex[i]!.GetValue<string>();
                var replacement = regex[i + 1]!.GetValue<string>();
                if (IsSecretRef(pattern)) continue;
                var (_, subErr) = PluginRegex.Sub("/fake_uri", pattern, IsSecretRef(replacement) ? "" : replacement);
                if (subErr != null) return (false, "invalid regex_uri(" + pattern + ", " + replacement + "): " + subErr);
            }
        }
        if (conf["headers"] is JsonObject headers && !IsNewHeadersConf(headers))
        {
            foreach (var (field, value) in headers)
            {
                if (!JsonScalars.TryGetString(value, out _) && !JsonScalars.TryGetNumber(value, out _))
                    return (false, "invalid type as header value");
                if (field.Length == 0) return (false, "invalid field length in header");
                if (!ValidateHeaderField(field)) return (false, "invalid field character in header");
                if (!ValidateHeaderValue(value)) return (false, "invalid value character in header");
            }
        }
        return (true, null);
    }

    private static bool IsSecretRef(string s) =>
        s.StartsWith("$secret://", StringComparison.Ordinal) || s.StartsWith("$env://", StringComparison.Ordinal);

    /// <summary><c>core.utils.uri_safe_encode</c>: nginx's NGX_ESCAPE_URI escaping.</summary>
    public static string UriSafeEncode(string uri)
    {
        var sb = new StringBuilder(uri.Length);
        foreach (var c in ByteString.Normalize(uri))
        {
            if (c <= ' ' || c == '#' || c == '%' || c == '?' || c >= 0x7f)
                sb.Append('%').Append(((int)c & 0xFF).ToString("X2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary><c>core.utils.resolve_var_with_captures</c>: <c>$1</c> / <c>${1}</c> replaced by the regex_uri captures.</summary>
    private static string ResolveWithCaptures(string tpl, List<string?>? captures)
    {
        if (captures == null) return tpl;
        return System.Text.RegularExpressions.Regex.Replace(tpl, @"(?<!\\)\$\{?(\d+)\}?", m =>
        {
            var i = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return i < captures.Count ? captures[i] ?? "" : "";
        });
    }

    private static string ValueString(JsonNode? v) => CtxVar.ToVarString(v) ?? "";

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        if (JsonScalars.TryGetString(conf["host"], out var host)) ctx.Var["upstream_host"] = host;

        var unsafeUri = JsonScalars.TryGetBoolean(conf["use_real_request_uri_unsafe"], out var u) && u;
        var upstreamUri = ctx.Var.GetString("uri") ?? "";
        var separatorEscaped = false;
        if (unsafeUri) upstreamUri = ctx.Var.GetString("real_request_uri") ?? "";
        List<string?>? captures = ctx.Items.GetValueOrDefault("proxy_rewrite_regex_uri_captures") as List<string?>;

        if (JsonScalars.TryGetString(conf["uri"], out var confUri))
        {
            separatorEscaped = true;
            upstreamUri = CoreUtils.ResolveVar(confUri, ctx.Var.GetString, s => s.Replace("?", "%3F")).Value!;
        }
        else if (conf["regex_uri"] is JsonArray regex)
        {
            if (!upstreamUri.Contains('?')) separatorEscaped = true;
            string? errorMsg = null;
            for (var i = 0; i + 1 < regex.Count; i += 2)
            {
                var pattern = ValueString(regex[i]);
                var replacement = ValueString(regex[i + 1]);
                var (caps, err) = PluginRegex.Match(upstreamUri, pattern);
                if (err != null)
                {
                    errorMsg = "failed to match the uri " + ctx.Var.GetString("uri") + " (" + pattern + ")  : " + err;
                    break;
                }
                if (caps != null)
                {
                    captures = caps;
                    ctx.Items["proxy_rewrite_regex_uri_captures"] = caps;
                    var (newUri, subErr) = PluginRegex.Sub(upstreamUri, pattern, replacement);
                    if (newUri != null) upstreamUri = newUri;
                    else errorMsg = "failed to substitute the uri " + ctx.Request.Uri + " (" + pattern + ") with "
                                    + replacement + " : " + subErr;
                    break;
                }
            }
            if (errorMsg != null)
            {
                ctx.Log(LogLevel.Error, errorMsg);
                return ValueTask.FromResult(new PhaseResult(500, new JsonObject { ["error_msg"] = errorMsg }));
            }
        }

        if (!unsafeUri)
        {
            var index = separatorEscaped ? upstreamUri.IndexOf('?') : -1;
            upstreamUri = index >= 0
                ? UriSafeEncode(upstreamUri[..index]) + upstreamUri[index..]
                : UriSafeEncode(upstreamUri);
            // ngx.req.set_uri
            ctx.Request.Uri = upstreamUri;
            ctx.Var["uri"] = upstreamUri;
            if (ctx.Var.GetString("is_args") == "?")
                ctx.Var["upstream_uri"] = upstreamUri + (index >= 0 ? "&" : "?") + (ctx.Var.GetString("args") ?? "");
            else ctx.Var["upstream_uri"] = upstreamUri;
        }
        else ctx.Var["upstream_uri"] = upstreamUri;

        if (conf["headers"] is JsonObject headers)
        {
            var add = new List<(string, JsonNode?)>();
            var set = new List<(string, JsonNode?)>();
            var remove = new List<string>();
            if (IsNewHeadersConf(headers))
            {
                if (headers["add"] is JsonObject a) add.AddRange(a.Select(p => (p.Key, p.Value)));
                if (headers["set"] is JsonObject s) set.AddRange(s.Select(p => (p.Key, p.Value)));
                if (headers["remove"] is JsonArray r) remove.AddRange(r.Select(ValueString));
            }
            else set.AddRange(headers.Select(p => (p.Key, p.Value)));

            foreach (var (field, value) in add)
            {
                var val = CoreUtils.ResolveVar(ResolveWithCaptures(ValueString(value), captures), ctx.Var.GetString).Value!;
                PluginRequest.AddHeader(ctx, field, val);
            }
            foreach (var (field, value) in set)
            {
                var val = CoreUtils.ResolveVar(ResolveWithCaptures(ValueString(value), captures), ctx.Var.GetString).Value!;
                PluginRequest.SetHeader(ctx, field, val);
            }
            foreach (var field in remove) PluginRequest.SetHeader(ctx, field, null);
        }

        if (JsonScalars.TryGetString(conf["method"], out var method)) ctx.Request.Method = method;
        return ValueTask.FromResult(PhaseResult.Continue);
    }
}
