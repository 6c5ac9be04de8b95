// Twin of apisix/plugins/echo.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// echo (priority 412): rewrites the response on its way out. <c>body</c> replaces the whole
/// body (and ends it), <c>before_body</c> goes in front of the first chunk, <c>after_body</c>
/// after the last one; <c>headers</c> are set on the response.
/// </summary>
public sealed class EchoPlugin : IPlugin, IHeaderFilterPhase, IBodyFilterPhase
{
    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["before_body"] = new JsonObject { ["description"] = "text sent before the response body", ["type"] = "string" },
            ["body"] = new JsonObject { ["description"] = "text that replaces the response body", ["type"] = "string" },
            ["after_body"] = new JsonObject { ["description"] = "text sent after the response body", ["type"] = "string" },
            ["headers"] = new JsonObject
            {
                ["description"] = "response headers to set",
                ["type"] = "object",
                ["minProperties"] = 1,
            },
        },
        ["anyOf"] = new JsonArray(
            new JsonObject { ["required"] = new JsonArray("before_body") },
            new JsonObject { ["required"] = new JsonArray("body") },
            new JsonObject { ["required"] = new JsonArray("after_body") }),
        ["minProperties"] = 1,
    };

    // ctx.plugin_echo_body_set
    private const string BodySet = "plugin_echo_body_set";

    public string Name => "echo";
    public int Priority => 412;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    private static string? Str(JsonObject conf, string name) => JsonScalars.TryGetString(conf[name], out var s) ? s : null;

    public (string Chunk, bool Eof) BodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof)
    {
        var ended = false;
        if (Str(conf, "body") is { } body)
        {
            chunk = body;
            eof = true;
            ended = true;
        }
        if (Str(conf, "before_body") is { } before && !ctx.Items.ContainsKey(BodySet))
        {
            chunk = before + chunk;
            ctx.Items[BodySet] = true;
        }
        if (eof && Str(conf, "after_body") is { } after) chunk += after;
        return (chunk, ended);
    }

    public void HeaderFilter(JsonObject conf, ApiCtx ctx)
    {
        if (conf["body"] != null || conf["before_body"] != null || conf["after_body"] != null)
        {
            // core.response.clear_header_as_body_modified
            ctx.Request.SetResponseHeader("Content-Length", null);
            ctx.Request.SetResponseHeader("Etag", null);
            ctx.Request.SetResponseHeader("Last-Modified", null);
        }
        if (conf["headers"] is not JsonObject headers) return;
        // as upstream: string or number values only; a bad entry stops the whole set
        var pairs = new List<(string, string)>();
        foreach (var (field, value) in headers)
        {
            if (value is not JsonValue v) return;
            if (JsonScalars.TryGetString(v, out var s)) pairs.Add((field, s));
            else if (JsonScalars.TryGetNumber(v, out var n)) pairs.Add((field, LuaNumber.ToLuaString(n)));
            else return;
            if (field.Length == 0) return;
        }
        foreach (var (field, value) in pairs) ctx.Request.SetResponseHeader(field, value);
    }
}
