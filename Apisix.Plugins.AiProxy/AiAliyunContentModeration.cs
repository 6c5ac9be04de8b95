// Twin of apisix/plugins/ai-aliyun-content-moderation.lua
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;
using Apisix.Core.Utils;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProxy;
using Apisix.Plugins.AiProxy.AiTransport;
using Http = Apisix.Plugins.AiProxy.AiTransport.Http;
using Protocols = Apisix.Plugins.AiProxy.AiProtocols.Init;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-aliyun-content-moderation (priority 1029): sends the prompt (access phase) and the LLM's
/// answer (<c>lua_body_filter</c>, the hook ai-proxy calls for every chunk it writes) to Aliyun's
/// TextModerationPlus API, signed with HMAC-SHA1, and answers a risky text with a refusal shaped
/// like the client's AI protocol. A streamed answer is either checked once at the end, with
/// the risk level added to the last data events (<c>final_packet</c>), or in batches while it
/// streams (<c>realtime</c>).
/// </summary>
public sealed class AiAliyunContentModerationPlugin : IPlugin, IAccessPhase, ILuaBodyFilter
{
    private const string PluginName = "ai-aliyun-content-moderation";

    // ngx.OK: lua_response_filter prints the body returned with it and ends the response,
    // leaving the status as it is
    private const int NgxOk = 0;

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["stream_check_mode"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("realtime", "final_packet"),
                ["default"] = "final_packet",
                ["description"] = "realtime: moderate in batches while streaming | "
                                  + "final_packet: moderate once and add risk_level to the last events",
            },
            ["stream_check_cache_size"] = new JsonObject
            {
                ["type"] = "integer", ["minimum"] = 1, ["default"] = 128,
                ["description"] = "characters collected before a batch is moderated (realtime)",
            },
            ["stream_check_interval"] = new JsonObject
            {
                ["type"] = "number", ["minimum"] = 0.1, ["default"] = 3,
                ["description"] = "seconds after which a batch is moderated anyway (realtime)",
            },
            ["endpoint"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["region_id"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["access_key_id"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["access_key_secret"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["fail_mode"] = Binding.SchemaProperty("skip"),
            ["check_request"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["check_response"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["request_check_service"] = new JsonObject
            {
                ["type"] = "string", ["minLength"] = 1, ["default"] = "llm_query_moderation",
            },
            ["request_check_length_limit"] = new JsonObject { ["type"] = "number", ["default"] = 2000 },
            ["response_check_service"] = new JsonObject
            {
                ["type"] = "string", ["minLength"] = 1, ["default"] = "llm_response_moderation",
            },
            ["response_check_length_limit"] = new JsonObject { ["type"] = "number", ["default"] = 5000 },
            ["risk_level_bar"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("none", "low", "medium", "high", "max"),
                ["default"] = "high",
            },
            ["deny_code"] = new JsonObject { ["type"] = "number", ["default"] = 200 },
            ["deny_message"] = new JsonObject { ["type"] = "string" },
            ["timeout"] = new JsonObject
            {
                ["type"] = "integer", ["minimum"] = 1, ["default"] = 10000,
                ["description"] = "timeout in milliseconds",
            },
            ["keepalive_pool"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["default"] = 30 },
            ["keepalive"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["keepalive_timeout"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1000, ["default"] = 60000 },
            ["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
        },
        ["encrypt_fields"] = new JsonArray("access_key_secret"),
        ["required"] = new JsonArray("endpoint", "region_id", "access_key_id", "access_key_secret"),
    };

    public string Name => PluginName;
    public int Priority => 1029;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary><c>_M.check_schema(conf)</c>.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    /// <summary><c>risk_level_to_int(risk_level)</c>: none..max as 0..4, anything else -1.</summary>
    private static int RiskLevelToInt(JsonNode? riskLevel) =>
        JsonScalars.Kind(riskLevel) == System.Text.Json.JsonValueKind.String && JsonScalars.TryGetString(riskLevel, out var s)
            ? s switch
            {
                "max" => 4,
                "high" => 3,
                "medium" => 2,
                "low" => 1,
                "none" => 0,
                _ => -1,
            }
            : -1;

    /// <summary>
    /// <c>url_encoding(raw_str)</c>: <c>ngx.escape_uri</c>, then the sub-delimiters it leaves alone
    /// (<c>!'()*</c>) escaped as well, since Aliyun signs RFC 3986 encoded values.
    /// </summary>
    public static string UrlEncoding(string rawStr)
    {
        var encoded = NgxArgs.EscapeUri(rawStr);
        return encoded.Replace("!", "%21").Replace("'", "%27").Replace("(", "%28").Replace(")", "%29").Replace("*", "%2A");
    }

    /// <summary>
    /// <c>calculate_sign(params, secret)</c>: Aliyun RPC signature version 1.0 — the encoded
    /// <c>key=value</c> pairs sorted bytewise and joined with "&amp;", escaped once more behind
    /// <c>POST&amp;%2F&amp;</c>, signed with HMAC-SHA1 and base64 encoded. The string to sign is
    /// logged at debug level when <paramref name="log"/> is given.
    /// </summary>
    public static string CalculateSign(IEnumerable<KeyValuePair<string, string>> @params, string secret,
        Action<LogLevel, string>? log = null)
    {
        var paramsArr = new List<string>();
        foreach (var (k, v) in @params) paramsArr.Add(NgxArgs.EscapeUri(k) + "=" + UrlEncoding(v));
        paramsArr.Sort(string.CompareOrdinal);
        var canonicalStr = string.Join("&", paramsArr);
        var strToSign = "POST&%2F&" + NgxArgs.EscapeUri(canonicalStr);
        log?.Invoke(LogLevel.Debug, "string to calculate signature: " + strToSign);
        var mac = HMACSHA1.HashData(ByteString.ToBytes(secret), ByteString.ToBytes(strToSign));
        return Convert.ToBase64String(mac);
    }

    /// <summary>
    /// The form fields of one TextModerationPlus call, in the order the Lua table lists them
    /// (the signature sorts them; the form body keeps this order), <c>Signature</c> last.
    /// </summary>
    public static List<KeyValuePair<string, string>> BuildParams(JsonObject conf, string sessionId, string content,
        string serviceName, string timestamp, string nonce, Action<LogLevel, string>? log = null)
    {
        var serviceParameters = CJson.Encode(new JsonObject { ["sessionId"] = sessionId, ["content"] = content });
        var @params = new List<KeyValuePair<string, string>>
        {
            new("AccessKeyId", Str(conf["access_key_id"]) ?? ""),
            new("Action", "TextModerationPlus"),
            new("Format", "JSON"),
            new("RegionId", Str(conf["region_id"]) ?? ""),
            new("Service", serviceName),
            new("ServiceParameters", serviceParameters),
            new("SignatureMethod", "HMAC-SHA1"),
            new("SignatureNonce", nonce),
            new("SignatureVersion", "1.0"),
            new("Timestamp", timestamp),
            new("Version", "2022-03-02"),
        };
        @params.Add(new("Signature", CalculateSign(@params, (Str(conf["access_key_secret"]) ?? "") + "&", log)));
        return @params;
    }

    /// <summary><c>ngx.encode_args(params)</c>: the form body.</summary>
    public static string EncodeArgs(IEnumerable<KeyValuePair<string, string>> @params)
    {
        var args = new JsonObject();
        foreach (var (k, v) in @params) args[k] = v;
        return NgxEncodeArgs.Encode(args);
    }

    /// <summary>
    /// <c>check_single_content(ctx, conf, content, service_name)</c>: one moderation call. True
    /// and Aliyun's advice (a readable answer, may be null) when the risk reaches the bar; false
    /// below it; null and an error when the call failed. Blank content is not sent.
    /// </summary>
    private static async Task<(bool? Hit, string? Err)> CheckSingleContent(ApiCtx ctx, JsonObject conf,
        string? content, string? serviceName)
    {
        if (content == null || !content.Any(c => !IsLuaSpace(c))) return (null, null);

        var timestamp = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var randomId = LuaOps.UuidV4();
        var @params = BuildParams(conf, SessionId(ctx), content, serviceName ?? "", timestamp, randomId, ctx.Log);

        var timeout = JsonScalars.TryGetNumber(conf["timeout"], out var t) ? (int)t : 0;
        var keepalive = JsonScalars.TryGetBoolean(conf["keepalive"], out var ka) && ka;
        var parsedUrl = SocketUrl.Parse(Str(conf["endpoint"]));
        var p = new AiHttpParams
        {
            Method = "POST",
            Scheme = parsedUrl?.Scheme ?? "https",
            Host = parsedUrl?.Host,
            Port = int.TryParse(parsedUrl?.Port, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null,
            SslVerify = !JsonScalars.TryGetBoolean(conf["ssl_verify"], out var sv) || sv,
            SslServerName = parsedUrl?.Host,
            Path = "/",
            Body = EncodeArgs(@params),
        };
        p.Headers["Content-Type"] = "application/x-www-form-urlencoded";

        var (res, err, _) = await Http.RequestAsync(p, timeout, ctx);
        if (res == null)
        {
            // the transport says which step failed; resty.http's own error follows its prefix
            if (err != null && err.StartsWith("connect: ", StringComparison.Ordinal))
                return (null, "failed to connect: " + err["connect: ".Length..]);
            return (null, "failed to request: " + (err != null && err.StartsWith("request: ", StringComparison.Ordinal)
                ? err["request: ".Length..] : err));
        }
        var (rawResBody, readErr) = await res.ReadBodyAsync();
        if (rawResBody == null)
        {
            res.Close();
            return (null, "failed to read response body: " + readErr);
        }
        if (keepalive)
        {
            var timeoutMs = JsonScalars.TryGetNumber(conf["keepalive_timeout"], out var kt) ? (int)kt : 0;
            var pool = JsonScalars.TryGetNumber(conf["keepalive_pool"], out var kp) ? (int)kp : 0;
            Http.SetKeepalive(res, timeoutMs, pool, ctx);
        }
        else
        {
            res.Close();
        }
        var requestId = res.Headers.TryGetValue("x-acs-request-id", out var rid) ? rid : "";
        if (res.Status != 200)
        {
            return (null, "failed to request aliyun text moderation service, status: " + res.Status
                          + ", x-acs-request-id: " + requestId + ", body: " + rawResBody);
        }

        var (response, decodeErr) = CJson.Decode(rawResBody);
        if (decodeErr != null)
        {
            return (null, "failed to decode response, , x-acs-request-id: " + requestId
                          + ", err" + decodeErr + ", body: " + rawResBody);
        }

        // response.Data and response.Data.RiskLevel, with Lua's errors for what cannot be indexed
        if (response == null) throw new InvalidOperationException("attempt to index local 'response' (a userdata value)");
        var data = LuaOps.Index(response, "Data", "local 'response'");
        var riskLevel = LuaOps.Truthy(data) ? LuaOps.Index(data, "RiskLevel", "field 'Data'") : null;
        if (!LuaOps.Truthy(riskLevel)) return (null, "failed to get risk level: " + rawResBody);
        ctx.Var["llm_content_risk_level"] = riskLevel!.DeepClone();
        if (RiskLevelToInt(riskLevel) < RiskLevelToInt(conf["risk_level_bar"])) return (false, null);

        // the answer is a message meant for people: Data.Advice and Data.Advice[1] and Data.Advice[1].Answer
        var advice = LuaOps.Index(data, "Advice", "field 'Data'");
        JsonNode? answer = null;
        if (LuaOps.Truthy(advice))
        {
            // [1] is an integer key: a decoded object (string keys) and a string have none
            var first = advice switch
            {
                JsonArray a => a.Count > 0 ? a[0] : null,
                JsonObject => null,
                _ => LuaOps.Index(advice, "1", "field 'Advice'"),
            };
            if (LuaOps.Truthy(first)) answer = LuaOps.Index(first, "Answer", "field '?'");
        }
        return (true, AnswerText(answer));
    }

    // what `conf.deny_message or err` hands on: a string, or a number (Lua concatenates it as text);
    // a table would fail later in the protocol's encoding, so it is kept as its JSON text
    private static string? AnswerText(JsonNode? answer) =>
        !LuaOps.Truthy(answer) ? null
        : JsonScalars.TryGetString(answer, out var s) ? s
        : answer is JsonObject or JsonArray ? CJson.Encode(answer) : LuaText.ToLuaString(answer);

    /// <summary>
    /// <c>deny_message(ctx, message)</c>: a refusal the client's AI protocol understands (a
    /// completion, or SSE events for a stream), keeping the model asked for and the usage so far.
    /// </summary>
    private static string? DenyMessage(ApiCtx ctx, string? message)
    {
        var ai = AiCtx.For(ctx);
        var proto = ai.ClientProtocol != null ? Protocols.Get(ai.ClientProtocol) : null;
        if (proto == null)
        {
            ctx.Log(LogLevel.Error, "unsupported protocol: " + (ai.ClientProtocol ?? "nil"));
            return message;
        }
        var stream = ctx.Var.GetString("request_type") == "ai_stream";
        var model = CtxVar.ToJsonNode(ctx.Var["request_llm_model"]);
        var usage = ai.RawUsage != null && LuaOps.Truthy(ai.RawUsage) ? ai.RawUsage.DeepClone() : proto.EmptyUsage();
        return proto.BuildDenyResponse(new JsonObject
        {
            ["text"] = message ?? "Your request violate our content policy.",
            ["model"] = model,
            ["usage"] = usage,
            ["stream"] = stream,
        });
    }

    /// <summary>
    /// <c>content_moderation(ctx, conf, content, length_limit, service_name)</c>: the content in
    /// one call, or in pieces of <paramref name="lengthLimit"/> characters when it is longer (in
    /// bytes) than that. The first piece that hits ends it with the deny code and refusal.
    /// </summary>
    private static async Task<(int? Code, string? Message)> ContentModeration(ApiCtx ctx, JsonObject conf,
        string content, double lengthLimit, string? serviceName)
    {
        if (!ctx.Items.ContainsKey(SessionIdKey)) ctx.Items[SessionIdKey] = LuaOps.UuidV4();
        ctx.Log(LogLevel.Debug, "execute content moderation");
        if (content.Length <= lengthLimit)
        {
            var (hit, err) = await CheckSingleContent(ctx, conf, content, serviceName);
            if (hit == true) return (DenyCode(conf), DenyMessage(ctx, Str(conf["deny_message"]) ?? err));
            if (err != null) ctx.Log(LogLevel.Error, "failed to check content: " + err);
            return (null, null);
        }

        // utf8.sub counts characters while the loop's end test counts bytes, as in Lua
        long index = 1;
        var step = (long)lengthLimit;
        while (true)
        {
            if (index > content.Length) return (null, null);
            var (hit, err) = await CheckSingleContent(ctx, conf, Utf8Sub(content, index, index + step - 1), serviceName);
            index += step;
            if (hit == true) return (DenyCode(conf), DenyMessage(ctx, Str(conf["deny_message"]) ?? err));
            if (err != null) ctx.Log(LogLevel.Error, "failed to check content: " + err);
        }
    }

    private static int DenyCode(JsonObject conf) =>
        JsonScalars.TryGetNumber(conf["deny_code"], out var c) ? (int)c : 200;

    /// <summary><c>request_content_moderation(ctx, conf, content)</c>.</summary>
    private static Task<(int? Code, string? Message)> RequestContentModeration(ApiCtx ctx, JsonObject conf, string? content)
    {
        if (string.IsNullOrEmpty(content)) return Task.FromResult<(int?, string?)>((null, null));
        return ContentModeration(ctx, conf, content, Limit(conf["request_check_length_limit"]),
            Str(conf["request_check_service"]));
    }

    /// <summary><c>response_content_moderation(ctx, conf, content)</c>.</summary>
    private static Task<(int? Code, string? Message)> ResponseContentModeration(ApiCtx ctx, JsonObject conf, string? content)
    {
        if (string.IsNullOrEmpty(content)) return Task.FromResult<(int?, string?)>((null, null));
        return ContentModeration(ctx, conf, content, Limit(conf["response_check_length_limit"]),
            Str(conf["response_check_service"]));
    }

    // a conf that skipped the schema check (a Lua caller's table) may lack the limit: Lua's
    // comparison with nil raises
    private static double Limit(JsonNode? n) => JsonScalars.TryGetNumber(n, out var d)
        ? d
        : throw new InvalidOperationException("attempt to compare number with " + (n == null ? "nil" : LuaOps.TypeName(n)));

    /// <summary><c>_M.access(conf, ctx)</c>: moderates the prompt before ai-proxy sends it.</summary>
    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var ai = AiCtx.For(ctx);
        var failMode = Str(conf["fail_mode"]);
        if (ai.PickedAiInstance == null)
        {
            var (handled, code, body) = Binding.OnUnsupported(failMode, PluginName, ai.Protocol,
                "no ai instance picked (request did not pass through ai-proxy/ai-proxy-multi)",
                500, "no ai instance picked, ai-aliyun-content-moderation plugin must be used with "
                     + "ai-proxy or ai-proxy-multi plugin");
            return handled ? new PhaseResult(code, body) : PhaseResult.Continue;
        }
        if (!(JsonScalars.TryGetBoolean(conf["check_request"], out var checkRequest) && checkRequest))
        {
            ctx.Log(LogLevel.Info, "skip request check for this request");
            return PhaseResult.Continue;
        }
        // media types are case-insensitive
        var ct = CoreRequest.Header(ctx, "Content-Type")?.ToLowerInvariant();
        if (ct != null && !ct.StartsWith("application/json", StringComparison.Ordinal))
        {
            var (handled, code, body) = Binding.OnUnsupported(failMode, PluginName, ai.Protocol,
                "unsupported content-type: " + ct,
                400, "unsupported content-type: " + ct + ", only application/json is supported");
            return handled ? new PhaseResult(code, body) : PhaseResult.Continue;
        }
        var (requestTab, err) = await CoreRequest.GetJsonRequestBodyTableAsync(ctx);
        if (requestTab == null) return new PhaseResult(400, err);

        var proto = ai.ClientProtocol != null ? Protocols.Get(ai.ClientProtocol) : null;
        if (proto == null)
        {
            var reason = "unsupported protocol: " + (ai.ClientProtocol ?? "unknown");
            var (handled, code, body) = Binding.OnUnsupported(failMode, PluginName, ai.Protocol, reason, 500, reason);
            return handled ? new PhaseResult(code, body) : PhaseResult.Continue;
        }

        var contents = proto.ExtractRequestContent(requestTab);
        var contentToCheck = LuaOps.Concat(contents.ToList(), " ");

        var (denyCode, message) = await RequestContentModeration(ctx, conf, contentToCheck);
        if (denyCode != null)
        {
            var stream = ctx.Var.GetString("request_type") == "ai_stream";
            CoreResponse.SetHeader(ctx, "Content-Type", stream ? "text/event-stream" : "application/json");
            return new PhaseResult(denyCode, message);
        }
        return PhaseResult.Continue;
    }

    /// <summary>
    /// <c>_M.lua_body_filter(conf, ctx, headers, body)</c>: moderates the LLM's answer as ai-proxy
    /// writes it. A whole answer (<c>ai_chat</c>) is checked at once; a stream is handled by
    /// <c>stream_check_mode</c>. A code ends the response with the body returned.
    /// </summary>
    public async ValueTask<(int? Code, string? Body)> LuaBodyFilterAsync(JsonObject conf, ApiCtx ctx,
        IReadOnlyDictionary<string, string> headers, string body)
    {
        if (!(JsonScalars.TryGetBoolean(conf["check_response"], out var checkResponse) && checkResponse))
        {
            ctx.Log(LogLevel.Info, "skip response check for this request");
            return (null, null);
        }

        if (ctx.Request.Status >= 400)
        {
            ctx.Log(LogLevel.Info, "skip response check because upstream returned error status: " + ctx.Request.Status);
            return (null, null);
        }

        var requestType = ctx.Var.GetString("request_type");
        if (requestType == "ai_chat")
        {
            var content = ctx.Var.GetString("llm_response_text");
            return await ResponseContentModeration(ctx, conf, content);
        }

        var ai = AiCtx.For(ctx);
        var proto = ai.ClientProtocol != null ? Protocols.Get(ai.ClientProtocol) : null;
        var mode = Str(conf["stream_check_mode"]);

        if (mode == "final_packet")
        {
            var responseText = ctx.Var.GetString("llm_response_text");
            if (responseText == null) return (null, null);
            // the verdict only travels as the risk level added to the events
            await ResponseContentModeration(ctx, conf, responseText);
            var events = Sse.Decode(body);
            foreach (var node in events)
            {
                if (node is not JsonObject ev) continue;
                if (proto == null || !proto.IsDataEvent(ev)) continue;
                var (data, decodeErr) = CJson.Decode(Str(ev["data"]) ?? LuaText.ToLuaString(ev["data"]));
                if (decodeErr != null || JsonScalars.Kind(data) == System.Text.Json.JsonValueKind.False)
                {
                    ctx.Log(LogLevel.Warn, "failed to decode SSE data: " + (decodeErr ?? "nil"));
                    continue;
                }
                // JSON null decodes to cjson.null, a light userdata
                if (data == null) throw new InvalidOperationException("attempt to index local 'data' (a userdata value)");
                LuaOps.SetField(data, "risk_level", CtxVar.ToJsonNode(ctx.Var["llm_content_risk_level"]), "local 'data'");
                ev["data"] = CJson.Encode(data);
            }

            var rawEvents = new List<string>();
            var containsDoneEvent = false;
            foreach (var node in events)
            {
                if (node is not JsonObject ev) continue;
                if (proto != null && proto.IsDoneEvent(ev)) containsDoneEvent = true;
                rawEvents.Add(Sse.Encode(ev));
            }
            if (!containsDoneEvent && proto != null) rawEvents.Add(proto.BuildDoneEvent());
            return (NgxOk, string.Join("\n", rawEvents));
        }

        if (mode == "realtime")
        {
            var cache = ctx.Items.GetValueOrDefault(CacheKey) as string ?? "";
            var content = string.Concat(ai.ResponseContentsInChunk);
            cache += content;
            ctx.Items[CacheKey] = cache;
            var nowTime = AiCtx.Now();
            var lastModerateTime = ctx.Items.GetValueOrDefault(LastModerateTimeKey) as double? ?? nowTime;
            ctx.Items[LastModerateTimeKey] = lastModerateTime;
            if (cache.Length < Number(conf["stream_check_cache_size"])
                && nowTime - lastModerateTime < Number(conf["stream_check_interval"])
                && !Truthy(ctx.Var["llm_request_done"]))
            {
                return (null, null);
            }
            ctx.Items[LastModerateTimeKey] = nowTime;
            var (_, message) = await ResponseContentModeration(ctx, conf, cache);
            if (message != null) return (NgxOk, message);
            ctx.Items[CacheKey] = ""; // a fresh batch
        }
        return (null, null);
    }

    // the ctx fields of the Lua module, by their Lua names
    internal const string SessionIdKey = "session_id";
    internal const string CacheKey = "content_moderation_cache";
    internal const string LastModerateTimeKey = "last_moderate_time";

    private static string SessionId(ApiCtx ctx) => ctx.Items.GetValueOrDefault(SessionIdKey) as string ?? "";

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    private static double Number(JsonNode? n) => JsonScalars.TryGetNumber(n, out var d)
        ? d
        : throw new InvalidOperationException("attempt to compare number with " + (n == null ? "nil" : LuaOps.TypeName(n)));

    private static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        JsonNode n => LuaOps.Truthy(n),
        _ => true,
    };

    /// <summary>Lua's <c>%s</c> class (C isspace): space, \t, \n, \v, \f, \r.</summary>
    private static bool IsLuaSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary>
    /// <c>utf8.sub(s, i, j)</c> of luautf8 on a byte string: characters <paramref name="i"/> to
    /// <paramref name="j"/> (1-based, inclusive; negative counts from the end). A character is a
    /// lead byte with the continuation bytes (10xxxxxx) after it.
    /// </summary>
    public static string Utf8Sub(string s, long i, long j)
    {
        var starts = new List<int>();
        for (var k = 0; k < s.Length; k++)
            if ((s[k] & 0xC0) != 0x80 || k == 0) starts.Add(k);
        long len = starts.Count;
        if (i < 0) i = Math.Max(len + i + 1, 1);
        else if (i == 0) i = 1;
        if (j < 0) j = len + j + 1;
        else if (j > len) j = len;
        if (i > j) return "";
        var from = starts[(int)i - 1];
        var to = j < len ? starts[(int)j] : s.Length;
        return s[from..to];
    }
}
