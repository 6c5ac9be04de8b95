using System.Text.Json.Nodes;
using Apisix.Core.Json;
using static Apisix.Plugins.AiProxy.AiProtocols.LuaOps;

namespace Apisix.Plugins.AiProxy.AiProtocols.Converters;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/converters/openai-embeddings-to-vertex-predict.lua</c>:
/// OpenAI embeddings requests become Vertex AI <c>predict</c> instances, and predictions come
/// back as an OpenAI embeddings list.
/// </summary>
public sealed class OpenAiEmbeddingsToVertexPredict : IAiConverter
{
    public static readonly OpenAiEmbeddingsToVertexPredict Instance = new();

    public string From => "openai-embeddings";

    public string To => "vertex-predict";

    /// <summary><c>convert_request</c>: each input string (a nested list is joined by spaces) becomes one <c>{content}</c> instance.</summary>
    public (JsonNode? Body, string? Error) ConvertRequest(JsonNode? body, ProtocolCtx ctx)
    {
        if (!Truthy(body)) return (null, "empty openai request");

        var input = Index(body, "input", "local 'body'");
        if (!Truthy(input)) return (null, "`input` is required for embeddings");

        var inputContexts = new List<JsonNode?>();
        if (IsString(input, out var s))
        {
            inputContexts.Add(s);
        }
        else if (IsTable(input))
        {
            var items = IPairs(input);
            for (int i = 0; i < items.Count; i++)
            {
                var v = items[i];
                if (IsString(v)) inputContexts.Add(Clone(v));
                else if (IsTable(v)) inputContexts.Add(Concat(IPairs(v).Cast<JsonNode?>().ToList(), " "));
                else return (null, "unsupported input type at index " + (i + 1));
            }
        }
        else
        {
            return (null, "`input` must be string or array");
        }

        var instances = new JsonArray();
        foreach (var text in inputContexts) instances.Add(new JsonObject { ["content"] = text });

        // no instances leaves a fresh Lua table, which cjson encodes as an object
        return (new JsonObject { ["instances"] = instances.Count > 0 ? instances : new JsonObject() }, null);
    }

    /// <summary><c>convert_response</c>: predictions to <c>{object = "list", data, model, usage}</c>, summing the token counts.</summary>
    public (JsonNode? Body, string? Error) ConvertResponse(JsonNode? body, ProtocolCtx ctx)
    {
        if (!IsTable(body)) return (null, "empty vertex response");

        var predictions = Get(body, "predictions");
        if (!IsTable(predictions)) return (null, "vertex response missing predictions");

        var data = new JsonArray();
        JsonNode totalTokens = 0L;

        var preds = IPairs(predictions);
        for (int i = 0; i < preds.Count; i++)
        {
            var emb = Or(Index(preds[i], "embeddings", "local 'pred'"), null) ?? new JsonObject();
            var values = Index(emb, "values", "local 'emb'");
            if (!IsTable(values)) return (null, "invalid embedding at index " + (i + 1));

            var statistics = Get(emb, "statistics");
            if (Truthy(statistics))
            {
                var tokenCount = Index(statistics, "token_count", "field 'statistics'");
                if (Truthy(tokenCount)) totalTokens = Add(totalTokens, tokenCount);
            }

            data.Add(new JsonObject
            {
                ["object"] = "embedding",
                ["index"] = (long)i,
                ["embedding"] = Clone(values),
            });
        }

        var model = ctx.Var?.Invoke("request_llm_model") ?? "unknown";
        return (new JsonObject
        {
            ["object"] = "list",
            // an empty Lua table encodes as an object
            ["data"] = data.Count > 0 ? data : new JsonObject(),
            ["model"] = model,
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = totalTokens.DeepClone(),
                ["total_tokens"] = totalTokens.DeepClone(),
            },
        }, null);
    }
}
