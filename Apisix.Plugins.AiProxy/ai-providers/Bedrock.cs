using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/bedrock.lua</c>: the Converse API, model in the path, SigV4-signed, AWS event-stream framing.</summary>
public static class Bedrock
{
    private static string GetHost(string? region) => $"bedrock-runtime.{region}.amazonaws.com";

    private static JsonObject GetNode(JsonObject instanceConf)
    {
        JsonScalars.TryGetString(instanceConf["provider_conf"]?["region"], out var region);
        return new JsonObject { ["scheme"] = "https", ["host"] = GetHost(region), ["port"] = 443 };
    }

    private static void RewriteConverseRequestBody(JsonObject body, JsonObject over, bool force)
    {
        if (over["max_tokens"] is not { } max) return;
        if (body["inferenceConfig"] is not JsonObject inference)
        {
            inference = new JsonObject();
            body["inferenceConfig"] = inference;
        }
        if (force || inference["maxTokens"] == null) inference["maxTokens"] = max.DeepClone();
    }

    public static readonly ProviderBase Instance = new()
    {
        GetNode = GetNode,
        RemoveModel = true,
        AwsSigv4 = true,
        StreamingFraming = "aws-eventstream",
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["bedrock-converse"] = new()
            {
                Host = (conf, _) => JsonScalars.TryGetString(conf["region"], out var region) ? GetHost(region) : null,
                Path = (_, ctx) =>
                {
                    var model = ctx?.Var?.Invoke("llm_model");
                    if (string.IsNullOrEmpty(model)) return null;
                    var template = ctx?.Var?.Invoke("request_type") == "ai_stream" ? "/model/{0}/converse-stream" : "/model/{0}/converse";
                    return string.Format(template, Apisix.Core.OpenResty.NgxArgs.EscapeUri(model));
                },
                RewriteRequestBody = RewriteConverseRequestBody,
            },
        },
    };
}
