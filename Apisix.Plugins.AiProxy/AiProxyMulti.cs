using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;
using Apisix.Core.Plugins;
using AiProxySchema = Apisix.Plugins.AiProxy.AiProxy.Schema;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// Port of <c>apisix/plugins/ai-proxy-multi.lua</c>: several AI instances behind one route,
/// picked by a balancer (weights within a priority, lower priorities as fallback), with
/// retries on 429/5xx as <c>fallback_strategy</c> allows. The phases and the picking are in
/// AiProxyMulti.Phases.cs; this file holds the module fields and <c>check_schema</c>.
/// </summary>
public sealed partial class AiProxyMultiPlugin : IPlugin
{
    private static readonly Regex EndpointRegex = new(@"^(https?)://([^:/]+):?([0-9]*)/?.*$", RegexOptions.CultureInvariant | RegexOptions.Singleline);
    private readonly JsonObject _schema = AiProxySchema.AiProxyMultiSchema();

    public string Name => "ai-proxy-multi";
    public int Priority => 1041;
    public double Version => 0.5;
    public JsonNode Schema => _schema;

    private static JsonObject? GetChashKeySchema(string hashOn, out string? err)
    {
        err = null;
        switch (hashOn)
        {
            case "vars":
                return new JsonObject
                {
                    ["type"] = "string",
                    ["pattern"] = "^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$",
                };
            case "header":
            case "cookie":
                return new JsonObject { ["type"] = "string", ["pattern"] = "^[a-zA-Z0-9-_]+$" };
            case "consumer":
                return null;
            case "vars_combinations":
                return new JsonObject { ["type"] = "string" };
            default:
                err = "invalid hash_on type " + hashOn;
                return null;
        }
    }

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = Apisix.Core.Schema.JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);

        foreach (var node in conf["instances"] as JsonArray ?? [])
        {
            if (node is not JsonObject instance) continue;
            if (JsonScalars.TryGetString(instance["override"]?["endpoint"], out string endpoint)
                && !EndpointRegex.IsMatch(endpoint))
                return (false, "invalid endpoint");
            JsonScalars.TryGetString(instance["provider"], out string provider);
            if (!AiProxyPlugin.ProviderExists(provider))
                return (false, $"ai provider: {provider} is not supported.");
            var sa = AiProxyPlugin.CheckServiceAccountJson(instance);
            if (sa != null) return (false, sa);
            var (pok, perr) = AiProxySchema.ValidateProviderRequirements(instance);
            if (!pok)
            {
                var name = JsonScalars.TryGetString(instance["name"], out string n) ? n : "?";
                return (false, $"instance '{name}': {perr}");
            }
        }

        var balancer = conf["balancer"];
        JsonScalars.TryGetString(balancer?["algorithm"], out string algo);
        if (algo == "chash")
        {
            var hashOnNode = balancer?["hash_on"];
            if (hashOnNode == null) return (false, "must configure `hash_on` when balancer algorithm is chash");
            JsonScalars.TryGetString(hashOnNode, out string hashOn);
            var hashKey = balancer?["key"];
            if (hashOn != "consumer" && hashKey == null)
                return (false, "must configure `hash_key` when balancer `hash_on` is not set to cookie");
            var keySchema = GetChashKeySchema(hashOn, out var kerr);
            if (kerr != null) return (false, "type is chash, err: " + kerr);
            if (keySchema != null)
            {
                var (kok, kmsg) = Apisix.Core.Schema.JsonSchema.Check(keySchema, hashKey);
                if (!kok) return (false, "invalid configuration: " + kmsg);
            }
        }
        return (true, null);
    }
}
