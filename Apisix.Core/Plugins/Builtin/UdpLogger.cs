// Twin of apisix/plugins/udp-logger.lua
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Schema;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// udp-logger (priority 400): the log phase builds the entry (log-util's full log, the conf's
/// <c>log_format</c>, else the plugin metadata's) and queues it in the Lua batch processor
/// "udp logger", bounded by the metadata's <c>max_pending_entries</c>; a batch goes out as one
/// datagram to <c>host:port</c> holding one JSON object (<c>batch_max_size</c> 1) or a JSON array.
/// <c>include_resp_body</c> keeps the response body (body_filter) for the entry.
/// <para>The emulated <c>ngx.socket.udp</c> has no datagram support, so the send function
/// reaches a real UDP socket through <see cref="UdpSender"/> (<c>setpeername</c>, <c>send</c>,
/// <c>close</c> in one call), with the error texts of lua-nginx-module. Not ported: the
/// <c>*_body_expr</c> conditions.</para>
/// </summary>
public sealed class UdpLoggerPlugin : IPlugin, IBodyFilterPhase, ILogPhase
{
    public const string PluginName = "udp-logger";

    private static JsonObject Int(long min, long? def = null)
    {
        var o = new JsonObject { ["type"] = "integer", ["minimum"] = min };
        if (def != null) o["default"] = def;
        return o;
    }

    private static JsonObject ExprArray() => new()
    {
        ["type"] = "array", ["minItems"] = 1, ["items"] = new JsonObject { ["type"] = "array" },
    };

    /// <summary>The schema after <c>batch_processor_manager:wrap_schema</c>.</summary>
    private readonly JsonObject _schema = BatchProcessorSchema.WrapSchema(new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["host"] = new JsonObject { ["type"] = "string" },
            ["port"] = Int(0),
            ["timeout"] = Int(1, 3),
            ["log_format"] = new JsonObject { ["type"] = "object" },
            ["include_req_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_req_body_expr"] = ExprArray(),
            ["include_resp_body"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["include_resp_body_expr"] = ExprArray(),
            ["max_req_body_bytes"] = Int(1, 524288),
            ["max_resp_body_bytes"] = Int(1, 524288),
        },
        ["required"] = new JsonArray("host", "port"),
    }, "udp logger");

    private readonly JsonObject _metadataSchema = LoggerMetadataSchema.Create();

    public string Name => PluginName;
    public int Priority => 400;
    public double Version => 0.1;
    public JsonNode Schema => _schema;
    public JsonNode? MetadataSchema => _metadataSchema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        type == SchemaType.Metadata ? JsonSchema.Check(_metadataSchema, conf) : JsonSchema.Check(_schema, conf);

    // send_udp_data and the batch function; the manager is one per worker, reached through the
    // module table so a test's replacement sees every entry.
    private static readonly LuaChunk LogChunk = new("""
        local conf, entry, key, route_id, server_addr, max_pending_entries = ...
        local bp = require("apisix.utils.batch-processor-manager")
        local state = package.loaded["apisix.bridge.udp-logger"]
        if type(state) ~= "table" then
            state = { manager = bp.new("udp logger") }
            package.loaded["apisix.bridge.udp-logger"] = state
        end
        local manager = state.manager
        rawset(conf, "_bp_key", key)
        if manager:add_entry(conf, entry, max_pending_entries) then
            return
        end
        local core = require("apisix.core")
        local function send_udp_data(log_message)
            core.log.info("sending a batch logs to ", conf.host, ":", conf.port)
            local sender = __bridge("apisix.bridge.udp-sender")
            local ok, stage, err = sender:Send(conf.host, conf.port, conf.timeout * 1000, log_message)
            if ok then
                return true
            end
            if stage == "connect" then
                return false, "failed to connect to UDP server: host[" .. conf.host
                    .. "] port[" .. tostring(conf.port) .. "] err: " .. err
            end
            return false, "failed to send data to UDP server: host[" .. conf.host
                .. "] port[" .. tostring(conf.port) .. "] err:" .. err
        end
        local func = function(entries, batch_max_size)
            local data, err
            if batch_max_size == 1 then
                data, err = core.json.encode(entries[1])
            else
                data, err = core.json.encode(entries)
            end
            if not data then
                return false, "error occurred while encoding the data: " .. tostring(err)
            end
            return send_udp_data(data)
        end
        local ctx = { var = { route_id = route_id, server_addr = server_addr } }
        manager:add_entry_to_new_processor(conf, entry, ctx, func, max_pending_entries)
        """, "udp-logger", 1);

    public (string Chunk, bool Eof) BodyFilter(JsonObject conf, ApiCtx ctx, string chunk, bool eof)
    {
        KafkaLoggerPlugin.CollectBody(conf, ctx, chunk, eof);
        return (chunk, eof);
    }

    public async ValueTask LogAsync(JsonObject conf, ApiCtx ctx)
    {
        var worker = ctx.Request.Worker;
        if (worker == null) return;
        var metadata = ClickhouseLoggerPlugin.PluginMetadata(ctx, PluginName);
        long? maxPending = metadata?["max_pending_entries"] is JsonNode mp && JsonScalars.TryGetNumber(mp, out var n)
            ? (long)n : null;
        var entry = KafkaLoggerPlugin.BuildEntry(ClickhouseLoggerPlugin.WithoutMetaFormat(conf), ctx, Name);
        if (entry == null) return;
        var key = $"{ctx.ConfType}#{ctx.ConfId}#{ctx.ConfVersion}";
        var r = await worker.RunEntry(worker.Chunk(LogChunk), ctx.Request,
            LuaJson.FromJson(worker.Lua, conf), LuaJson.FromJson(worker.Lua, entry), key,
            ctx.RouteId ?? ctx.Var.GetString("route_id"), ctx.Var.GetString("server_addr"), maxPending);
        if (!r.Ok) ctx.Log(LogLevel.Error, $"failed to run plugin [{PluginName}] log phase: {r.Error}\n{r.Traceback}");
    }
}

/// <summary>
/// One datagram to a peer, for udp-logger's send function (<c>__bridge("apisix.bridge.udp-sender")</c>):
/// what <c>sock:setpeername(host, port)</c>, <c>sock:send(data)</c> and <c>sock:close()</c> do in
/// OpenResty. A name is resolved by the worker's network (its hosts table); a name it does not
/// know fails as nginx's resolver does.
/// </summary>
public sealed class UdpSender(LuaWorker? worker)
{
    public const string Name = "apisix.bridge.udp-sender";

    /// <summary>
    /// True when the datagram left; otherwise false, the step that failed ("connect" or
    /// "send") and the error text.
    /// </summary>
    public bool Send(string host, long port, long timeoutMs, string data, out string? stage, out string? err)
    {
        stage = null;
        err = null;
        if (port < 1 || port > 65535)
        {
            (stage, err) = ("connect", "bad port number: " + port);
            return false;
        }
        if (!IPAddress.TryParse(host.Trim('[', ']'), out var ip) || !LooksLikeIp(host))
        {
            ip = worker?.Nginx.Network.Resolve(host);
            if (ip == null)
            {
                (stage, err) = ("connect", host + " could not be resolved (3: Host not found)");
                return false;
            }
        }
        try
        {
            using var socket = new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.SendTimeout = (int)Math.Clamp(timeoutMs, 1, int.MaxValue);
            socket.Connect(new IPEndPoint(ip, (int)port));
            socket.Send(Encoding.Latin1.GetBytes(data));
            return true;
        }
        catch (SocketException e)
        {
            (stage, err) = ("send", e.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : e.Message);
            return false;
        }
    }

    // IPAddress.TryParse also takes "1" or "1.2" (inet_aton forms); nginx only takes a full literal
    private static bool LooksLikeIp(string host) => host.Contains(':') || host.Count(c => c == '.') == 3;
}
