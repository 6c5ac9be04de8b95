using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Plugins.AiProxy.AiProtocols;

namespace Apisix.Plugins.AiProxy.AiProxy;

/// <summary>
/// The <c>api_ctx</c> fields the AI proxy modules set and read (Lua names in the comments),
/// kept together on the request's <see cref="ApiCtx"/>.
/// </summary>
public sealed class AiCtx
{
    private const string Key = "ai";

    /// <summary>The AI state of a request, created on first use.</summary>
    public static AiCtx For(ApiCtx ctx)
    {
        if (ctx.Items.TryGetValue(Key, out var v) && v is AiCtx ai) return ai;
        ai = new AiCtx(ctx);
        ctx.Items[Key] = ai;
        return ai;
    }

    private AiCtx(ApiCtx ctx)
    {
        Api = ctx;
        Protocol = new ProtocolCtx
        {
            Var = name => ctx.Var.GetString(name),
            SetVar = (name, value) => ctx.Var[name] = value,
            Log = ctx.Log,
        };
    }

    public ApiCtx Api { get; }

    /// <summary>The view of this ctx handed to protocol, converter and capability functions.</summary>
    public ProtocolCtx Protocol { get; }

    /// <summary><c>picked_ai_instance</c>: the instance conf (the plugin conf for ai-proxy).</summary>
    public JsonObject? PickedAiInstance { get; set; }
    /// <summary><c>picked_ai_instance_name</c>.</summary>
    public string? PickedAiInstanceName { get; set; }
    /// <summary><c>ai_client_protocol</c>.</summary>
    public string? ClientProtocol { get; set; }
    /// <summary><c>ai_converter</c>.</summary>
    public IAiConverter? Converter { get; set; }
    /// <summary><c>ai_target_protocol</c>.</summary>
    public string? TargetProtocol { get; set; }
    /// <summary><c>llm_request_start_time</c> (seconds, as ngx.now()).</summary>
    public double RequestStartTime { get; set; }
    /// <summary><c>ai_token_usage</c>.</summary>
    public JsonObject? TokenUsage { get; set; }
    /// <summary><c>llm_raw_usage</c>.</summary>
    public JsonNode? RawUsage { get; set; }
    /// <summary><c>ai_raw_request_body</c>: the client's body, sent as is while nothing changed it.</summary>
    public string? RawRequestBody { get; set; }
    /// <summary><c>ai_request_body_changed</c>.</summary>
    public bool RequestBodyChanged { get; set; }
    /// <summary><c>llm_response_contents_in_chunk</c>: the texts of the chunk being forwarded.</summary>
    public List<string> ResponseContentsInChunk { get; set; } = new();
    /// <summary><c>llm_active_connections_tracked</c>.</summary>
    public bool ActiveConnectionsTracked { get; set; }
    /// <summary>
    /// <c>llm_summary</c>, <c>llm_request</c>, <c>llm_response_text</c>: what set_logging leaves for
    /// loggers. Kept in <see cref="ApiCtx.Items"/> under those names, where loggers of other
    /// assemblies (kafka-logger) read them.
    /// </summary>
    public JsonObject? Summary { get => Api.Items.GetValueOrDefault("llm_summary") as JsonObject; set => Api.Items["llm_summary"] = value; }
    public JsonObject? Request { get => Api.Items.GetValueOrDefault("llm_request") as JsonObject; set => Api.Items["llm_request"] = value; }
    public JsonObject? ResponseText { get => Api.Items.GetValueOrDefault("llm_response_text") as JsonObject; set => Api.Items["llm_response_text"] = value; }
    /// <summary><c>ai_retries</c> (ai-proxy-multi).</summary>
    public int Retries { get; set; }

    /// <summary>
    /// Whether a line at <paramref name="level"/> would reach the error log: lines whose text costs
    /// work to build (encoded tables) are built only then, as <c>core.log</c> skips them.
    /// </summary>
    public static bool LogEnabled(ApiCtx ctx, Apisix.Core.OpenResty.LogLevel level) => ctx.Request.Nginx.ErrorLog.Enabled(level);

    /// <summary><c>ngx.now()</c>: seconds since the epoch with millisecond resolution.</summary>
    public static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary><c>math.floor((ngx.now() - llm_request_start_time) * 1000)</c>.</summary>
    public long ElapsedMs() => (long)Math.Floor((Now() - RequestStartTime) * 1000);
}
