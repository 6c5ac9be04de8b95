// Twin of apisix/plugins/http-logger.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Schema;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// http-logger (priority 410): the log phase builds the entry (log-util's full log or
/// <c>log_format</c>, as kafka-logger does; a request without a route gets
/// <c>route_id: "no-matched"</c>) and queues it in the Lua batch processor "http logger"; a
/// batch is POSTed to <c>uri</c> as one JSON object, a JSON array or JSON lines
/// (<c>concat_method</c>), with <c>auth_header</c> as Authorization, through resty.http.
/// The plugin metadata's <c>log_format</c> applies when the conf has none.
/// Not ported: response body collection
/// (<c>include_resp_body</c>) and <c>*_body_expr</c> conditions.
/// </summary>
public sealed class HttpLoggerPlugin : IPlugin, ILogPhase
{
    private static JsonObject Int(long min, long def) => new() { ["type"] = "integer", ["minimum"] = min, ["default"] = def };

    private static JsonObject ExprArray() => new()
    {
        ["type"] = "array", ["minItems"] = 1, ["items"] = new JsonObject { ["type"] = "array" },
    };

    private readonly JsonObject _schema = BatchProcessorSchema.WrapSchema(new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["uri"] = new JsonObject
            {
                ["type"] = "string",
                ["pattern"] = @"^[^\/]+:\/\/([\da-zA-Z.-]+|\[[\da-fA-F:]+\])(:\d+)?",
            },
            ["auth_header"] = new JsonObject { ["type"] = "string" },
            ["timeout"] = Int(1, 3),
            ["log_format"] = new JsonObject { ["type"] = "object" },
            ["include_req_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_req_body_expr"] = ExprArray(),
            ["include_resp_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_resp_body_expr"] = ExprArray(),
            ["max_req_body_bytes"] = Int(1, 524288),
            ["max_resp_body_bytes"] = Int(1, 524288),
            ["concat_method"] = new JsonObject
            {
                ["type"] = "string", ["default"] = "json", ["enum"] = new JsonArray("json", "new_line"),
            },
            ["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
        },
        ["encrypt_fields"] = new JsonArray("auth_header"),
        ["required"] = new JsonArray("uri"),
    }, "http logger");

    private readonly JsonObject _metadataSchema = LoggerMetadataSchema.Create();

    public string Name => "http-logger";
    public int Priority => 410;
    public double Version => 0.1;
    public JsonNode Schema => _schema;
    public JsonNode? MetadataSchema => _metadataSchema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        if (type == SchemaType.Metadata) return JsonSchema.Check(_metadataSchema, conf);
        var (ok, err) = JsonSchema.Check(_schema, conf);
        return ok ? CheckLogSchema(conf) : (false, err);
    }

    /// <summary><c>log-util.check_log_schema</c>: the body conditions must compile.</summary>
    public static (bool Ok, string? Error) CheckLogSchema(JsonObject conf)
    {
        foreach (var field in new[] { "include_req_body_expr", "include_resp_body_expr" })
        {
            if (conf[field] is not { } rule) continue;
            var (_, err) = Apisix.Core.Utils.ExprV1.New(rule);
            if (err != null) return (false, "failed to validate the '" + field + "' expression: " + err);
        }
        return (true, null);
    }

    // One manager per worker, called through the module table so a test's replacement sees it.
    private static readonly LuaChunk LogChunk = new("""
        local conf, entry, key, route_id, server_addr, host, port, path, query, scheme = ...
        local bp = require("apisix.utils.batch-processor-manager")
        local state = package.loaded["apisix.bridge.http-logger"]
        if type(state) ~= "table" then
            state = { manager = bp.new("http logger") }
            package.loaded["apisix.bridge.http-logger"] = state
        end
        local manager = state.manager
        rawset(conf, "_bp_key", key)
        if manager:add_entry(conf, entry) then
            return
        end
        local cjson = require("cjson.safe")
        local function send(log_message)
            ngx.log(ngx.INFO, "sending a batch logs to ", conf.uri)
            local http = require("resty.http")
            local httpc = http.new()
            httpc:set_timeout(conf.timeout * 1000)
            local ok, err = httpc:connect(host, port)
            if not ok then
                return false, "failed to connect to host[" .. host .. "] port["
                    .. tostring(port) .. "] " .. err
            end
            if scheme == "https" then
                ok, err = httpc:ssl_handshake(true, host, conf.ssl_verify)
                if not ok then
                    return false, "failed to perform SSL with host[" .. host .. "] "
                        .. "port[" .. tostring(port) .. "] " .. err
                end
            end
            local res, rerr = httpc:request({
                method = "POST",
                path = path,
                query = query,
                body = log_message,
                headers = {
                    ["Host"] = host,
                    ["Content-Type"] = conf.concat_method == "json" and "application/json" or "text/plain",
                    ["Authorization"] = conf.auth_header,
                },
            })
            if not res then
                return false, "error while sending data to [" .. host .. "] port["
                    .. tostring(port) .. "] " .. rerr
            end
            if res.status >= 400 then
                return false, "server returned status code[" .. res.status .. "] host["
                    .. host .. "] port[" .. tostring(port) .. "] "
                    .. "body[" .. (res:read_body() or "") .. "]"
            end
            res:read_body()
            return true
        end
        local func = function(entries, batch_max_size)
            local data, err
            if conf.concat_method == "json" then
                if batch_max_size == 1 then
                    data, err = cjson.encode(entries[1])
                else
                    data, err = cjson.encode(entries)
                end
            elseif conf.concat_method == "new_line" then
                if batch_max_size == 1 then
                    data, err = cjson.encode(entries[1])
                else
                    local t = {}
                    for i, e in ipairs(entries) do
                        t[i], err = cjson.encode(e)
                        if err then
                            ngx.log(ngx.WARN, "failed to encode http log: ", err, ", log data: ", e)
                            break
                        end
                    end
                    data = table.concat(t, "\n")
                end
            else
                err = "unknown concat_method " .. (conf.concat_method or "nil")
            end
            if not data then
                return false, 'error occurred while encoding the data: ' .. err
            end
            return send(data)
        end
        local ctx = { var = { route_id = route_id, server_addr = server_addr } }
        manager:add_entry_to_new_processor(conf, entry, ctx, func)
        """, "http-logger", 1);

    public async ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        var worker = ctx.Request.Worker;
        if (worker == null) return;
        var entry = KafkaLoggerPlugin.BuildEntry(new JsonObject(conf.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))
            .Where(p => p.Key != "meta_format")), ctx, Name) as JsonObject;
        if (entry == null) return;
        if (entry["route_id"] == null) entry["route_id"] = "no-matched";

        var uri = JsonScalars.TryGetString(conf["uri"], out var u) ? u : "";
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            ctx.Log(LogLevel.Error, "failed to parse the http-logger uri: " + uri);
            return;
        }
        var scheme = parsed.Scheme;
        var port = parsed.IsDefaultPort && !HasExplicitPort(uri) ? (scheme == "https" ? 443 : 80) : parsed.Port;
        var path = parsed.AbsolutePath.Length == 0 ? "/" : parsed.AbsolutePath;
        var query = parsed.Query.Length > 1 ? parsed.Query[1..] : null;

        var key = $"{ctx.ConfType}#{ctx.ConfId}#{ctx.ConfVersion}";
        var luaConf = LuaJson.FromJson(worker.Lua, conf);
        var luaEntry = LuaJson.FromJson(worker.Lua, entry);
        var r = await worker.RunEntry(worker.Chunk(LogChunk), ctx.Request, luaConf, luaEntry, key,
            ctx.RouteId ?? ctx.Var.GetString("route_id"), ctx.Var.GetString("server_addr"),
            parsed.Host, (long)port, path, query, scheme);
        if (!r.Ok) ctx.Log(LogLevel.Error, $"failed to run plugin [http-logger] log phase: {r.Error}\n{r.Traceback}");
    }

    private static bool HasExplicitPort(string uri)
    {
        var afterScheme = uri.IndexOf("://", StringComparison.Ordinal);
        var rest = afterScheme < 0 ? uri : uri[(afterScheme + 3)..];
        var slash = rest.IndexOfAny(['/', '?']);
        var authority = slash < 0 ? rest : rest[..slash];
        return authority.LastIndexOf(':') > authority.LastIndexOf(']');
    }
}
