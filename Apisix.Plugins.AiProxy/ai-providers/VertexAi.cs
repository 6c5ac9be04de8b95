using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/vertex-ai.lua</c>: host and paths built from the project and region.</summary>
public static class VertexAi
{
    private static string GetHost(string region) => $"{region}-aiplatform.googleapis.com";

    private static string GetChatCompletionsPath(string projectId, string region) =>
        $"/v1beta1/projects/{projectId}/locations/{region}/endpoints/openapi/chat/completions";

    private static string GetEmbeddingsPath(string projectId, string region, string model) =>
        $"/v1/projects/{projectId}/locations/{region}/publishers/google/models/{model}:predict";

    private static string? Str(JsonObject conf, string key) => JsonScalars.TryGetString(conf[key], out var s) ? s : null;

    /// <summary><c>get_node(instance_conf)</c>: the regional host when a region is set.</summary>
    private static JsonObject GetNode(JsonObject instanceConf)
    {
        var host = "aiplatform.googleapis.com";
        if (JsonScalars.TryGetString(instanceConf["provider_conf"]?["region"], out var region)) host = GetHost(region);
        return new JsonObject { ["scheme"] = "https", ["host"] = host, ["port"] = 443 };
    }

    private static string? HostFor(JsonObject conf, AiProtocols.ProtocolCtx? _) =>
        Str(conf, "region") is { } region ? GetHost(region) : null;

    public static readonly ProviderBase Instance = new()
    {
        GetNode = GetNode,
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = new()
            {
                Host = HostFor,
                Path = (conf, _) => Str(conf, "project_id") is { } project && Str(conf, "region") is { } region
                    ? GetChatCompletionsPath(project, region) : null,
                RewriteRequestBody = RewriteRules.ChatMaxCompletionTokens,
            },
            ["vertex-predict"] = new()
            {
                Host = HostFor,
                Path = (conf, ctx) =>
                {
                    if (Str(conf, "project_id") is not { } project || Str(conf, "region") is not { } region) return null;
                    var model = ctx?.Var?.Invoke("llm_model");
                    return model == null ? null : GetEmbeddingsPath(project, region, model);
                },
            },
        },
    };
}
