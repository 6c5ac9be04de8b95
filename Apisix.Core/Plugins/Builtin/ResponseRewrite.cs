// Twin of apisix/plugins/response-rewrite.lua
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// response-rewrite (priority 899): when its <c>vars</c> hold (or none are set), replaces the
/// response's status, headers (add / set / remove, with variables) and body (a fixed body,
/// maybe base64, or regex <c>filters</c> over the whole body).
/// Not ported: decoding a compressed upstream body before the filters run.
/// </summary>
public sealed class ResponseRewritePlugin : IPlugin, IHeaderFilterPhase, IBodyFilterPhase
{
    private static JsonObject StrOrNum() => new()
    {
        ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "number" }),
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["headers"] = new JsonObject
            {
                ["description"] = "new headers for response",
                ["anyOf"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "object", ["minProperties"] = 1,
                        ["patternProperties"] = new JsonObject { ["^[^:]+$"] = StrOrNum() },
                    },
                    new JsonObject
                    {
                        ["properties"] = new JsonObject
                        {
                            ["add"] = new JsonObject
                            {
                                ["type"] = "array", ["minItems"] = 1,
                                ["items"] = new JsonObject { ["type"] = "string", ["pattern"] = "^[^:]+:[^:]*[^/]$" },
                            },
                            ["set"] = new JsonObject
                            {
                                ["type"] = "object", ["minProperties"] = 1,
                                ["patternProperties"] = new JsonObject { ["^[^:]+$"] = StrOrNum() },
                            },
                            ["remove"] = new JsonObject
                            {
                                ["type"] = "array", ["minItems"] = 1,
                                ["items"] = new JsonObject { ["type"] = "string", ["pattern"] = "^[^:]+$" },
                            },
                        },
                    }),
            },
            ["body"] = new JsonObject { ["description"] = "new body for response", ["type"] = "string" },
            ["body_base64"] = new JsonObject
            {
                ["description"] = "whether new body for response need base64 decode before return",
                ["type"] = "boolean", ["default"] = false,
            },
            ["status_code"] = new JsonObject
            {
                ["description"] = "new status code for response",
                ["type"] = "integer", ["minimum"] = 200, ["maximum"] = 598,
            },
            ["vars"] = new JsonObject { ["type"] = "array" },
            ["filters"] = new JsonObject
            {
                ["description"] = "a group of filters that modify response bodyby replacing one specified string by another",
                ["type"] = "array", ["minItems"] = 1,
                ["items"] = new JsonObject
                {
                    ["description"] = "filter that modifies response body",
                    ["type"] = "object",
                    ["required"] = new JsonArray("regex", "replace"),
                    ["properties"] = new JsonObject
                    {
                        ["regex"] = new JsonObject { ["description"] = "match pattern on response body", ["type"] = "string", ["minLength"] = 1 },
                        ["scope"] = new JsonObject
                        {
                            ["description"] = "regex substitution range",
                            ["type"] = "string", ["enum"] = new JsonArray("once", "global"), ["default"] = "once",
                        },
                        ["replace"] = new JsonObject { ["description"] = "regex substitution content", ["type"] = "string" },
                        ["options"] = new JsonObject { ["description"] = "regex options", ["type"] = "string", ["default"] = "jo" },
                    },
                },
            },
        },
        ["dependencies"] = new JsonObject
        {
            ["body"] = new JsonObject { ["not"] = new JsonObject { ["required"] = new JsonArray("filters") } },
            ["filters"] = new JsonObject { ["not"] = new JsonObject { ["required"] = new JsonArray("body") } },
        },
    };

    public string Name => "response-rewrite";
    public int Priority => 899;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    private static bool IsNewHeadersConf(JsonObject h) =>
        h["add"] is JsonArray || h["set"] is JsonObject || h["remove"] is JsonArray;

    /// <summary><c>ngx.decode_base64</c>: null when the text is not base64.</summary>
    public static string? DecodeBase64(string s)
    {
        var t = s.TrimEnd('=');
        if (t.Length % 4 == 1 || t.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '+' || c == '/'))) return null;
        t = t.PadRight(t.Length + (4 - t.Length % 4) % 4, '=');
        try { return ByteString.FromBytes(Convert.FromBase64String(t)); }
        catch (FormatException) { return null; }
    }

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        if (conf["headers"] is JsonObject headers && !IsNewHeadersConf(headers))
        {
            foreach (var (field, value) in headers)
            {
                if (!JsonScalars.TryGetString(value, out _) && !JsonScalars.TryGetNumber(value, out _))
                    return (false, "invalid type as header value");
                if (field.Length == 0) return (false, "invalid field length in header");
            }
        }
        if (JsonScalars.TryGetBoolean(conf["body_base64"], out var b64) && b64)
        {
            var body = JsonScalars.TryGetString(conf["body"], out var bs) ? bs : null;
            if (body == null || !body.StartsWith("$secret://", StringComparison.Ordinal) && !body.StartsWith("$env://", StringComparison.Ordinal))
            {
                if (string.IsNullOrEmpty(body) || DecodeBase64(body) == null) return (false, "invalid base64 content");
            }
        }
        if (conf["vars"] is { } vars)
        {
            var (_, verr) = ExprV1.New(vars);
            if (verr != null) return (false, "failed to validate the 'vars' expression: " + verr);
        }
        foreach (var f in conf["filters"] as JsonArray ?? [])
        {
            var regex = f!["regex"]!.GetValue<string>();
            var opts = JsonScalars.TryGetString(f["options"], out var o) ? o : "jo";
            var (re, rerr) = Apisix.Core.OpenResty.Libs.NgxRegex.Get(regex, opts);
            if (re == null) return (false, "regex \"" + regex + "\" validation failed: " + rerr);
        }
        return (true, null);
    }

    private const string Matched = "response_rewrite_matched";

    private static bool VarsMatched(JsonObject conf, ApiCtx ctx)
    {
        if (conf["vars"] is not { } vars) return true;
        var (ex, _) = ExprV1.New(vars);
        return ex?.Eval(ctx.Var) ?? false;
    }

    public void HeaderFilter(JsonObject conf, ApiCtx ctx)
    {
        var matched = VarsMatched(conf, ctx);
        ctx.Items[Matched] = matched;
        if (!matched) return;
        if (JsonScalars.TryGetNumber(conf["status_code"], out var code)) ctx.Request.Status = (int)code;
        if (conf["filters"] != null || conf["body"] != null)
        {
            // the encoding is read first; core.response.clear_header_as_body_modified then drops it too
            var encoding = ctx.Request.ResponseHeaders.TryGetValue("Content-Encoding", out var enc) ? enc[0] : null;
            ctx.Request.SetResponseHeader("Content-Length", null);
            ctx.Request.SetResponseHeader("Content-Encoding", null);
            ctx.Request.SetResponseHeader("Last-Modified", null);
            ctx.Request.SetResponseHeader("Etag", null);
            ctx.Items["response_encoding"] = encoding;
        }
        if (conf["headers"] is not JsonObject headers) return;

        var add = new List<(string, string)>();
        var set = new List<(string, JsonNode?)>();
        var remove = new List<string>();
        if (IsNewHeadersConf(headers))
        {
            foreach (var v in headers["add"] as JsonArray ?? [])
            {
                var (m, err) = PluginRegex.Match(CtxVar.ToVarString(v) ?? "", @"^([^:\s]+)\s*:\s*([^:]+)$");
                if (m == null)
                {
                    ctx.Log(LogLevel.Error, "failed to create header operation: " + (err ?? "nil"));
                    return;
                }
                add.Add((m[1]!, m[2]!));
            }
            if (headers["set"] is JsonObject s) set.AddRange(s.Select(p => (p.Key, p.Value)));
            if (headers["remove"] is JsonArray r) remove.AddRange(r.Select(x => CtxVar.ToVarString(x) ?? ""));
        }
        else set.AddRange(headers.Select(p => (p.Key, p.Value)));

        foreach (var (field, value) in add)
        {
            var val = CoreUtils.ResolveVar(value, ctx.Var.GetString).Value!;
            if (ctx.Request.ResponseHeaders.TryGetValue(field, out var list)) list.Add(val);
            else ctx.Request.ResponseHeaders[field] = [val];
        }
        foreach (var (field, value) in set)
        {
            var val = CoreUtils.ResolveVar(CtxVar.ToVarString(value) ?? "", ctx.Var.GetString).Value!;
            ctx.Request.SetResponseHeader(field, val);
        }
        foreach (var field in remove) ctx.Request.SetResponseHeader(field, null);
    }

    public (string Chunk, bool Eof) BodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof)
    {
        if (ctx.Items.GetValueOrDefault(Matched) is not true) return (chunk, false);
        if (conf["filters"] is JsonArray filters)
        {
            // core.response.hold_body_chunk: the whole body, at its end
            var held = ctx.Items.GetValueOrDefault("response_rewrite_body") as StringBuilder ?? new StringBuilder();
            ctx.Items["response_rewrite_body"] = held;
            held.Append(chunk);
            if (!eof) return ("", false);
            var body = held.ToString();
            if (ctx.Items.GetValueOrDefault("response_encoding") is string encoding)
            {
                if (Apisix.Core.Utils.ContentDecode.DispatchDecoder(encoding) is not { } decoder)
                {
                    ctx.Log(LogLevel.Error, "filters may not work as expected due to unsupported compression encoding type: " + encoding);
                    return (body, false);
                }
                var (decoded, decodeErr) = decoder(body);
                if (decodeErr != null)
                {
                    ctx.Log(LogLevel.Error, "filters may not work as expected: " + decodeErr);
                    return (body, false);
                }
                body = decoded!;
            }
            foreach (var f in filters)
            {
                var regex = f!["regex"]!.GetValue<string>();
                var replace = JsonScalars.TryGetString(f["replace"], out var rp) ? rp : "";
                var opts = JsonScalars.TryGetString(f["options"], out var o) ? o : "jo";
                var global = JsonScalars.TryGetString(f["scope"], out var scope) && scope == "global";
                var (result, err) = PluginRegex.Sub(body, regex, replace, opts, global);
                if (err != null) ctx.Log(LogLevel.Error, "regex \"" + regex + "\" substitutes failed:" + err);
                else body = result!;
            }
            return (body, false);
        }
        if (JsonScalars.TryGetString(conf["body"], out var newBody))
        {
            var b64 = JsonScalars.TryGetBoolean(conf["body_base64"], out var b) && b;
            return (b64 ? DecodeBase64(newBody) ?? "" : newBody, true);
        }
        return (chunk, false);
    }
}
