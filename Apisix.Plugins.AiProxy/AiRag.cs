// Twin of apisix/plugins/ai-rag.lua
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;
using Apisix.Plugins.AiProxy.AiProxy;
using Apisix.Plugins.AiProxy.AiRag.Embeddings;
using Apisix.Plugins.AiProxy.AiRag.VectorSearch;
using Apisix.Plugins.AiProxy.Bridges;
using Protocols = Apisix.Plugins.AiProxy.AiProtocols.Init;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-rag (priority 1060): in the access phase, takes <c>ai_rag</c> out of the client's JSON
/// body, asks the embeddings provider (Azure OpenAI) for the vector of
/// <c>ai_rag.embeddings</c>, runs a vector search (Azure AI Search) with it, and adds the search
/// result to the request as one more user message, through the detected AI protocol.
/// </summary>
public sealed class AiRagPlugin : IPlugin, IAccessPhase
{
    private const string PluginName = "ai-rag";

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["embeddings_provider"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["azure_openai"] = AzureOpenai.Schema() },
                // one provider for now; the object leaves room for more
                ["required"] = new JsonArray("azure_openai"),
                ["maxProperties"] = 1,
            },
            ["vector_search_provider"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["azure_ai_search"] = AzureAiSearch.Schema() },
                ["required"] = new JsonArray("azure_ai_search"),
                ["maxProperties"] = 1,
            },
        },
        ["required"] = new JsonArray("embeddings_provider", "vector_search_provider"),
        ["encrypt_fields"] = new JsonArray(
            "embeddings_provider.azure_openai.api_key",
            "vector_search_provider.azure_ai_search.api_key"),
    };

    // request_schema, with the two drivers' request schemas in place (Lua fills them per call;
    // with one driver of each kind they are always these)
    private static readonly JsonObject RequestSchema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["ai_rag"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["vector_search"] = AzureAiSearch.RequestSchema(),
                    ["embeddings"] = AzureOpenai.RequestSchema(),
                },
                ["required"] = new JsonArray("vector_search", "embeddings"),
            },
        },
    };

    private static readonly string[] HttpsFields =
    [
        "embeddings_provider.azure_openai.endpoint",
        "vector_search_provider.azure_ai_search.endpoint",
    ];

    public string Name => PluginName;
    public int Priority => 1060;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary>
    /// <c>_M.check_schema(conf)</c>: the TLS warnings of core.utils (computed; there is no request
    /// here to log them on), then the schema.
    /// </summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        CoreUtils.CheckTlsBool(["ssl_verify"], conf, PluginName);
        CoreUtils.CheckHttps(HttpsFields, conf, PluginName);
        return JsonSchema.Check(_schema, conf);
    }

    /// <summary><c>_M.access(conf, ctx)</c>.</summary>
    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var (httpc, newErr) = await RestyHttpClient.NewAsync(ctx);
        if (httpc == null) throw new InvalidOperationException(newErr);
        using var _ = httpc;
        var sslVerify = !(JsonScalars.TryGetBoolean(conf["ssl_verify"], out var sv) && !sv);

        var (bodyTab, err) = await CoreRequest.GetJsonRequestBodyTableAsync(ctx);
        if (bodyTab == null) return new PhaseResult(400, err);
        if (bodyTab is not (JsonObject or JsonArray))
            throw new InvalidOperationException($"attempt to index local 'body_tab' (a {LuaType(bodyTab)} value)");
        if (bodyTab is not JsonObject body || body["ai_rag"] == null)
        {
            ctx.Log(LogLevel.Error, "request body must have \"ai-rag\" field");
            return new PhaseResult(400);
        }

        // next(conf.embeddings_provider) / next(conf.vector_search_provider): the one provider
        var embeddingsProviderConf = (JsonObject)conf["embeddings_provider"]!["azure_openai"]!;
        var vectorSearchProviderConf = (JsonObject)conf["vector_search_provider"]!["azure_ai_search"]!;

        var (ok, schemaErr) = JsonSchema.Check(RequestSchema, body);
        if (!ok)
        {
            ctx.Log(LogLevel.Error, "request body fails schema check: " + schemaErr);
            return new PhaseResult(400);
        }

        var aiRag = (JsonObject)body["ai_rag"]!;
        var (embeddings, status, embErr) = await AzureOpenai.GetEmbeddings(
            embeddingsProviderConf, aiRag["embeddings"], httpc, sslVerify);
        if (embeddings == null)
        {
            ctx.Log(LogLevel.Error, "could not get embeddings: " + (embErr ?? "nil"));
            return Exit(status, embErr);
        }

        var searchBody = (JsonObject)aiRag["vector_search"]!;
        searchBody["embeddings"] = embeddings;
        var (res, searchStatus, searchErr) = await AzureAiSearch.Search(
            vectorSearchProviderConf, searchBody, httpc, sslVerify);
        if (res == null)
        {
            ctx.Log(LogLevel.Error, "could not get vector_search result: " + (searchErr ?? "nil"));
            return Exit(searchStatus, searchErr);
        }

        // ai_rag has served its purpose, and an LLM would reject the unknown field
        body.Remove("ai_rag");

        Protocols.AppendMessages(body, AiCtx.For(ctx).Protocol,
            new JsonArray(new JsonObject { ["role"] = "user", ["content"] = res }));

        var (reqBodyJson, encodeErr) = CJson.TryEncode(body);
        if (reqBodyJson == null) return new PhaseResult(500, encodeErr);

        CoreRequest.SetBodyData(ctx, reqBodyJson);
        return PhaseResult.Continue;
    }

    // `return status, err`: with no status and no error the request goes on, as in Lua
    private static PhaseResult Exit(int? status, string? err) =>
        status == null && err == null ? PhaseResult.Continue : new PhaseResult(status, err);

    private static string LuaType(JsonNode node) => node.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.String => "string",
        System.Text.Json.JsonValueKind.Number => "number",
        System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
        _ => "userdata",
    };
}
