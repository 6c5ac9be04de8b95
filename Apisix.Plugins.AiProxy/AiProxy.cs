using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin.Prometheus;
using Apisix.Plugins.AiProxy.AiProxy;
using AiProxyBase = Apisix.Plugins.AiProxy.AiProxy.Base;
using AiProxySchema = Apisix.Plugins.AiProxy.AiProxy.Schema;
using ProvidersSchema = Apisix.Plugins.AiProxy.AiProviders.Schema;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// Port of <c>apisix/plugins/ai-proxy.lua</c>: the single-instance AI proxy plugin.
/// </summary>
public sealed class AiProxyPlugin : IPlugin, IAccessPhase, IBeforeProxyPhase, ILogPhase
{
    private readonly JsonObject _schema = AiProxySchema.AiProxySchema();

    public string Name => "ai-proxy";
    public int Priority => 1040;
    public double Version => 0.5;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = Apisix.Core.Schema.JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        JsonScalars.TryGetString(conf["provider"], out string provider);
        if (!ProviderExists(provider))
            return (false, $"ai provider: {provider} is not supported.");
        var sa = CheckServiceAccountJson(conf);
        if (sa != null) return (false, sa);
        return AiProxySchema.ValidateProviderRequirements(conf);
    }

    /// <summary>Lua requires `apisix.plugins.ai-providers.NAME`; the port has one class per provider name.</summary>
    internal static bool ProviderExists(string provider) => ProvidersSchema.ProviderNames.Contains(provider);

    /// <summary>A literal (non secret-ref) `auth.gcp.service_account_json` must be valid JSON.</summary>
    internal static string? CheckServiceAccountJson(JsonObject conf)
    {
        var sa = conf["auth"]?["gcp"]?["service_account_json"];
        if (sa == null || !JsonScalars.TryGetString(sa, out string text)) return null;
        if (text.StartsWith("$secret://", StringComparison.Ordinal) || text.StartsWith("$ENV://", StringComparison.Ordinal)) return null;
        var (_, error) = CJson.Decode(text);
        return error == null ? null : "invalid gcp service_account_json: " + error;
    }

    /// <summary>
    /// <c>_M.access(conf, ctx)</c>: reads and classifies the body up front (so lower-priority
    /// plugins see the protocol), then marks the plugin's own conf as the picked instance and
    /// takes the upstream call over from nginx.
    /// </summary>
    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var (err, code) = await AiProxyBase.DetectRequestTypeAsync(ctx, MaxReqBodySize(conf));
        if (err != null) return new PhaseResult(code ?? 400, err);
        var ai = AiCtx.For(ctx);
        JsonScalars.TryGetString(conf["provider"], out string provider);
        ai.PickedAiInstanceName = "ai-proxy-" + provider;
        ai.PickedAiInstance = conf;
        ctx.BalancerIp = ai.PickedAiInstanceName;
        ctx.BypassNginxUpstream = true;
        return PhaseResult.Continue;
    }

    internal static long? MaxReqBodySize(JsonObject conf) =>
        JsonScalars.TryGetNumber(conf["max_req_body_size"], out var n) ? (long)n : null;

    /// <summary><c>_M.before_proxy = base.before_proxy</c>.</summary>
    public ValueTask<PhaseResult> BeforeProxyAsync(JsonObject conf, ApiCtx ctx) => new(AiProxyBase.BeforeProxyAsync(conf, ctx));

    /// <summary><c>_M.log(conf, ctx)</c>: release the active-connection gauge, leave the logging fields.</summary>
    public ValueTask LogAsync(JsonObject conf, ApiCtx ctx) => LogPhase(conf, ctx);

    internal static ValueTask LogPhase(JsonObject conf, ApiCtx ctx)
    {
        var ai = AiCtx.For(ctx);
        if (ai.ActiveConnectionsTracked)
        {
            Exporter.DecLlmActiveConnections(ctx);
            ai.ActiveConnectionsTracked = false;
        }
        if (conf["logging"] is JsonObject logging)
        {
            AiProxyBase.SetLogging(ctx,
                JsonScalars.TryGetBoolean(logging["summaries"], out var s) && s,
                JsonScalars.TryGetBoolean(logging["payloads"], out var p) && p);
        }
        return ValueTask.CompletedTask;
    }
}
