// Twin of apisix/plugins/clickhouse-logger.lua
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Schema;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// clickhouse-logger (priority 398): the log phase builds the entry (log-util's full log, the
/// conf's <c>log_format</c>, else the plugin metadata's) and queues it in the Lua batch processor
/// "clickhouse logger", bounded by the metadata's <c>max_pending_entries</c>. A batch is sent to
/// ClickHouse's HTTP interface as one POST whose body is
/// <c>INSERT INTO &lt;logtable&gt; FORMAT JSONEachRow</c> followed by the JSON rows (one object, or
/// several separated by a space), with the user, password and database in the
/// <c>X-ClickHouse-*</c> headers. With <c>endpoint_addrs</c> each batch goes to one address picked
/// at random. <c>include_resp_body</c> keeps the response body (body_filter) for the entry.
/// Not ported: the <c>*_body_expr</c> conditions.
/// </summary>
public sealed class ClickhouseLoggerPlugin : IPlugin, IBodyFilterPhase, ILogPhase
{
    public const string PluginName = "clickhouse-logger";

    private static JsonObject Int(long min, long def) => new() { ["type"] = "integer", ["minimum"] = min, ["default"] = def };

    private static JsonObject Str(string def) => new() { ["type"] = "string", ["default"] = def };

    private static JsonObject ExprArray() => new()
    {
        ["type"] = "array", ["minItems"] = 1, ["items"] = new JsonObject { ["type"] = "array" },
    };

    private static JsonObject Required(string addrField) =>
        new() { ["required"] = new JsonArray(addrField, "user", "password", "database", "logtable") };

    /// <summary>The schema after <c>batch_processor_manager:wrap_schema</c>.</summary>
    private readonly JsonObject _schema = BatchProcessorSchema.WrapSchema(new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            // endpoint_addr is the older single-address form of endpoint_addrs
            ["endpoint_addr"] = SchemaDefs.UriDef(),
            ["endpoint_addrs"] = new JsonObject
            {
                ["items"] = SchemaDefs.UriDef(), ["type"] = "array", ["minItems"] = 1,
            },
            ["user"] = Str(""),
            ["password"] = Str(""),
            ["database"] = Str(""),
            ["logtable"] = Str(""),
            ["timeout"] = Int(1, 3),
            ["name"] = Str("clickhouse logger"),
            ["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["log_format"] = new JsonObject { ["type"] = "object" },
            ["include_req_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_req_body_expr"] = ExprArray(),
            ["include_resp_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_resp_body_expr"] = ExprArray(),
            ["max_req_body_bytes"] = Int(1, 524288),
            ["max_resp_body_bytes"] = Int(1, 524288),
        },
        ["oneOf"] = new JsonArray(Required("endpoint_addr"), Required("endpoint_addrs")),
        ["encrypt_fields"] = new JsonArray("password"),
    }, "clickhouse logger");

    private readonly JsonObject _metadataSchema = LoggerMetadataSchema.Create();

    public string Name => PluginName;
    public int Priority => 398;
    public double Version => 0.1;
    public JsonNode Schema => _schema;
    public JsonNode? MetadataSchema => _metadataSchema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        if (type == SchemaType.Metadata) return JsonSchema.Check(_metadataSchema, conf);
        // core.utils.check_https / check_tls_bool only log warnings; the port has no log sink
        // while a schema is checked, so they are left out.
        return JsonSchema.Check(_schema, conf);
    }

    // send_http_data and the batch function, run on the request's worker. One manager per
    // worker, reached through the module table so a test's replacement sees every entry.
    private static readonly LuaChunk LogChunk = new("""
        local conf, entry, key, route_id, server_addr, endpoints, max_pending_entries = ...
        local bp = require("apisix.utils.batch-processor-manager")
        local state = package.loaded["apisix.bridge.clickhouse-logger"]
        if type(state) ~= "table" then
            state = { manager = bp.new("clickhouse logger") }
            package.loaded["apisix.bridge.clickhouse-logger"] = state
        end
        local manager = state.manager
        rawset(conf, "_bp_key", key)
        if manager:add_entry(conf, entry, max_pending_entries) then
            return
        end
        local core = require("apisix.core")
        local function send_http_data(log_message)
            local ep
            if #endpoints == 1 then
                ep = endpoints[1]
            else
                ep = endpoints[math.random(#endpoints)]
            end
            local host, port = ep.host, ep.port
            core.log.info("sending a batch logs to ", ep.addr)
            local http = require("resty.http")
            local httpc = http.new()
            httpc:set_timeout(conf.timeout * 1000)
            local ok, err = httpc:connect(host, port)
            if not ok then
                return false, "failed to connect to host[" .. host .. "] port["
                    .. tostring(port) .. "] " .. err
            end
            if ep.scheme == "https" then
                ok, err = httpc:ssl_handshake(true, host, conf.ssl_verify)
                if not ok then
                    return false, "failed to perform SSL with host[" .. host .. "] "
                        .. "port[" .. tostring(port) .. "] " .. err
                end
            end
            local res, rerr = httpc:request({
                method = "POST",
                path = ep.path,
                query = ep.query,
                body = "INSERT INTO " .. conf.logtable .. " FORMAT JSONEachRow " .. log_message,
                headers = {
                    ["Host"] = host,
                    ["Content-Type"] = "application/json",
                    ["X-ClickHouse-User"] = conf.user,
                    ["X-ClickHouse-Key"] = conf.password,
                    ["X-ClickHouse-Database"] = conf.database,
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
            if batch_max_size == 1 then
                data, err = core.json.encode(entries[1])
            else
                local rows = {}
                for i = 1, #entries do
                    rows[#rows + 1] = core.json.encode(entries[i])
                end
                data = table.concat(rows, " ")
            end
            if not data then
                return false, "error occurred while encoding the data: " .. tostring(err)
            end
            return send_http_data(data)
        end
        local ctx = { var = { route_id = route_id, server_addr = server_addr } }
        manager:add_entry_to_new_processor(conf, entry, ctx, func, max_pending_entries)
        """, "clickhouse-logger", 1);

    public (string Chunk, bool Eof) BodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof)
    {
        KafkaLoggerPlugin.CollectBody(conf, ctx, chunk, eof);
        return (chunk, eof);
    }

    public async ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        var worker = ctx.Request.Worker;
        if (worker == null) return;
        var metadata = PluginMetadata(ctx, PluginName);
        long? maxPending = metadata?["max_pending_entries"] is JsonNode mp && JsonScalars.TryGetNumber(mp, out var n)
            ? (long)n : null;
        var entry = KafkaLoggerPlugin.BuildEntry(WithoutMetaFormat(conf), ctx, Name);
        if (entry == null) return;

        var endpoints = new JsonArray();
        var addrs = conf["endpoint_addr"] is JsonNode single ? new JsonArray(single.DeepClone())
            : conf["endpoint_addrs"] as JsonArray ?? new JsonArray();
        foreach (var a in addrs)
        {
            var addr = JsonScalars.TryGetString(a, out var s) ? s : "";
            if (ParseEndpoint(addr) is not { } ep)
            {
                ctx.Log(LogLevel.Error, "failed to parse the clickhouse-logger endpoint: " + addr);
                return;
            }
            endpoints.Add(ep);
        }
        if (endpoints.Count == 0) return;

        var key = $"{ctx.ConfType}#{ctx.ConfId}#{ctx.ConfVersion}";
        var r = await worker.RunEntry(worker.Chunk(LogChunk), ctx.Request,
            LuaJson.FromJson(worker.Lua, conf), LuaJson.FromJson(worker.Lua, entry), key,
            ctx.RouteId ?? ctx.Var.GetString("route_id"), ctx.Var.GetString("server_addr"),
            LuaJson.FromJson(worker.Lua, endpoints), maxPending);
        if (!r.Ok) ctx.Log(LogLevel.Error, $"failed to run plugin [{PluginName}] log phase: {r.Error}\n{r.Traceback}");
    }

    /// <summary>The conf as get_log_entry sees it: this plugin has no <c>meta_format</c>.</summary>
    public static JsonObject WithoutMetaFormat(JsonObject conf) =>
        new(conf.Where(p => p.Key != "meta_format").Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));

    /// <summary><c>plugin.plugin_metadata(name).value</c>, or null when none is set.</summary>
    public static JsonObject? PluginMetadata(ApiCtx ctx, string pluginName)
    {
        var prefix = ctx.Config?.EtcdPrefix ?? Store.ConfigStore.DefaultPrefix;
        return ctx.Store?.Get(prefix + "/plugin_metadata/" + pluginName)?.Value as JsonObject;
    }

    /// <summary>
    /// What <c>net.url.parse</c> gives send_http_data: host, port (80 or 443 by scheme when the
    /// address has none), path ("/" when empty) and query; null when it is not an absolute URL.
    /// </summary>
    public static JsonObject? ParseEndpoint(string addr)
    {
        if (!Uri.TryCreate(addr, UriKind.Absolute, out var u)) return null;
        var scheme = u.Scheme;
        var port = HasExplicitPort(addr) ? u.Port : scheme == "https" ? 443 : 80;
        var ep = new JsonObject
        {
            ["addr"] = addr,
            ["scheme"] = scheme,
            ["host"] = u.Host.Trim('[', ']'),
            ["port"] = port,
            ["path"] = u.AbsolutePath.Length == 0 ? "/" : u.AbsolutePath,
        };
        if (u.Query.Length > 1) ep["query"] = u.Query[1..];
        return ep;
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
