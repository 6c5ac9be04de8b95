// Twin of apisix/plugins/ai-rag/embeddings/azure_openai.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.Bridges;

namespace Apisix.Plugins.AiProxy.AiRag.Embeddings;

/// <summary>
/// The Azure OpenAI embeddings driver of ai-rag: posts the client's <c>ai_rag.embeddings</c>
/// object to the configured endpoint (with the <c>api-key</c> header) and hands back the first
/// embedding vector of the answer.
/// </summary>
public static class AzureOpenai
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

    /// <summary><c>_M.request_schema</c>: what the client puts under <c>ai_rag.embeddings</c>.</summary>
    public static JsonObject RequestSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["input"] = new JsonObject { ["type"] = "string" } },
        ["required"] = new JsonArray("input"),
    };

    /// <summary>
    /// <c>_M.get_embeddings(conf, body, httpc, ssl_verify)</c>: the embedding (a JSON value), or
    /// null with the status and the error to answer. Lua returns a nil status (the request then
    /// goes on untouched) when the first item carries no <c>embedding</c>; so does this.
    /// </summary>
    public static async Task<(JsonNode? Embeddings, int? Status, string? Error)> GetEmbeddings(
        JsonObject conf, JsonNode? body, RestyHttpClient httpc, bool sslVerify)
    {
        var (bodyText, encodeErr) = CJson.TryEncode(body);
        if (bodyText == null) return (null, 500, encodeErr);

        JsonScalars.TryGetString(conf["endpoint"], out var endpoint);
        var (res, err) = await httpc.RequestUriAsync(endpoint ?? "", new JsonObject
        {
            ["method"] = "POST",
            ["headers"] = new JsonObject
            {
                ["Content-Type"] = "application/json",
                ["api-key"] = conf["api_key"]?.DeepClone(),
            },
            ["body"] = bodyText,
            ["ssl_verify"] = sslVerify,
        });
        if (res?.Body == null) return (null, 500, err);

        if (res.Status != 200) return (null, res.Status, res.Body);

        var (resTab, decodeErr) = CJson.Decode(res.Body);
        if (resTab == null) return (null, 500, decodeErr);

        // type(res_tab.data) ~= "table" or core.table.isempty(res_tab.data)
        var data = (resTab as JsonObject)?["data"];
        if (data is not (JsonObject or JsonArray) || data is JsonArray { Count: 0 } || data is JsonObject { Count: 0 })
            return (null, 500, res.Body);

        // res_tab.data[1].embedding: an object "data" has no [1] either
        var first = data is JsonArray arr ? arr[0] : null;
        if (first is not JsonObject firstObj)
        {
            if (data is JsonArray && first != null)
                throw new InvalidOperationException("attempt to index field '?' (a " + LuaTypeName(first) + " value)");
            if (data is JsonObject) throw new InvalidOperationException("attempt to index field '?' (a nil value)");
            return (null, null, null);
        }

        var embedding = firstObj["embedding"];
        var (_, embErr) = CJson.TryEncode(embedding);
        if (embErr != null) return (null, 500, embErr);

        return embedding == null ? (null, null, null) : (embedding.DeepClone(), null, null);
    }

    private static string LuaTypeName(JsonNode node) => node.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.String => "string",
        System.Text.Json.JsonValueKind.Number => "number",
        System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
        _ => "userdata",
    };
}
