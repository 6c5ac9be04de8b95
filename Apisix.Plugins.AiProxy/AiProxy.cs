using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Plugins;
using AiProxySchema = Apisix.Plugins.AiProxy.AiProxy.Schema;
using ProvidersSchema = Apisix.Plugins.AiProxy.AiProviders.Schema;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// Port of <c>apisix/plugins/ai-proxy.lua</c>: the single-instance AI proxy plugin.
/// This file holds the module fields and <c>check_schema</c>; the phases
/// (<c>access</c>, <c>before_proxy</c>, <c>log</c>) come with the gateway port.
/// </summary>
public sealed class AiProxyPlugin : IPlugin
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
}
