// Twin of apisix/plugins/ai-request-rewrite.lua
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProviders;
using Apisix.Plugins.AiProxy.AiProxy;
using ProvidersSchema = Apisix.Plugins.AiProxy.AiProviders.Schema;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-request-rewrite (priority 1073): in the access phase, sends the client's body with the
/// configured prompt to an LLM (through the ai-providers, in the provider's own protocol,
/// openai-chat preferred) and replaces the request body with the text the LLM answers. Any
/// failure of the LLM call answers the client 500; a missing body 400.
/// </summary>
public sealed class AiRequestRewritePlugin : IPlugin, IAccessPhase
{
    private const string PluginName = "ai-request-rewrite";

    private static JsonObject AuthItemSchema() => new()
    {
        ["type"] = "object",
        ["patternProperties"] = new JsonObject { ["^[a-zA-Z0-9._-]+$"] = new JsonObject { ["type"] = "string" } },
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["prompt"] = new JsonObject { ["type"] = "string", ["description"] = "The prompt to rewrite client request." },
            ["provider"] = new JsonObject
            {
                ["type"] = "string",
                ["description"] = "Name of the AI service provider.",
                ["enum"] = ProvidersSchema.Providers(),
            },
            ["auth"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["header"] = AuthItemSchema(), ["query"] = AuthItemSchema() },
                ["additionalProperties"] = false,
            },
            ["options"] = new JsonObject
            {
                ["description"] = "Key/value settings for the model",
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["model"] = new JsonObject
                    {
                        ["type"] = "string",
                        ["description"] = "Model to execute. Examples: \"gpt-3.5-turbo\" for openai, "
                            + "\"deepseek-chat\" for deekseek, or \"qwen-turbo\" for openai-compatible services",
                    },
                },
                ["additionalProperties"] = true,
            },
            ["timeout"] = new JsonObject
            {
                ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 60000, ["default"] = 30000,
                ["description"] = "Total timeout in milliseconds for requests to LLM service, "
                    + "including connect, send, and read timeouts.",
            },
            ["keepalive"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["keepalive_pool"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["default"] = 30 },
            ["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["override"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["endpoint"] = new JsonObject
                    {
                        ["type"] = "string",
                        ["description"] = "To be specified to override the endpoint of the AI service provider.",
                    },
                },
            },
        },
        ["required"] = new JsonArray("prompt", "provider", "auth"),
    };

    public string Name => PluginName;
    public int Priority => 1073;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary><c>_M.check_schema(conf)</c>: openai-compatible needs override.endpoint, then the schema.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        if (JsonScalars.TryGetString(conf["provider"], out var provider) && provider == "openai-compatible"
            && conf["override"]?["endpoint"] == null)
            return (false, "override.endpoint is required for openai-compatible provider");
        return JsonSchema.Check(_schema, conf);
    }

    /// <summary><c>request_to_llm(conf, request_table, ctx, target_path)</c>.</summary>
    private static async Task<(int? Status, string? Body, string? Error)> RequestToLlm(
        JsonObject conf, JsonObject requestTable, ApiCtx ctx, string? targetPath)
    {
        JsonScalars.TryGetString(conf["provider"], out var provider);
        var aiProvider = Providers.Require(provider);
        if (aiProvider == null) return (null, null, "failed to load ai-provider: " + provider);

        var extraOpts = new ExtraOpts
        {
            Endpoint = JsonScalars.TryGetString(conf["override"]?["endpoint"], out var ep) ? ep : null,
            Auth = conf["auth"] as JsonObject,
            ModelOptions = conf["options"] as JsonObject,
            TargetPath = targetPath,
        };
        var ai = AiCtx.For(ctx);
        ai.RequestStartTime = AiCtx.Now();
        ctx.Var["llm_request_body"] = requestTable;
        ai.RequestBodyChanged = true;
        var (status, body, err) = await aiProvider.RequestAsync(ctx, conf, requestTable, extraOpts);
        return (status, body, err);
    }

    /// <summary><c>get_provider_protocol(conf, ctx)</c>: the protocol to speak (openai-chat first) and its path.</summary>
    private static (IAiProtocol? Proto, string? TargetPath, string? Error) GetProviderProtocol(JsonObject conf, ApiCtx ctx)
    {
        JsonScalars.TryGetString(conf["provider"], out var provider);
        var aiProvider = Providers.Require(provider);
        if (aiProvider == null) return (null, null, "failed to load provider: " + provider);
        var caps = aiProvider.Capabilities;
        var protoName = caps.ContainsKey("openai-chat") ? "openai-chat" : caps.Keys.FirstOrDefault();
        if (protoName == null) return (null, null, "provider " + provider + " has no capabilities");
        string? targetPath = null;
        if (caps.TryGetValue(protoName, out var cap) && cap.Path != null)
            targetPath = cap.Path(conf, AiCtx.For(ctx).Protocol);
        return (Init.Get(protoName), targetPath, null);
    }

    /// <summary><c>_M.access(conf, ctx)</c>.</summary>
    public async ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var (clientBody, err) = await CoreRequest.GetBodyAsync(null, ctx);
        if (err != null)
        {
            ctx.Log(LogLevel.Warn, "failed to get request body: " + err);
            return new PhaseResult(400);
        }
        if (clientBody == null)
        {
            ctx.Log(LogLevel.Warn, "missing request body");
            return new PhaseResult(400);
        }

        var (proto, targetPath, protoErr) = GetProviderProtocol(conf, ctx);
        if (proto == null)
        {
            ctx.Log(LogLevel.Error, protoErr ?? "");
            return new PhaseResult(500);
        }

        JsonScalars.TryGetString(conf["prompt"], out var prompt);
        var aiRequestTable = proto.BuildSimpleRequest(prompt, clientBody, conf["options"] as JsonObject);

        var (status, rawBody, reqErr) = await RequestToLlm(conf, aiRequestTable, ctx, targetPath);
        if (reqErr != null)
        {
            ctx.Log(LogLevel.Error, "failed to request LLM: " + reqErr);
            return new PhaseResult(500);
        }
        if (status != 200)
        {
            ctx.Log(LogLevel.Error, "LLM service returned error status: " + (status?.ToString() ?? "nil"));
            return new PhaseResult(500);
        }

        var (responseTable, decodeErr) = CJson.Decode(rawBody ?? "");
        if (responseTable == null)
        {
            ctx.Log(LogLevel.Error, "failed to decode LLM response: " + (decodeErr ?? "nil"));
            return new PhaseResult(500);
        }

        var content = proto.ExtractResponseText(responseTable);
        if (content == null)
        {
            ctx.Log(LogLevel.Error, "failed to extract text from LLM response");
            return new PhaseResult(500);
        }

        CoreRequest.SetBodyData(ctx, content);
        return PhaseResult.Continue;
    }
}
