// Twin of apisix/plugins/ai-prompt-decorator.lua
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;
using Apisix.Plugins.AiProxy.AiProxy;
using Protocols = Apisix.Plugins.AiProxy.AiProtocols.Init;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-prompt-decorator (priority 1070): in the rewrite phase, puts configured messages before
/// (<c>prepend</c>) and after (<c>append</c>) the ones the client sent, through the detected AI
/// protocol (openai-chat when none matches), and replaces the request body with the result.
/// </summary>
public sealed class AiPromptDecoratorPlugin : IPlugin, IRewritePhase
{
    /// <summary>One <c>{role, content}</c> message of a prompt list (also used by ai-prompt-template).</summary>
    internal static JsonObject PromptSchema() => new()
    {
        ["properties"] = new JsonObject
        {
            ["role"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("system", "user", "assistant"),
            },
            ["content"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
        },
        ["required"] = new JsonArray("role", "content"),
    };

    private static JsonObject Prompts() => new() { ["type"] = "array", ["items"] = PromptSchema() };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["prepend"] = Prompts(), ["append"] = Prompts() },
        ["anyOf"] = new JsonArray(
            new JsonObject { ["required"] = new JsonArray("prepend") },
            new JsonObject { ["required"] = new JsonArray("append") },
            new JsonObject { ["required"] = new JsonArray("append", "prepend") }),
    };

    public string Name => "ai-prompt-decorator";
    public int Priority => 1070;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary><c>_M.check_schema(conf)</c>: the schema alone.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    /// <summary>
    /// <c>get_request_body_table()</c>: the raw body decoded as JSON, or the error table the
    /// phase answers with (status 400).
    /// </summary>
    internal static async Task<(JsonNode? Body, JsonObject? Error)> GetRequestBodyTable(ApiCtx ctx)
    {
        var (body, err) = await CoreRequest.GetBodyAsync(null, ctx);
        if (body == null)
            return (null, new JsonObject { ["message"] = "could not get body: " + (err ?? "request body is empty") });
        var (tab, decodeErr) = CJson.Decode(body);
        if (tab == null)
            return (null, new JsonObject { ["message"] = "could not parse JSON request body: " + (decodeErr ?? "invalid JSON") });
        return (tab, null);
    }

    /// <summary><c>_M.rewrite(conf, ctx)</c>.</summary>
    public async ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var (bodyTab, err) = await GetRequestBodyTable(ctx);
        if (bodyTab == null) return new PhaseResult(400, err);

        var protocolCtx = AiCtx.For(ctx).Protocol;
        // the conf is shared by every request of the route: hand the protocol copies
        Protocols.PrependMessages(bodyTab, protocolCtx, conf["prepend"]?.DeepClone() as JsonArray);
        Protocols.AppendMessages(bodyTab, protocolCtx, conf["append"]?.DeepClone() as JsonArray);

        var (newBody, encodeErr) = CJson.TryEncode(bodyTab);
        if (newBody == null)
            return new PhaseResult(500, new JsonObject { ["message"] = "failed to parse modified JSON request body: " + encodeErr });

        CoreRequest.SetBodyData(ctx, newBody);
        return PhaseResult.Continue;
    }
}
