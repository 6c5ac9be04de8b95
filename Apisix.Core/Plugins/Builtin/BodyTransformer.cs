// Twin of apisix/plugins/body-transformer.lua
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Schema;
using Apisix.Core.OpenResty.Conf;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// body-transformer (priority 1080): rewrites the request body (rewrite phase) and/or the
/// response body (header and body filters) through a lua-resty-template. The body is first
/// decoded by its format (xml, json, encoded form, uri args, multipart; "plain" leaves it
/// undecoded) and its fields are the template's names, beside <c>_ctx</c>, <c>_body</c>,
/// <c>_escape_xml</c>, <c>_escape_json</c> and <c>_multipart</c>. The template is compiled by
/// <see cref="RestyTemplate"/> and rendered in the request's Lua state.
/// </summary>
public sealed class BodyTransformerPlugin : IPlugin, IRewritePhase, IHeaderFilterPhase, IBodyFilterPhase
{
    private static JsonObject TransformSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["input_format"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("xml", "json", "encoded", "args", "plain", "multipart"),
            },
            ["template"] = new JsonObject { ["type"] = "string" },
            ["template_is_base64"] = new JsonObject { ["type"] = "boolean" },
        },
        ["required"] = new JsonArray("template"),
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["request"] = TransformSchema(), ["response"] = TransformSchema() },
        ["anyOf"] = new JsonArray(
            new JsonObject { ["required"] = new JsonArray("request") },
            new JsonObject { ["required"] = new JsonArray("response") },
            new JsonObject { ["required"] = new JsonArray("request", "response") }),
    };

    public string Name => "body-transformer";
    public int Priority => 1080;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary><c>_M.check_schema(conf)</c>.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    private const string ConfKey = "body_transformer_conf";
    private const string HeldKey = "body_transformer_held";

    // Compiles the template, clears the reserved names from the decoded body, hangs the helpers
    // (escape_xml, escape_json: the plugin's own two helpers) behind it and renders.
    private static readonly LuaChunk Render = new("""
        local src, typ, out, body, vars, multipart = ...
        local ctx = ngx.ctx.api_ctx
        if not ctx then
            ctx = {}
            ctx.var = require("apisix.core.ctx").gateway_vars(ctx, vars)
            ngx.ctx.api_ctx = ctx
        end
        local json = require("apisix.core.json")

        local function escape_xml(s)
            return s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub("'", "&apos;"):gsub('"', "&quot;")
        end
        local function escape_json(s)
            return json.encode(s)
        end

        -- lua-resty-template's output helpers
        local template = {}
        function template.output(s)
            if s == nil or s == ngx.null then return "" end
            if type(s) == "function" then return template.output(s()) end
            return tostring(s)
        end
        local entities = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;", ["/"] = "&#47;" }
        function template.escape(s)
            if type(s) == "string" then return (s:gsub("[\">/<'&]", entities)) end
            return template.output(s)
        end

        out = out or {}
        local env = setmetatable({ template = template, context = out }, { __index = function(_, k)
            local v = out[k]
            if v == nil then v = template[k] end
            if v == nil then v = _G[k] end
            return v
        end })
        local render, err = load(src, "=" .. typ .. " template", "t", env)
        if not render then
            return "compile", err
        end

        out._ctx = nil
        out._body = nil
        out._escape_xml = nil
        out._escape_json = nil
        out._multipart = nil
        setmetatable(out, { __index = {
            _ctx = ctx,
            _body = body,
            _escape_xml = escape_xml,
            _escape_json = escape_json,
            _multipart = multipart,
        } })

        local ok, res = pcall(render)
        if not ok then
            return "render", tostring(res)
        end
        return "ok", res
        """, "body-transformer", 1);

    /// <summary>
    /// <c>transform(conf, body, typ, ctx, request_method)</c>: the rendered text, or null with the
    /// status and message to answer with. Runs synchronously unless the template yields.
    /// </summary>
    internal static async ValueTask<(string? Out, int Status, string? Error)> Transform(
        JsonObject conf, string? body, string typ, ApiCtx ctx, string? requestMethod)
    {
        var worker = ctx.Request.Worker ?? throw new InvalidOperationException("body-transformer needs the request's Lua worker");
        var tconf = (JsonObject)conf[typ]!;
        JsonScalars.TryGetString(tconf["input_format"], out var format);
        if (format == "") format = null;

        object? outTable = null;
        object? multipart = null;
        if ((body != null || requestMethod == "GET") && format != "plain")
        {
            if (format != null)
            {
                var ct = typ == "response" ? ResponseContentType(ctx) : ctx.Var.GetString("http_content_type");
                var (decoded, err) = Decode(format, body, ct, ctx, worker);
                if (decoded == null)
                {
                    err = $"{typ} body decode: {err}";
                    ctx.Log(LogLevel.Error, $"transform(): {err}, body size: {body?.Length ?? 0}");
                    return (null, 400, err);
                }
                outTable = decoded;
                if (format == "multipart") multipart = null; // the part object (set_simple, tostring) is not ported
            }
            else ctx.Log(LogLevel.Warn, $"transform(): no input format to parse {typ} body");
        }

        JsonScalars.TryGetString(tconf["template"], out var text);
        text ??= "";
        var isBase64 = JsonScalars.TryGetBoolean(tconf["template_is_base64"], out var b64) && b64;
        if (isBase64 || format != null && format != "encoded" && format != "args")
            text = ResponseRewritePlugin.DecodeBase64(text) ?? text;

        var src = RestyTemplate.Compile(text);
        var run = worker.RunEntry(worker.Chunk(Render), ctx.Request, src, typ, outTable, body,
            new ServerlessPlugin.LuaVars(ctx.Var), multipart);
        var r = run.IsCompleted ? run.Result : await run;
        if (!r.Ok)
        {
            var err = $"{typ} template rendering: {LuaJitError(r.Error ?? "")}";
            ctx.Log(LogLevel.Error, "transform(): " + err);
            return (null, 503, err);
        }
        var status = r.Values.Length > 0 ? r.Values[0] as string : null;
        var value = r.Values.Length > 1 ? r.Values[1] : null;
        if (status == "compile" || status == "render")
        {
            var err = $"{typ} template {(status == "compile" ? "compile" : "rendering")}: {LuaJitError(CtxVar.ToVarString(value) ?? "")}";
            ctx.Log(LogLevel.Error, "transform(): " + err);
            return (null, 503, err);
        }
        var rendered = CtxVar.ToVarString(value) ?? "";
        ctx.Log(LogLevel.Info, $"transform(): {typ} body transform output={rendered}");
        return (rendered, 0, null);
    }

    private static string? ResponseContentType(ApiCtx ctx) =>
        ctx.Request.ResponseHeaders.TryGetValue("Content-Type", out var v) && v.Count > 0 ? v[0] : null;

    /// <summary>The <c>decoders</c> table: the decoded body as a Lua value, or null and the error.</summary>
    private static (object? Value, string? Error) Decode(string format, string? body, string? ct, ApiCtx ctx, LuaWorker worker)
    {
        switch (format)
        {
            case "xml":
            {
                var (root, err) = Xml2Lua.Parse(body ?? "");
                return root == null ? (null, err) : (Xml2Lua.ToLua(worker.Lua, Xml2Lua.RemoveNamespace(root)), null);
            }
            case "json":
            {
                var (node, err) = CJson.Decode(body ?? "");
                if (err != null) return (null, err);
                return (LuaJson.FromJson(worker.Lua, node), null);
            }
            case "encoded":
                return (LuaJson.FromJson(worker.Lua, NgxArgs.Decode(body ?? "")), null);
            case "args":
                return (LuaJson.FromJson(worker.Lua, PluginRequest.GetUriArgs(ctx)), null);
            case "multipart":
            {
                var (parts, err) = Multipart.Parse(body ?? "", ct);
                if (parts == null) return (null, err);
                return (LuaJson.FromJson(worker.Lua, parts.GetAllWithArrays()), null);
            }
            default:
                return (null, "unknown input format " + format);
        }
    }

    private static readonly Regex Lua54Error = new(@"attempt to (.+?) a (\w+) value \((global|local|field|upvalue|method|constant) '([^']*)'\)");
    private static readonly Regex Lua54Call = new(@"(global|local|field|upvalue|method|constant) '([^']*)' is not callable \(a (\w+) value\)");

    /// <summary>Lua 5.4 words some errors otherwise than LuaJIT, which APISIX runs on: LuaJIT's words.</summary>
    public static string LuaJitError(string msg)
    {
        msg = Lua54Call.Replace(msg, m => $"attempt to call {m.Groups[1].Value} '{m.Groups[2].Value}' (a {m.Groups[3].Value} value)");
        return Lua54Error.Replace(msg, m => $"attempt to {m.Groups[1].Value} {m.Groups[3].Value} '{m.Groups[4].Value}' (a {m.Groups[2].Value} value)");
    }

    /// <summary><c>set_input_format(conf, typ, ct, method)</c>: the format from the method or the Content-Type when none is set.</summary>
    private static void SetInputFormat(JsonObject conf, string typ, string? ct, string? method)
    {
        var tconf = (JsonObject)conf[typ]!;
        if (method == "GET") tconf["input_format"] = "args";
        if (tconf["input_format"] == null && ct != null)
        {
            if (ct.Contains("text/xml", StringComparison.Ordinal)) tconf["input_format"] = "xml";
            else if (ct.Contains("application/json", StringComparison.Ordinal)) tconf["input_format"] = "json";
            else if (ct.ToLowerInvariant().Contains("application/x-www-form-urlencoded", StringComparison.Ordinal)) tconf["input_format"] = "encoded";
            else if (ct.ToLowerInvariant().Contains("multipart/", StringComparison.Ordinal)) tconf["input_format"] = "multipart";
        }
    }

    /// <summary><c>_M.rewrite(conf, ctx)</c>.</summary>
    public async ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        if (conf["request"] is not JsonObject) return PhaseResult.Continue;
        var method = ctx.Request.Method;
        conf = (JsonObject)conf.DeepClone();
        ctx.Items[ConfKey] = conf;
        var (body, _) = await CoreRequest.GetBodyAsync(null, ctx);
        SetInputFormat(conf, "request", ctx.Var.GetString("http_content_type"), method);
        var (output, status, err) = await Transform(conf, body, "request", ctx, method);
        if (output == null) return new PhaseResult(status, new JsonObject { ["message"] = err });
        CoreRequest.SetBodyData(ctx, output);
        return PhaseResult.Continue;
    }

    /// <summary><c>_M.header_filter(conf, ctx)</c>.</summary>
    public void HeaderFilter(JsonObject conf, ApiCtx ctx)
    {
        if (conf["response"] is not JsonObject) return;
        if (ctx.Items.GetValueOrDefault(ConfKey) is not JsonObject copy)
        {
            copy = (JsonObject)conf.DeepClone();
            ctx.Items[ConfKey] = copy;
        }
        SetInputFormat(copy, "response", ResponseContentType(ctx), null);
        // core.response.clear_header_as_body_modified
        ctx.Request.SetResponseHeader("Content-Length", null);
        ctx.Request.SetResponseHeader("Content-Encoding", null);
        ctx.Request.SetResponseHeader("Last-Modified", null);
        ctx.Request.SetResponseHeader("Etag", null);
    }

    /// <summary><c>_M.body_filter(conf, ctx)</c>: the whole response body, transformed at its end.</summary>
    public (string Chunk, bool Eof) BodyFilter(JsonObject _, ApiCtx ctx, string chunk, bool eof)
    {
        if (ctx.Items.GetValueOrDefault(ConfKey) is not JsonObject conf || conf["response"] is not JsonObject)
            return (chunk, false);
        // core.response.hold_body_chunk
        var held = ctx.Items.GetValueOrDefault(HeldKey) as StringBuilder;
        if (!eof)
        {
            if (chunk.Length > 0)
            {
                held ??= new StringBuilder();
                ctx.Items[HeldKey] = held;
                held.Append(chunk);
            }
            return ("", false);
        }
        var body = held != null ? held.Append(chunk).ToString() : chunk;
        ctx.Items.Remove(HeldKey);

        var task = Transform(conf, body, "response", ctx, null);
        if (!task.IsCompleted)
        {
            ctx.Log(LogLevel.Error, "body_filter(): failed to transform response body: attempt to yield across C-call boundary");
            return (body, false);
        }
        var (output, _, _) = task.Result;
        if (output == null)
        {
            ctx.Log(LogLevel.Error, "body_filter(): failed to transform response body: " + body);
            return (body, false);
        }
        return (output, false);
    }
}
