using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin.Prometheus;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProviders;
using Apisix.Plugins.AiProxy.AiTransport;
using Http = Apisix.Plugins.AiProxy.AiTransport.Http;

namespace Apisix.Plugins.AiProxy.AiProxy;

/// <summary>
/// Port of <c>apisix/plugins/ai-proxy/base.lua</c>: what ai-proxy and ai-proxy-multi share —
/// detecting the client protocol, the proxy pipeline of <c>before_proxy</c> (route the
/// protocol, build, send, parse), and <c>set_logging</c>.
/// </summary>
public static class Base
{
    /// <summary>
    /// Called with (ctx, conf, status, body) when an attempt fails; a returned code ends the
    /// request with it, null tries again (ai-proxy-multi has picked another instance).
    /// </summary>
    public delegate Task<int?> OnError(ApiCtx ctx, JsonObject conf, int code, object? body);

    private static int CountRequestTools(object? body) =>
        body is JsonObject o ? AiProtocols.LuaOps.Len(o["tools"]) : 0;

    private static string? ResolveCap(ProviderCapability? cap, bool host, JsonObject conf, ProtocolCtx ctx) =>
        (host ? cap?.Host : cap?.Path)?.Invoke(conf, ctx);

    /// <summary>
    /// <c>read_upstream_error_body(res)</c>: the body of a 429/5xx answer, kept so it can be
    /// logged on fallback and returned when nothing retries.
    /// </summary>
    private static async Task<string?> ReadUpstreamErrorBody(ApiCtx ctx, AiHttpResponse res)
    {
        var (body, err) = await res.ReadBodyAsync();
        if (body == null)
        {
            ctx.Log(LogLevel.Warn, "failed to read upstream error response body: " + err);
            return null;
        }
        res.UpstreamBytes = body.Length;
        return body;
    }

    /// <summary><c>set_logging(ctx, summaries, payloads)</c>: what loggers get about the LLM call.</summary>
    public static void SetLogging(ApiCtx ctx, bool summaries, bool payloads)
    {
        var ai = AiCtx.For(ctx);
        JsonNode? Var(string name) => CtxVar.ToJsonNode(ctx.Var[name]);
        if (summaries)
        {
            var summary = new JsonObject();
            void Put(string k, JsonNode? v) { if (v != null) summary[k] = v; }
            Put("request_model", Var("request_llm_model"));
            Put("model", Var("llm_model"));
            Put("duration", Var("llm_time_to_first_token"));
            Put("prompt_tokens", Var("llm_prompt_tokens"));
            Put("completion_tokens", Var("llm_completion_tokens"));
            Put("total_tokens", Var("llm_total_tokens"));
            Put("upstream_response_time", Var("apisix_upstream_response_time"));
            ai.Summary = summary;
        }
        if (payloads)
        {
            var requestBody = ctx.Var["llm_request_body"] as JsonNode;
            var request = new JsonObject();
            var messages = Init.GetRequestContent(requestBody, ai.Protocol);
            if (messages != null) request["messages"] = messages.DeepClone();
            request["stream"] = ctx.Var.GetString("request_type") == "ai_stream";
            ai.Request = request;
            var text = new JsonObject();
            if (Var("llm_response_text") is { } content) text["content"] = content;
            ai.ResponseText = text;
        }
    }

    /// <summary>
    /// <c>detect_request_type(ctx, max_req_body_size)</c>: reads the JSON body once (413 when it
    /// is too large), records the requested model, the client protocol and whether it streams.
    /// Returns null, or the error body and its status (400 when none is given).
    /// </summary>
    public static async Task<(object? Error, int? Code)> DetectRequestTypeAsync(ApiCtx ctx, long? maxReqBodySize)
    {
        var ai = AiCtx.For(ctx);
        var ct = CoreRequest.Header(ctx, "Content-Type") ?? "application/json";
        if (!ct.StartsWith("application/json", StringComparison.Ordinal))
            return ($"unsupported content-type: {ct}, only application/json is supported", null);

        var (body, err) = await CoreRequest.GetJsonRequestBodyTableAsync(ctx, maxReqBodySize);
        if (body == null)
        {
            var msg = err?["message"]?.GetValue<string>();
            if (msg != null && msg.Contains("greater than the maximum size", StringComparison.Ordinal))
            {
                ctx.Log(LogLevel.Error, "failed to read request body: " + msg);
                return (err, 413);
            }
            return (err, null);
        }
        if (body is not (JsonObject or JsonArray))
            throw new InvalidOperationException("attempt to index local 'body' (a " + LuaTypeName(body) + " value)");

        if (body["model"] is { } model) ctx.Var["request_llm_model"] = model.DeepClone();

        var (protocolName, _) = Init.Detect(body, ai.Protocol);
        if (protocolName == null) return ("no matching AI protocol for the request", null);
        ai.ClientProtocol = protocolName;

        var proto = Init.Get(protocolName);
        ctx.Var["request_type"] = proto != null && proto.IsStreaming(body) ? "ai_stream" : "ai_chat";
        return (null, null);
    }

    private static string LuaTypeName(JsonNode n) => n.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.String => "string",
        System.Text.Json.JsonValueKind.Number => "number",
        _ => "boolean",
    };

    /// <summary>
    /// <c>before_proxy(conf, ctx, on_error)</c>: sends the request to the picked instance and
    /// streams or writes its answer. With <paramref name="onError"/>, a failed attempt is handed
    /// to it and retried until it returns a code.
    /// </summary>
    public static async Task<PhaseResult> BeforeProxyAsync(JsonObject conf, ApiCtx ctx, OnError? onError = null)
    {
        var ai = AiCtx.For(ctx);
        while (true)
        {
            var aiInstance = ai.PickedAiInstance!;
            JsonScalars.TryGetString(aiInstance["provider"], out var providerName);
            var aiProvider = Providers.Require(providerName)
                             ?? throw new InvalidOperationException($"module 'apisix.plugins.ai-providers.{providerName}' not found");

            var (requestBody, err) = await CoreRequest.GetJsonRequestBodyTableAsync(ctx);
            if (requestBody == null) return new PhaseResult(400, err);

            var extraOpts = new ExtraOpts
            {
                Name = Str(aiInstance["name"]),
                Endpoint = Str(aiInstance["_resolved_endpoint"]) ?? Str(aiInstance["override"]?["endpoint"]),
                ModelOptions = aiInstance["options"] as JsonObject,
                Conf = aiInstance["provider_conf"] as JsonObject ?? new JsonObject(),
                Auth = aiInstance["auth"] as JsonObject,
                HostHeader = Str(aiInstance["_resolved_host_header"]),
                SslServerName = Str(aiInstance["_resolved_ssl_server_name"]),
                OverrideLlmOptions = aiInstance["override"]?["llm_options"] as JsonObject,
                RequestBodyOverrideMap = aiInstance["override"]?["request_body"] as JsonObject,
                RequestBodyForceOverride = JsonScalars.TryGetBoolean(aiInstance["override"]?["request_body_force_override"], out var f) && f,
            };

            // Step 1: route the client protocol to what the provider can do
            var clientProtocol = ai.ClientProtocol!;
            var clientProto = Init.Get(clientProtocol)!;
            var caps = aiProvider.Capabilities;
            var providerConf = extraOpts.Conf;
            IAiConverter? converter;
            string targetProtocolName;
            string? targetPath = null;
            if (caps.ContainsKey(clientProtocol))
            {
                converter = null;
                targetProtocolName = clientProtocol;
            }
            else if (clientProtocol == "passthrough")
            {
                converter = null;
                targetProtocolName = "passthrough";
                targetPath = ctx.Var.GetString("uri");
            }
            else
            {
                var (conv, target) = Init.FindConverter(clientProtocol, aiProvider.CapabilityNames);
                if (conv == null)
                {
                    return new PhaseResult(400, $"provider {providerName} does not support {clientProtocol} protocol (supported: "
                                 + string.Join(", ", caps.Keys) + ")");
                }
                converter = conv;
                targetProtocolName = target!;
            }
            ai.Converter = converter;
            ai.TargetProtocol = targetProtocolName;
            var targetProtoModule = Init.Get(targetProtocolName);

            // Step 2: the model
            var requestModel = requestBody["model"];
            if (requestModel != null) ctx.Var["request_llm_model"] = requestModel.DeepClone();
            var model = aiInstance["options"]?["model"] ?? requestModel;
            if (model != null) ctx.Var["llm_model"] = model.DeepClone();

            caps.TryGetValue(targetProtocolName, out var targetCap);
            targetPath ??= ResolveCap(targetCap, false, providerConf, ai.Protocol);
            extraOpts.TargetPath = targetPath;
            extraOpts.TargetHost = ResolveCap(targetCap, true, providerConf, ai.Protocol);

            async Task<(int? Code, object? Body)> DoRequest()
            {
                ai.RequestStartTime = AiCtx.Now();
                ctx.Var["llm_request_body"] = requestBody;

                // Step 3: the HTTP request
                var (pars, buildErr, code) = await aiProvider.BuildRequestAsync(ctx, conf, requestBody, extraOpts);
                if (pars == null)
                {
                    var errBody = new JsonObject { ["error_msg"] = buildErr };
                    if (code != null) return (code, errBody);
                    ctx.Log(LogLevel.Error, "failed to build request: " + buildErr);
                    return (500, errBody);
                }

                var isStream = ctx.Var.GetString("request_type") == "ai_stream";
                ctx.Var["llm_stream"] = isStream ? "true" : "false";
                ctx.Var["llm_tool_count"] = (long)CountRequestTools(pars.Body);
                if (targetProtoModule != null && targetProtoModule.ExtractEndUserId(pars.Body as JsonNode) is { } endUser)
                    ctx.Var["llm_end_user_id"] = endUser;

                if (AiCtx.LogEnabled(ctx, LogLevel.Info))
                    ctx.Log(LogLevel.Info, "sending request to LLM server: " + Apisix.Core.Utils.LogSanitize.LogText(LogSanitizeView.Params(pars)));

                // Step 4: send
                var timeout = JsonScalars.TryGetNumber(conf["timeout"], out var t) ? (int)t : 30000;
                var (res, transportErr, errMeta) = await Http.RequestAsync(pars, timeout, ctx);
                if (res == null)
                {
                    ctx.Log(LogLevel.Warn, "failed to send request to LLM server: " + transportErr);
                    if (errMeta != null)
                    {
                        UpstreamStateView.Push(ctx, errMeta.UpstreamAddr, Http.HandleError(transportErr!), errMeta.ConnectTime, null);
                        if (errMeta.UpstreamUri != null) ctx.Var["upstream_uri"] = errMeta.UpstreamUri;
                        ctx.Var["upstream_host"] = errMeta.UpstreamHost;
                        ctx.Var["upstream_scheme"] = errMeta.UpstreamScheme;
                        UpstreamStateView.Update(ctx, (AiCtx.Now() - errMeta.T0) * 1000, null);
                    }
                    return (Http.HandleError(transportErr!), null);
                }

                // the upstream answered: its state goes to the access log
                UpstreamStateView.Push(ctx, res.UpstreamAddr, res.Status, res.ConnectTime, res.HeaderTime);
                if (res.UpstreamUri != null) ctx.Var["upstream_uri"] = res.UpstreamUri;
                ctx.Var["upstream_host"] = res.UpstreamHost;
                ctx.Var["upstream_scheme"] = res.UpstreamScheme;

                CoreResponse.SetResponseSource(ctx, "upstream");

                if (res.Status == 429 || (res.Status >= 500 && res.Status < 600))
                {
                    var errorBody = await ReadUpstreamErrorBody(ctx, res);
                    if (res.Headers.TryGetValue("Content-Type", out var errType))
                        CoreResponse.SetHeader(ctx, "Content-Type", errType);
                    UpstreamStateView.Update(ctx, (AiCtx.Now() - res.T0) * 1000, res.UpstreamBytes ?? 0);
                    res.Close();
                    return (res.Status, errorBody);
                }

                if (!res.HasBodyReader)
                {
                    ctx.Log(LogLevel.Warn, "AI service sent no response body");
                    UpstreamStateView.Update(ctx, (AiCtx.Now() - res.T0) * 1000, null);
                    res.Close();
                    return (500, null);
                }

                res.Headers.TryGetValue("Content-Type", out var contentType);
                CoreResponse.SetHeader(ctx, "Content-Type", contentType);

                // Step 5: the answer, streamed or whole
                int? resultCode = null;
                object? resultBody = null;
                var isStreamingResp = contentType != null
                    && (contentType.Contains("text/event-stream", StringComparison.Ordinal)
                        || contentType.Contains("application/vnd.amazon.eventstream", StringComparison.Ordinal));
                if (isStreamingResp)
                {
                    if (targetProtoModule == null)
                    {
                        ctx.Log(LogLevel.Error, "no protocol module for streaming target: " + targetProtocolName);
                        return (500, null);
                    }
                    (resultCode, resultBody) = await aiProvider.ParseStreamingResponseAsync(ctx, res, targetProtoModule, converter, conf);
                }
                else
                {
                    var (_, parseErr, parseStatus) = await aiProvider.ParseResponseAsync(ctx, res, clientProto, converter, conf);
                    if (parseErr != null)
                    {
                        resultCode = parseStatus ?? 500;
                        resultBody = parseErr;
                    }
                }

                UpstreamStateView.Update(ctx, (AiCtx.Now() - res.T0) * 1000, res.UpstreamBytes ?? 0);

                if (JsonScalars.TryGetBoolean(conf["keepalive"], out var keepalive) && keepalive)
                {
                    var kt = JsonScalars.TryGetNumber(conf["keepalive_timeout"], out var ktv) ? (int)ktv : 60000;
                    var kp = JsonScalars.TryGetNumber(conf["keepalive_pool"], out var kpv) ? (int)kpv : 30;
                    Http.SetKeepalive(res, kt, kp, ctx);
                }
                return (resultCode, resultBody);
            }

            Exporter.IncLlmActiveConnections(ctx);
            ai.ActiveConnectionsTracked = true;
            int? codeOrErr;
            object? body;
            try
            {
                (codeOrErr, body) = await DoRequest();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ctx.Log(LogLevel.Error, "failed to send request to AI service: " + e.Message);
                return new PhaseResult(500, null);
            }
            if (codeOrErr != null && onError != null)
            {
                var abortCode = await onError(ctx, conf, codeOrErr.Value, body);
                if (abortCode != null) return new PhaseResult(abortCode, body);
            }
            else
            {
                return new PhaseResult(codeOrErr, body);
            }
        }
    }

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;
}
