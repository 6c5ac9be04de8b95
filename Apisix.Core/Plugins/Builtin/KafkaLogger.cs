using System.Globalization;
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
/// Port of <c>apisix/plugins/kafka-logger.lua</c> (priority 403). The log phase builds the entry
/// (<c>log-util.get_log_entry</c>: the full log, or <c>log_format</c>, plus the AI fields
/// <c>llm_summary</c> / <c>llm_request</c> / <c>llm_response_text</c> that ai-proxy leaves in
/// <see cref="ApiCtx.Items"/>) and hands it to the Lua module
/// <c>apisix.utils.batch-processor-manager</c> on the request's worker, calling its
/// <c>add_entry</c> and <c>add_entry_to_new_processor</c> through the module table so that Lua
/// code replacing them (as tests do) sees every entry.
/// <para>Not ported: the Kafka producer itself (lua-resty-kafka). The batch's send function
/// fails with an error saying so, which the batch processor logs; plugin metadata
/// (<c>log_format</c>, <c>max_pending_entries</c>), <c>include_req_body_expr</c> /
/// <c>include_resp_body_expr</c> evaluation and <c>include_resp_body</c> collection are not
/// read either.</para>
/// </summary>
public sealed class KafkaLoggerPlugin : IPlugin, ILogPhase
{
    /// <summary>The batch processor manager's name (<c>bp_manager_mod.new("kafka logger")</c>).</summary>
    public const string ManagerName = "kafka logger";

    private readonly JsonObject _schema = BuildSchema();
    private readonly JsonObject _metadataSchema = LoggerMetadataSchema.Create();

    public string Name => "kafka-logger";
    public int Priority => 403;
    public double Version => 0.1;
    public JsonNode Schema => _schema;
    public JsonNode? MetadataSchema => _metadataSchema;

    private static JsonObject Int(long? min = null, long? max = null, long? def = null, string? description = null)
    {
        var o = new JsonObject { ["type"] = "integer" };
        if (description != null) o["description"] = description;
        if (min != null) o["minimum"] = min;
        if (max != null) o["maximum"] = max;
        if (def != null) o["default"] = def;
        return o;
    }

    private static JsonObject Str(string? def = null, params string[] values)
    {
        var o = new JsonObject { ["type"] = "string" };
        if (def != null) o["default"] = def;
        if (values.Length > 0) o["enum"] = new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        return o;
    }

    private static JsonObject ExprArray() => new()
    {
        ["type"] = "array",
        ["minItems"] = 1,
        ["items"] = new JsonObject { ["type"] = "array" },
    };

    /// <summary>The plugin's schema after <c>batch_processor_manager:wrap_schema</c>.</summary>
    public static JsonObject BuildSchema()
    {
        var properties = new JsonObject
        {
            ["meta_format"] = Str("default", "default", "origin"),
            ["log_format"] = new JsonObject { ["type"] = "object" },
            ["broker_list"] = new JsonObject
            {
                ["type"] = "object",
                ["minProperties"] = 1,
                ["patternProperties"] = new JsonObject
                {
                    [".*"] = Int(1, 65535, description: "the port of kafka broker"),
                },
            },
            ["brokers"] = new JsonObject
            {
                ["type"] = "array",
                ["minItems"] = 1,
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["host"] = new JsonObject { ["type"] = "string", ["description"] = "the host of kafka broker" },
                        ["port"] = Int(1, 65535, description: "the port of kafka broker"),
                        ["sasl_config"] = new JsonObject
                        {
                            ["type"] = "object",
                            ["description"] = "sasl config",
                            ["properties"] = new JsonObject
                            {
                                ["mechanism"] = Str("PLAIN", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
                                ["user"] = new JsonObject { ["type"] = "string", ["description"] = "user" },
                                ["password"] = new JsonObject { ["type"] = "string", ["description"] = "password" },
                            },
                            ["required"] = new JsonArray("user", "password"),
                        },
                    },
                    ["required"] = new JsonArray("host", "port"),
                },
                ["uniqueItems"] = true,
            },
            ["kafka_topic"] = new JsonObject { ["type"] = "string" },
            ["producer_type"] = Str("async", "async", "sync"),
            ["required_acks"] = new JsonObject { ["type"] = "integer", ["default"] = 1, ["enum"] = new JsonArray(1, -1) },
            ["key"] = new JsonObject { ["type"] = "string" },
            ["timeout"] = Int(1, def: 3),
            ["include_req_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_req_body_expr"] = ExprArray(),
            ["include_resp_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_resp_body_expr"] = ExprArray(),
            ["max_req_body_bytes"] = Int(1, def: 524288),
            ["max_resp_body_bytes"] = Int(1, def: 524288),
            ["cluster_name"] = Int(1, def: 1),
            ["producer_batch_num"] = Int(1, def: 200),
            ["producer_batch_size"] = Int(0, def: 1048576),
            ["producer_max_buffering"] = Int(1, def: 50000),
            ["producer_time_linger"] = Int(1, def: 1),
            ["meta_refresh_interval"] = Int(1, def: 30),
            ["api_version"] = new JsonObject { ["type"] = "integer", ["default"] = 1, ["enum"] = new JsonArray(0, 1, 2) },
        };
        return BatchProcessorSchema.WrapSchema(new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["oneOf"] = new JsonArray(
                new JsonObject { ["required"] = new JsonArray("broker_list", "kafka_topic") },
                new JsonObject { ["required"] = new JsonArray("brokers", "kafka_topic") }),
            ["encrypt_fields"] = new JsonArray("brokers.sasl_config.password"),
        }, ManagerName);
    }

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        if (type == SchemaType.Metadata) return JsonSchema.Check(_metadataSchema, conf);
        // log_util.check_log_schema compiles the *_body_expr expressions; resty.expr is not
        // ported, so only their shape (the schema) is checked.
        return JsonSchema.Check(_schema, conf);
    }

    // Keeps one manager per worker (bp_manager_mod.new at module load) and calls it through the
    // module table, as kafka-logger.lua's log phase does.
    private static readonly LuaChunk LogChunk = new("""
        local conf, entry, key, route_id, server_addr = ...
        local bp = require("apisix.utils.batch-processor-manager")
        local state = package.loaded["apisix.bridge.kafka-logger"]
        if type(state) ~= "table" then
            state = { manager = bp.new("kafka logger") }
            package.loaded["apisix.bridge.kafka-logger"] = state
        end
        local manager = state.manager
        rawset(conf, "_bp_key", key)
        if manager:add_entry(conf, entry) then
            return
        end
        local cjson = require("cjson.safe")
        local func = function(entries, batch_max_size)
            local data, err
            if batch_max_size == 1 then
                data = entries[1]
                if type(data) ~= "string" then
                    data, err = cjson.encode(data)
                end
            else
                data, err = cjson.encode(entries)
            end
            if not data then
                return false, "error occurred while encoding the data: " .. tostring(err)
            end
            return false, "failed to send data to Kafka topic: sending to Kafka is not ported"
                .. " (no Kafka producer in this port), brokers: "
                .. tostring(cjson.encode(conf.broker_list or conf.brokers))
        end
        local ctx = { var = { route_id = route_id, server_addr = server_addr } }
        manager:add_entry_to_new_processor(conf, entry, ctx, func)
        """, "kafka-logger", 1);

    public async ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        var worker = ctx.Request.Worker;
        if (worker == null) return;
        var entry = BuildEntry(conf, ctx);
        if (entry == null) return;
        var key = $"{ctx.ConfType}#{ctx.ConfId}#{ctx.ConfVersion}";
        var luaConf = LuaJson.FromJson(worker.Lua, conf);
        var luaEntry = entry is JsonValue v && v.TryGetValue<string>(out var s) ? (object)s : LuaJson.FromJson(worker.Lua, entry);
        var r = await worker.RunEntry(worker.Chunk(LogChunk), ctx.Request, luaConf, luaEntry, key,
            ctx.RouteId ?? ctx.Var.GetString("route_id"), ctx.Var.GetString("server_addr"));
        if (!r.Ok) ctx.Log(LogLevel.Error, $"failed to run plugin [kafka-logger] log phase: {r.Error}\n{r.Traceback}");
    }

    /// <summary>
    /// The entry kafka-logger sends: <c>get_req_original</c> for <c>meta_format: origin</c>,
    /// otherwise <c>log-util.get_log_entry</c>.
    /// </summary>
    public static JsonNode? BuildEntry(JsonObject conf, ApiCtx ctx, string? pluginName = null)
    {
        if (JsonScalars.TryGetString(conf["meta_format"], out var mf) && mf == "origin")
            return JsonValue.Create(OriginalRequest(conf, ctx));

        // get_log_entry: the conf's log_format, else the plugin metadata's (when it has keys)
        var metaFormat = pluginName == null ? null : MetadataLogFormat(ctx, pluginName);
        JsonObject entry = conf["log_format"] is JsonObject format && (format.Count > 0 || pluginName != null)
            ? CustomFormatLog(ctx, format, conf)
            : metaFormat != null
                ? CustomFormatLog(ctx, metaFormat, conf)
                : FullLog(conf, ctx);

        foreach (var field in new[] { "llm_summary", "llm_request", "llm_response_text" })
        {
            if (ctx.Items.TryGetValue(field, out var value) && value is JsonNode node)
                entry[field] = node.DeepClone();
        }
        return entry;
    }

    /// <summary><c>plugin.plugin_metadata(name).value.log_format</c> when it has keys, or null.</summary>
    private static JsonObject? MetadataLogFormat(ApiCtx ctx, string pluginName)
    {
        var prefix = ctx.Config?.EtcdPrefix ?? Store.ConfigStore.DefaultPrefix;
        var metadata = ctx.Store?.Get(prefix + "/plugin_metadata/" + pluginName)?.Value as JsonObject;
        return metadata?["log_format"] is JsonObject f && f.Count > 0 ? f : null;
    }

    private static string? RequestBody(JsonObject conf, ApiCtx ctx)
    {
        var body = ctx.Request.BodyText();
        // log-util reads ngx.req.get_body_data, which is nil for an empty body: no "body" field
        if (string.IsNullOrEmpty(body)) return null;
        var max = JsonScalars.TryGetNumber(conf["max_req_body_bytes"], out var m) ? (int)m : 524288;
        return body.Length >= max ? body[..max] : body;
    }

    private static JsonObject CustomFormatLog(ApiCtx ctx, JsonObject format, JsonObject conf)
    {
        JsonObject Build(JsonObject fmt, int depth)
        {
            var e = new JsonObject();
            foreach (var (k, v) in fmt)
            {
                if (v is JsonObject nested)
                    e[k] = depth >= 5 ? new JsonObject() : Build(nested, depth + 1);
                else if (JsonScalars.TryGetString(v, out var name) && name.StartsWith('$'))
                {
                    var varName = name[1..];
                    var value = varName == "request_body" ? RequestBody(conf, ctx) : ctx.Var[varName];
                    e[k] = CtxVar.ToJsonNode(value);
                }
                else e[k] = v?.DeepClone();
            }
            return e;
        }
        var entry = Build(format, 1);
        if (ctx.MatchedRoute != null)
        {
            if (ctx.ServiceId != null) entry["service_id"] = ctx.ServiceId;
            if (ctx.RouteId != null) entry["route_id"] = ctx.RouteId;
        }
        return entry;
    }

    private static JsonNode? Number(string? s) =>
        s != null && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? CJson.NumberNode(d) : null;

    /// <summary><c>log-util.get_full_log</c>.</summary>
    private static JsonObject FullLog(JsonObject conf, ApiCtx ctx)
    {
        var req = ctx.Request;
        var var = ctx.Var;
        var url = $"{var.GetString("scheme")}://{var.GetString("host")}:{var.GetString("server_port")}{var.GetString("request_uri")}";

        var headers = new JsonObject();
        foreach (var (name, value) in req.RequestHeaders)
        {
            var k = name.ToLowerInvariant();
            if (headers[k] is JsonArray arr) arr.Add(value);
            else if (headers[k] is JsonNode prev) headers[k] = new JsonArray(prev.DeepClone(), value);
            else headers[k] = value;
        }
        var query = new JsonObject();
        if (!string.IsNullOrEmpty(req.Args))
        {
            foreach (var part in req.Args.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = part.IndexOf('=');
                var k = Uri.UnescapeDataString((eq < 0 ? part : part[..eq]).Replace('+', ' '));
                JsonNode v = eq < 0 ? JsonValue.Create(true) : JsonValue.Create(Uri.UnescapeDataString(part[(eq + 1)..].Replace('+', ' ')));
                if (query[k] is JsonArray arr) arr.Add(v);
                else if (query[k] is JsonNode prev) query[k] = new JsonArray(prev.DeepClone(), v);
                else query[k] = v;
            }
        }
        var respHeaders = new JsonObject();
        foreach (var (name, values) in req.ResponseHeaders)
        {
            if (values.Count == 0) continue;
            respHeaders[name.ToLowerInvariant()] = values.Count == 1
                ? JsonValue.Create(values[0])
                : new JsonArray(values.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
        }

        var start = req.StartTime.ToUnixTimeMilliseconds() / 1000.0;
        var latency = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 - start) * 1000;
        double? upstreamLatency = null;
        var apisixLatency = latency;
        if (Number(var.GetString("upstream_response_time")) is JsonValue urt && urt.TryGetValue<double>(out var u))
        {
            upstreamLatency = u * 1000;
            apisixLatency = Math.Max(0, apisixLatency - upstreamLatency.Value);
        }

        var log = new JsonObject
        {
            ["request"] = new JsonObject
            {
                ["url"] = url,
                ["uri"] = var.GetString("request_uri"),
                ["method"] = req.Method,
                ["headers"] = headers,
                ["querystring"] = query,
                ["size"] = Number(var.GetString("request_length")),
            },
            ["response"] = new JsonObject
            {
                ["status"] = Number(var.GetString("status")) ?? CJson.NumberNode(req.Status),
                ["headers"] = respHeaders,
                ["size"] = Number(var.GetString("bytes_sent")),
            },
            ["server"] = new JsonObject
            {
                ["hostname"] = Environment.MachineName,
                ["version"] = AdminOptions.ApisixVersion,
            },
            ["upstream"] = var.GetString("upstream_addr"),
            ["service_id"] = ctx.MatchedRoute != null ? (ctx.ServiceId ?? "") : var.GetString("host"),
            ["route_id"] = ctx.MatchedRoute != null ? ctx.RouteId : null,
            ["client_ip"] = var.GetString("remote_addr"),
            ["start_time"] = CJson.NumberNode(start * 1000),
            ["latency"] = CJson.NumberNode(latency),
            ["upstream_latency"] = upstreamLatency is { } ul ? CJson.NumberNode(ul) : null,
            ["apisix_latency"] = CJson.NumberNode(apisixLatency),
        };
        if (ctx.ConsumerName != null) log["consumer"] = new JsonObject { ["username"] = ctx.ConsumerName };

        if (JsonScalars.TryGetBoolean(conf["include_resp_body"], out var irsb) && irsb
            && ctx.Items.TryGetValue("resp_body", out var respBody) && respBody is string rb)
            ((JsonObject)log["response"]!)["body"] = rb;

        if (JsonScalars.TryGetBoolean(conf["include_req_body"], out var irb) && irb && RequestBody(conf, ctx) is { } body)
            ((JsonObject)log["request"]!)["body"] = body;

        // cjson leaves nil fields out
        foreach (var k in log.Where(p => p.Value == null).Select(p => p.Key).ToList()) log.Remove(k);
        foreach (var section in new[] { "request", "response" })
        {
            var o = (JsonObject)log[section]!;
            foreach (var k in o.Where(p => p.Value == null).Select(p => p.Key).ToList()) o.Remove(k);
        }
        return log;
    }

    /// <summary>
    /// <c>log-util.collect_body</c> for a body_filter: with <c>include_resp_body</c>, gathers the
    /// response chunks (at most <c>max_resp_body_bytes</c>) and, at the last one, leaves the body
    /// in <c>ctx.resp_body</c> (<see cref="ApiCtx.Items"/>) for the log entry. The
    /// <c>include_resp_body_expr</c> condition and compressed bodies are not handled.
    /// </summary>
    public static void CollectBody(JsonObject conf, ApiCtx ctx, string chunk, bool eof)
    {
        if (!JsonScalars.TryGetBoolean(conf["include_resp_body"], out var on) || !on) return;
        var max = JsonScalars.TryGetNumber(conf["max_resp_body_bytes"], out var m) ? (int)m : 524288;
        if (!ctx.Items.TryGetValue("resp_body_chunks", out var held) || held is not System.Text.StringBuilder sb)
        {
            sb = new System.Text.StringBuilder();
            ctx.Items["resp_body_chunks"] = sb;
        }
        if (sb.Length < max) sb.Append(chunk.Length > max - sb.Length ? chunk[..(max - sb.Length)] : chunk);
        if (eof) ctx.Items["resp_body"] = sb.ToString();
    }

    /// <summary><c>log-util.get_req_original</c>: the request line, headers and (optionally) body.</summary>
    private static string OriginalRequest(JsonObject conf, ApiCtx ctx)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(ctx.Var.GetString("request")).Append("\r\n");
        foreach (var (name, value) in ctx.Request.RequestHeaders)
            sb.Append(name.ToLowerInvariant()).Append(": ").Append(value).Append("\r\n");
        sb.Append("\r\n");
        if (JsonScalars.TryGetBoolean(conf["include_req_body"], out var irb) && irb)
            sb.Append(RequestBody(conf, ctx));
        return sb.ToString();
    }
}
