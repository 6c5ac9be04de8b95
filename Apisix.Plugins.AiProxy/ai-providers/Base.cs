using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProxy;
using Apisix.Plugins.AiProxy.AiTransport;
using Http = Apisix.Plugins.AiProxy.AiTransport.Http;

namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>
/// Port of <c>apisix/plugins/ai-providers/base.lua</c>: what every provider does with a
/// request (<c>build_request</c>), a whole response (<c>parse_response</c>) and a stream
/// (<c>parse_streaming_response</c>). A provider module is an instance with its own host,
/// port and capabilities (<c>_M.new(opt)</c>).
/// </summary>
public class ProviderBase
{
    public string? Host { get; init; }
    public int? Port { get; init; }
    /// <summary>Protocol name → capability, in the order the module lists them.</summary>
    public IReadOnlyDictionary<string, ProviderCapability> Capabilities { get; init; } = new Dictionary<string, ProviderCapability>();
    /// <summary><c>remove_model</c>: the model is in the URL, not the body.</summary>
    public bool RemoveModel { get; init; }
    /// <summary><c>aws_sigv4</c>: requests are signed with the instance's AWS keys.</summary>
    public bool AwsSigv4 { get; init; }
    /// <summary><c>streaming_framing</c>: "sse" (default) or "aws-eventstream".</summary>
    public string? StreamingFraming { get; init; }
    /// <summary><c>get_node(instance_conf)</c>, for providers whose node depends on the conf.</summary>
    public Func<JsonObject, JsonObject>? GetNode { get; init; }

    /// <summary>The protocol names in <c>capabilities</c> (its keys).</summary>
    public IReadOnlyCollection<string> CapabilityNames => Capabilities.Keys.ToList();

    private static void MergeUsage(AiCtx ai, JsonObject parsed)
    {
        var usage = parsed["usage"] as JsonObject ?? new JsonObject();
        if (ai.TokenUsage == null)
        {
            ai.TokenUsage = usage;
        }
        else
        {
            foreach (var (k, v) in usage.ToList())
                if (JsonScalars.TryGetNumber(v, out var n) && n > 0) ai.TokenUsage[k] = v!.DeepClone();
            var computed = Num(ai.TokenUsage["prompt_tokens"]) + Num(ai.TokenUsage["completion_tokens"]);
            if (computed > Num(ai.TokenUsage["total_tokens"])) ai.TokenUsage["total_tokens"] = CJson.NumberNode(computed);
        }

        var raw = parsed["raw_usage"] ?? parsed["usage"];
        if (ai.RawUsage == null)
        {
            ai.RawUsage = raw;
        }
        else if (ai.RawUsage is JsonObject acc && raw is JsonObject rawObj)
        {
            foreach (var (k, v) in rawObj.ToList())
                if (JsonScalars.TryGetNumber(v, out var n) && n > 0) acc[k] = v!.DeepClone();
        }
    }

    private static double Num(JsonNode? n) => JsonScalars.TryGetNumber(n, out var d) ? d : 0;

    /// <summary>`x or 0` for a usage field, as the number node ctx.var receives.</summary>
    private static object UsageVar(JsonObject usage, string key) =>
        JsonScalars.TryGetNumber(usage[key], out var d) ? LuaNumber.IsIntegral(d) ? (object)(long)d : d : 0L;

    // An endpoint's parts (url.parse) and its decoded query (ngx.decode_args), kept per endpoint
    // text: a route's endpoint is the same on every request. The query object is never handed
    // out, only copies of its values. A bounded number of endpoints is kept.
    private static readonly Apisix.Core.Utils.BoundedCache<(Apisix.Core.Utils.ParsedUrl? Url, JsonObject? Query)> Endpoints = new(1024);

    private static (Apisix.Core.Utils.ParsedUrl? Url, JsonObject? Query) ParseEndpoint(string endpoint) =>
        Endpoints.Get(endpoint, static e =>
        {
            var url = Apisix.Core.Utils.SocketUrl.Parse(e);
            return (url, url?.Query is { Length: > 0 } q ? NgxArgs.Decode(q) : null);
        });

    /// <summary>
    /// <c>build_request(ctx, conf, request_body, opts)</c>: the request to send upstream, or
    /// null, the error and (when the client is at fault) its status.
    /// </summary>
    public virtual async Task<(AiHttpParams? Params, string? Error, int? Code)> BuildRequestAsync(
        ApiCtx ctx, JsonObject conf, JsonNode requestBody, ExtraOpts opts)
    {
        var ai = AiCtx.For(ctx);
        var bodyChanged = false;

        var converter = ai.Converter;
        if (converter != null)
        {
            var (converted, err) = converter.ConvertRequest(requestBody, ai.Protocol);
            if (converted == null) return Result(null, err ?? "invalid protocol", 400);
            requestBody = converted;
            bodyChanged = true;
        }

        if (ai.TargetProtocol != null && AiProtocols.Init.Get(ai.TargetProtocol) is { } targetProto)
        {
            if (targetProto.PrepareOutgoingRequest(requestBody)) bodyChanged = true;
        }

        if (AiCtx.LogEnabled(ctx, LogLevel.Info))
            ctx.Log(LogLevel.Info, "request extra_opts to LLM server: " + Apisix.Core.Utils.LogSanitize.LogText(LogSanitizeView.ExtraOpts(opts)));

        var auth = opts.Auth ?? new JsonObject();
        string? token = null;
        if (auth["gcp"] != null)
        {
            var (accessToken, tokenErr) = await Auth.FetchGcpAccessTokenAsync(ctx, opts.Name, auth["gcp"]);
            if (accessToken == null) return Result(null, "failed to get gcp access token: " + (tokenErr ?? "unknown"));
            token = accessToken;
        }

        var (parsedUrl, endpointQuery) = opts.Endpoint != null ? ParseEndpoint(opts.Endpoint) : default;
        var scheme = parsedUrl?.Scheme ?? "https";
        var host = parsedUrl?.Host ?? opts.TargetHost ?? Host;
        int port;
        if (parsedUrl?.Port is { } portText && int.TryParse(portText, out var p)) port = p;
        else port = scheme == "https" ? 443 : 80;

        var queryParams = auth["query"] is JsonObject authQuery ? (JsonObject)authQuery.DeepClone() : new JsonObject();
        if (endpointQuery != null)
        {
            foreach (var (k, v) in endpointQuery) queryParams[k] = v?.DeepClone();
        }

        var path = parsedUrl?.Path ?? opts.TargetPath;
        if (path == null)
        {
            return Result(null, "could not resolve upstream path: ensure the route or request body specifies a model, "
                                + "or that override.endpoint includes a path", 400);
        }

        var headers = Http.ConstructForwardHeaders(auth["header"] as JsonObject ?? new JsonObject(), ctx);
        if (opts.HostHeader != null) headers["Host"] = opts.HostHeader;
        if (token != null) headers["authorization"] = "Bearer " + token;
        converter?.ConvertHeaders(headers);

        var method = "POST";
        if (ai.TargetProtocol == "passthrough")
        {
            method = CoreRequest.GetMethod(ctx);
            if (ctx.Var.GetString("args") is { Length: > 0 } args)
            {
                var authQueryKeys = auth["query"] as JsonObject;
                foreach (var (k, v) in NgxArgs.Decode(args))
                {
                    if (authQueryKeys == null || authQueryKeys[k] == null) queryParams[k] = v?.DeepClone();
                }
            }
        }

        var pars = new AiHttpParams
        {
            Method = method,
            Scheme = scheme,
            Headers = headers,
            SslVerify = JsonScalars.TryGetBoolean(conf["ssl_verify"], out var sv) ? sv : null,
            Path = path,
            Query = queryParams,
            Host = host,
            Port = port,
            SslServerName = opts.SslServerName ?? parsedUrl?.Host ?? opts.TargetHost ?? Host,
        };

        if (opts.ModelOptions != null && requestBody is JsonObject bodyObj)
        {
            foreach (var (opt, val) in opts.ModelOptions.ToList())
            {
                if (bodyObj[opt] != null) ctx.Log(LogLevel.Info, $"model_options overwriting request field '{opt}'");
                bodyObj[opt] = val?.DeepClone();
                bodyChanged = true;
            }
        }

        if (opts.OverrideLlmOptions != null && ai.TargetProtocol != null
            && Capabilities.TryGetValue(ai.TargetProtocol, out var cap) && cap.RewriteRequestBody != null
            && requestBody is JsonObject rewriteBody)
        {
            cap.RewriteRequestBody(rewriteBody, opts.OverrideLlmOptions, true);
            if (opts.OverrideLlmOptions.Count > 0) bodyChanged = true;
        }

        if (opts.RequestBodyOverrideMap != null && ai.TargetProtocol != null
            && opts.RequestBodyOverrideMap[ai.TargetProtocol] is { } patch)
        {
            ctx.Log(LogLevel.Info, $"applying request_body override for target protocol '{ai.TargetProtocol}'");
            requestBody = Merge.DeepMerge(requestBody, patch.DeepClone(), opts.RequestBodyForceOverride)!;
            bodyChanged = true;
        }

        if (RemoveModel && requestBody is JsonObject withModel && withModel["model"] != null)
        {
            withModel.Remove("model");
            bodyChanged = true;
        }

        if (bodyChanged) ai.RequestBodyChanged = true;

        if (!ai.RequestBodyChanged)
        {
            ai.RawRequestBody ??= ctx.Request.BodyText();
            pars.Body = ai.RawRequestBody != null ? (object)ai.RawRequestBody : requestBody;
        }
        else
        {
            pars.Body = requestBody;
        }

        if (AwsSigv4 && auth["aws"] != null)
        {
            // SigV4 (ai-transport/auth-aws.lua) signs the finished body, so it comes last
            var region = opts.Conf["region"];
            if (region == null)
                return Result(null, "missing region for AWS SigV4 signing (provider_conf.region required for bedrock)");
            var signErr = AuthAws.SignRequest(pars, auth["aws"], region);
            if (signErr != null) return Result(null, "failed to sign AWS request: " + signErr);
        }

        return Result(pars, null);
    }

    private static (AiHttpParams?, string?, int?) Result(AiHttpParams? p, string? err, int? code = null) =>
        (p, err, code);

    /// <summary>
    /// <c>parse_response(ctx, res, client_proto, converter, conf)</c>: reads a whole (non-stream)
    /// response, records token usage and the response text, and writes it to the client.
    /// Returns the parsed body, or null and an error with the status to answer.
    /// </summary>
    public virtual async Task<(JsonNode? Body, string? Error, int? Status)> ParseResponseAsync(
        ApiCtx ctx, AiHttpResponse res, IAiProtocol clientProto, IAiConverter? converter, JsonObject conf)
    {
        var ai = AiCtx.For(ctx);
        var headers = res.Headers;
        long? maxBytes = JsonScalars.TryGetNumber(conf["max_response_bytes"], out var mb) ? (long)mb : null;
        if (maxBytes != null)
        {
            if (headers.TryGetValue("Content-Length", out var clText) && double.TryParse(clText, out var contentLength)
                && contentLength > maxBytes)
            {
                ctx.Log(LogLevel.Warn, $"aborting AI response: Content-Length {LuaNumber.ToLuaString(contentLength)} exceeds max_response_bytes {maxBytes}");
                res.Close();
                return (null, "max_response_bytes exceeded", 502);
            }
        }

        string? rawResBody;
        string? err = null;
        if (maxBytes != null)
        {
            if (!res.HasBodyReader)
            {
                (rawResBody, err) = await res.ReadBodyAsync();
            }
            else
            {
                var parts = new StringBuilder();
                long total = 0;
                rawResBody = null;
                while (true)
                {
                    var (chunk, readErr) = await res.BodyReaderAsync();
                    if (readErr != null) { err = readErr; break; }
                    if (chunk == null) break;
                    total += chunk.Length;
                    if (total > maxBytes)
                    {
                        ctx.Log(LogLevel.Warn, $"aborting AI response: body size exceeds max_response_bytes {maxBytes} (read {total} bytes)");
                        res.Close();
                        res.UpstreamBytes = total;
                        return (null, "max_response_bytes exceeded", 502);
                    }
                    parts.Append(chunk);
                }
                if (err == null) rawResBody = parts.ToString();
            }
        }
        else
        {
            (rawResBody, err) = await res.ReadBodyAsync();
        }
        if (rawResBody == null)
        {
            ctx.Log(LogLevel.Warn, "failed to read response body: " + err);
            return (null, err, null);
        }
        res.UpstreamBytes = rawResBody.Length;
        ctx.Request.Status = res.Status;
        ctx.Var["llm_time_to_first_token"] = ai.ElapsedMs();
        ctx.Var["apisix_upstream_response_time"] = ctx.Var["llm_time_to_first_token"];

        var (resBody, decodeErr) = CJson.DecodeNullAsNil(rawResBody);
        if (decodeErr != null)
        {
            ctx.Log(LogLevel.Warn, $"failed to decode response from ai service, err: {decodeErr}, it will cause token usage not available");
            await PluginRunner.LuaResponseFilterAsync(ctx, headers, rawResBody);
            return (null, null, null);
        }

        if (converter != null)
        {
            var (newBody, convErr) = converter.ConvertResponse(resBody, ai.Protocol);
            if (newBody == null && convErr != null)
            {
                ctx.Log(LogLevel.Error, "failed to convert response: " + convErr);
                return (null, convErr, null);
            }
            if (newBody != null)
            {
                resBody = newBody;
                var (raw, encodeErr) = CJson.TryEncode(resBody);
                if (raw == null)
                {
                    ctx.Log(LogLevel.Error, "failed to encode response body: " + encodeErr);
                    return (null, encodeErr, null);
                }
                rawResBody = raw;
            }
        }

        if (AiCtx.LogEnabled(ctx, LogLevel.Info))
            ctx.Log(LogLevel.Info, "got token usage from ai service: " + DelayEncode((resBody as JsonObject)?["usage"]));
        var (usage, rawUsage) = clientProto.ExtractUsage(resBody);
        if (usage != null)
        {
            ai.RawUsage = rawUsage;
            ai.TokenUsage = usage;
        }
        else
        {
            ai.TokenUsage = new JsonObject();
        }
        SetUsageVars(ctx, ai.TokenUsage, zeroDefaults: true);

        var responseText = clientProto.ExtractResponseText(resBody);
        if (responseText != null) ctx.Var["llm_response_text"] = responseText;

        if (clientProto.HasToolCall(resBody)) ctx.Var["llm_has_tool_calls"] = "true";

        await PluginRunner.LuaResponseFilterAsync(ctx, headers, rawResBody);
        return (resBody, null, null);
    }

    private static void SetUsageVars(ApiCtx ctx, JsonObject usage, bool zeroDefaults)
    {
        if (zeroDefaults)
        {
            ctx.Var["llm_prompt_tokens"] = UsageVar(usage, "prompt_tokens");
            ctx.Var["llm_completion_tokens"] = UsageVar(usage, "completion_tokens");
        }
        else
        {
            // the stream path copies these two as they are (nil stays nil)
            ctx.Var["llm_prompt_tokens"] = usage["prompt_tokens"] != null ? UsageVar(usage, "prompt_tokens") : null;
            ctx.Var["llm_completion_tokens"] = usage["completion_tokens"] != null ? UsageVar(usage, "completion_tokens") : null;
        }
        ctx.Var["llm_total_tokens"] = UsageVar(usage, "total_tokens");
        ctx.Var["llm_cache_read_input_tokens"] = UsageVar(usage, "cache_read_input_tokens");
        ctx.Var["llm_cache_creation_input_tokens"] = UsageVar(usage, "cache_creation_input_tokens");
        ctx.Var["llm_reasoning_tokens"] = UsageVar(usage, "reasoning_tokens");
    }

    /// <summary>`core.json.delay_encode(v)` as it prints: nil prints "nil".</summary>
    internal static string DelayEncode(JsonNode? v) => v == null ? "nil" : CJson.TryEncode(v).Value ?? "nil";

    /// <summary>
    /// <c>parse_streaming_response(ctx, res, target_proto, converter, conf)</c>: forwards the
    /// stream chunk by chunk as it arrives (converted when a converter is set), collecting
    /// usage and text, and enforcing <c>max_stream_duration_ms</c> / <c>max_response_bytes</c>.
    /// Returns a status and body to answer with, or nothing when the stream was forwarded.
    /// </summary>
    public virtual async Task<(int? Code, object? Body)> ParseStreamingResponseAsync(
        ApiCtx ctx, AiHttpResponse res, IAiProtocol targetProto, IAiConverter? converter, JsonObject conf)
    {
        var ai = AiCtx.For(ctx);
        var framing = StreamingFraming ?? "sse";
        var awsFraming = framing == "aws-eventstream";
        if (framing != "sse" && !awsFraming)
            return (500, "unknown streaming framing: " + framing);
        var maxRemainder = awsFraming ? AwsEventStream.MaxRemainder : Sse.MaxRemainder;

        var contents = new List<string>();
        var sseState = new JsonObject { ["is_first"] = true };
        var pending = "";
        var outputSent = false;

        double? deadline = JsonScalars.TryGetNumber(conf["max_stream_duration_ms"], out var maxDur)
            ? ai.RequestStartTime + maxDur / 1000 : null;
        long? maxBytes = JsonScalars.TryGetNumber(conf["max_response_bytes"], out var mb) ? (long)mb : null;
        long bytesRead = 0;

        var flushIntervalMs = JsonScalars.TryGetNumber(conf["streaming_flush_interval_ms"], out var fi) ? fi : 0;
        var asyncFlush = flushIntervalMs > 0;
        var needsFlush = false;
        string? flushErr = null;
        using var flushStop = new CancellationTokenSource();
        Task? flushThread = null;
        if (asyncFlush)
        {
            // ngx.thread.spawn: a light thread on the same worker flushing what was printed
            flushThread = FlushLoopAsync();
        }

        async Task FlushLoopAsync()
        {
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(flushIntervalMs), flushStop.Token);
                    if (!needsFlush) continue;
                    needsFlush = false;
                    var e = await ctx.Request.FlushAsync();
                    if (e != null) { flushErr = e; return; }
                    ctx.Log(LogLevel.Debug, "ai-proxy: flush_thread periodic flush");
                }
            }
            catch (OperationCanceledException)
            {
                // killed
            }
        }

        void KillFlushThread()
        {
            if (flushThread == null) return;
            flushStop.Cancel();
            flushThread = null;
        }

        void AbortOnDisconnect(string? err)
        {
            if (err == PluginRunner.LuaResponseFilterExited)
            {
                // a lua_body_filter ended the response (ngx.exit in Lua): nothing more runs here
                KillFlushThread();
                res.Close();
                return;
            }
            ctx.Log(LogLevel.Info, "client disconnected during AI streaming, aborting upstream read: " + err);
            KillFlushThread();
            res.Close();
            res.UpstreamBytes = bytesRead;
            ctx.Var["apisix_upstream_response_time"] = ai.ElapsedMs();
            ctx.Var["llm_request_done"] = true;
        }

        // A client that goes away while the upstream is silent would only be noticed at the next
        // write; closing the upstream connection at once ends the read below, so the provider
        // sees its request cancelled.
        var clientGone = false;
        using var onClientGone = ctx.Request.Http.RequestAborted.Register(() =>
        {
            clientGone = true;
            res.Close();
        });

        var firstTokenSet = false;
        while (true)
        {
            if (flushErr != null || clientGone)
            {
                AbortOnDisconnect(flushErr ?? "client aborted");
                return (null, null);
            }

            var (chunk, err) = await res.BodyReaderAsync();
            if (clientGone)
            {
                AbortOnDisconnect("client aborted");
                return (null, null);
            }
            if (err != null)
            {
                ctx.Var["apisix_upstream_response_time"] = ai.ElapsedMs();
                ctx.Log(LogLevel.Warn, "failed to read response chunk: " + err);
                res.UpstreamBytes = bytesRead;
                KillFlushThread();
                return (Http.HandleError(err), null);
            }
            if (chunk == null)
            {
                if (pending.Length > 0)
                    ctx.Log(LogLevel.Warn, "dropping incomplete stream frame at EOF, size: " + pending.Length);
                res.UpstreamBytes = bytesRead;
                ctx.Var["apisix_upstream_response_time"] = ai.ElapsedMs();
                if (converter != null && !outputSent)
                {
                    KillFlushThread();
                    const string msg = "streaming response completed without producing any output; the upstream "
                                       + "likely returned a different stream format than the converter expects";
                    ctx.Log(LogLevel.Error, msg);
                    return (502, msg);
                }
                KillFlushThread();
                if (flushErr == null) await ctx.Request.FlushAsync();
                return (null, null);
            }

            bytesRead += chunk.Length;
            if (!firstTokenSet)
            {
                ctx.Var["llm_time_to_first_token"] = ai.ElapsedMs();
                firstTokenSet = true;
            }

            var candidate = pending.Length == 0 ? chunk : pending + chunk;
            var (events, remainder) = awsFraming
                ? AwsEventStream.DecodeBuf(candidate, w => ctx.Log(LogLevel.Warn, w))
                : Sse.DecodeBuf(candidate);
            if (remainder.Length > maxRemainder)
            {
                ctx.Log(LogLevel.Warn, $"stream remainder exceeded {maxRemainder} bytes, resetting");
                remainder = "";
            }
            pending = remainder;
            ai.ResponseContentsInChunk = new List<string>();
            var convertedChunks = new List<string>();

            foreach (var evNode in events)
            {
                if (evNode is not JsonObject ev) continue;
                var parsed = targetProto.ParseSseEvent(ev, ai.Protocol, sseState);
                if (parsed != null && JsonScalars.TryGetBoolean(parsed["has_tool_call"], out var tc) && tc)
                    ctx.Var["llm_has_tool_calls"] = "true";
                if (parsed == null || (JsonScalars.TryGetString(parsed["type"], out var t0) && t0 == "skip")) continue;

                if (converter != null)
                {
                    var converted = converter.ConvertSseEvents(parsed, ai.Protocol, sseState);
                    if (converted != null)
                        foreach (var ce in converted)
                            if (ce is JsonObject ceo) convertedChunks.Add(Sse.Encode(ceo));
                }

                if (parsed["texts"] is JsonArray texts)
                {
                    foreach (var text in texts)
                    {
                        if (!JsonScalars.TryGetString(text, out var s)) continue;
                        contents.Add(s);
                        ai.ResponseContentsInChunk.Add(s);
                    }
                }

                if (parsed["usage"] is JsonObject)
                {
                    if (AiCtx.LogEnabled(ctx, LogLevel.Info))
                        ctx.Log(LogLevel.Info, "got token usage from ai service: " + DelayEncode(parsed["raw_usage"] ?? parsed["usage"]));
                    MergeUsage(ai, parsed);
                    SetUsageVars(ctx, ai.TokenUsage!, zeroDefaults: false);
                    ctx.Var["llm_response_text"] = string.Concat(contents);
                }

                if (JsonScalars.TryGetString(parsed["type"], out var type) && (type == "done" || type == "usage_and_done"))
                    ctx.Var["llm_request_done"] = true;
            }

            if (converter != null)
            {
                foreach (var c in convertedChunks)
                {
                    var (ok, e) = await PluginRunner.LuaResponseFilterAsync(ctx, res.Headers, c, asyncFlush, true);
                    if (!ok)
                    {
                        AbortOnDisconnect(e);
                        return (null, null);
                    }
                    outputSent = true;
                }
            }
            else
            {
                var (ok, e) = await PluginRunner.LuaResponseFilterAsync(ctx, res.Headers, chunk, asyncFlush, true);
                if (!ok)
                {
                    AbortOnDisconnect(e);
                    return (null, null);
                }
                outputSent = true;
            }
            if (asyncFlush) needsFlush = true;

            string? limitHit = null;
            if (deadline != null && AiCtx.Now() >= deadline) limitHit = "max_stream_duration_ms";
            else if (maxBytes != null && bytesRead > maxBytes) limitHit = "max_response_bytes";
            if (limitHit != null)
            {
                KillFlushThread();
                var durationMs = ai.ElapsedMs();
                ctx.Log(LogLevel.Warn, $"aborting AI stream: {limitHit} exceeded; bytes={bytesRead} duration_ms={durationMs} route_id={ctx.Var.GetString("route_id") ?? ""}");
                res.Close();
                ctx.Var["apisix_upstream_response_time"] = durationMs;
                ctx.Var["llm_request_done"] = true;
                res.UpstreamBytes = bytesRead;
                if (outputSent) return (null, null);
                var status = limitHit == "max_stream_duration_ms" ? 504 : 502;
                return (status, limitHit + " exceeded");
            }

            await Task.Yield();
        }
    }

    /// <summary>
    /// <c>request(ctx, conf, request_table, extra_opts)</c>: one whole request to the LLM service
    /// for a plugin that needs an answer before the proxying (ai-request-rewrite): the status and
    /// the raw body, or a status and the error.
    /// </summary>
    public async Task<(int Status, string? Body, string? Error)> RequestAsync(
        ApiCtx ctx, JsonObject conf, JsonNode requestTable, ExtraOpts extraOpts)
    {
        var (pars, err, _) = await BuildRequestAsync(ctx, conf, requestTable, extraOpts);
        if (pars == null)
        {
            ctx.Log(LogLevel.Error, "failed to build request: " + err);
            return (500, null, err);
        }

        if (AiCtx.LogEnabled(ctx, LogLevel.Info))
            ctx.Log(LogLevel.Info, "sending sidecar request to LLM server: "
            + Apisix.Core.Utils.LogSanitize.LogText(LogSanitizeView.Params(pars)));

        var timeout = JsonScalars.TryGetNumber(conf["timeout"], out var t) ? (int)t : 30000;
        var (res, reqErr, _) = await Http.RequestAsync(pars, timeout, ctx);
        if (res == null)
        {
            ctx.Log(LogLevel.Warn, "failed to send request to LLM server: " + reqErr);
            return (Http.HandleError(reqErr ?? ""), null, reqErr);
        }

        var (rawBody, readErr) = await res.ReadBodyAsync();
        if (JsonScalars.TryGetBoolean(conf["keepalive"], out var keepalive) && keepalive)
        {
            Http.SetKeepalive(res,
                JsonScalars.TryGetNumber(conf["keepalive_timeout"], out var kt) ? (int)kt : 0,
                JsonScalars.TryGetNumber(conf["keepalive_pool"], out var kp) ? (int)kp : 0, ctx);
        }
        if (rawBody == null) return (500, null, "failed to read response body: " + (readErr ?? ""));
        return (res.Status, rawBody, null);
    }
}
