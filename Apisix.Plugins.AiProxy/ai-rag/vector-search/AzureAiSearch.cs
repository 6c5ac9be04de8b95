// Twin of apisix/plugins/ai-rag/vector-search/azure_ai_search.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.Bridges;

namespace Apisix.Plugins.AiProxy.AiRag.VectorSearch;

/// <summary>
/// The Azure AI Search driver of ai-rag: one vector query (the embedding, over the client's
/// <c>fields</c>) posted to the configured endpoint; the answer's raw body is the result.
/// </summary>
public static class AzureAiSearch
{
    /// <summary><c>_M.schema</c>: the provider's configuration.</summary>
    public static JsonObject Schema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["endpoint"] = new JsonObject { ["type"] = "string" },
            ["api_key"] = new JsonObject { ["type"] = "string" },
        },
        ["required"] = new JsonArray("endpoint", "api_key"),
    };

    /// <summary><c>_M.request_schema</c>: what the client puts under <c>ai_rag.vector_search</c>.</summary>
    public static JsonObject RequestSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["fields"] = new JsonObject { ["type"] = "string" } },
        ["required"] = new JsonArray("fields"),
    };

    /// <summary>
    /// <c>_M.search(conf, search_body, httpc, ssl_verify)</c>: the search service's body, or null
    /// with the status and the error to answer.
    /// </summary>
    public static async Task<(string? Result, int? Status, string? Error)> Search(
        JsonObject conf, JsonObject searchBody, RestyHttpClient httpc, bool sslVerify)
    {
        var body = new JsonObject
        {
            ["vectorQueries"] = new JsonArray(new JsonObject
            {
                ["kind"] = "vector",
                ["vector"] = searchBody["embeddings"]?.DeepClone(),
                ["fields"] = searchBody["fields"]?.DeepClone(),
            }),
        };
        var (finalBody, encodeErr) = CJson.TryEncode(body);
        if (finalBody == null) return (null, 500, encodeErr);

        JsonScalars.TryGetString(conf["endpoint"], out var endpoint);
        var (res, err) = await httpc.RequestUriAsync(endpoint ?? "", new JsonObject
        {
            ["method"] = "POST",
            ["headers"] = new JsonObject
            {
                ["Content-Type"] = "application/json",
                ["api-key"] = conf["api_key"]?.DeepClone(),
            },
            ["body"] = finalBody,
            ["ssl_verify"] = sslVerify,
        });
        if (res?.Body == null) return (null, 500, err);

        if (res.Status != 200) return (null, res.Status, res.Body);

        return (res.Body, null, null);
    }
}
