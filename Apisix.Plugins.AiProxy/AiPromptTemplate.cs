// Twin of apisix/plugins/ai-prompt-template.lua
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using Apisix.Core.Schema;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// ai-prompt-template (priority 1071): the client names one of the configured templates
/// (<c>template_name</c>) and sends the values for its <c>{{ }}</c> fields; the plugin renders
/// the template through body-transformer (the request body, JSON, is the template's input) and
/// the rendered JSON becomes the request body.
/// </summary>
public sealed class AiPromptTemplatePlugin : IPlugin, IRewritePhase
{
    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["templates"] = new JsonObject
            {
                ["type"] = "array",
                ["minItems"] = 1,
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["name"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
                        ["template"] = new JsonObject
                        {
                            ["type"] = "object",
                            ["properties"] = new JsonObject
                            {
                                ["model"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
                                ["messages"] = new JsonObject
                                {
                                    ["type"] = "array",
                                    ["minItems"] = 1,
                                    ["items"] = AiPromptDecoratorPlugin.PromptSchema(),
                                },
                            },
                        },
                    },
                    ["required"] = new JsonArray("name", "template"),
                },
            },
        },
        ["required"] = new JsonArray("templates"),
    };

    public string Name => "ai-prompt-template";
    public int Priority => 1071;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary><c>_M.check_schema(conf)</c>.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    /// <summary><c>find_template(conf, template_name)</c>: the named template's body, or null.</summary>
    private static JsonNode? FindTemplate(JsonObject conf, string name)
    {
        foreach (var t in conf["templates"] as JsonArray ?? [])
        {
            if (JsonScalars.TryGetString(t?["name"], out var n) && n == name) return t!["template"];
        }
        return null;
    }

    /// <summary><c>_M.rewrite(conf, ctx)</c>.</summary>
    public async ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var (bodyTab, err) = await AiPromptDecoratorPlugin.GetRequestBodyTable(ctx);
        if (bodyTab == null) return new PhaseResult(400, err);

        var nameNode = bodyTab is JsonObject o ? o["template_name"] : null;
        if (nameNode == null)
            return new PhaseResult(400, new JsonObject { ["message"] = "template name is missing in request." });
        var templateName = JsonScalars.TryGetString(nameNode, out var str) ? str
            : JsonScalars.TryGetNumber(nameNode, out var num) ? LuaNumber.ToLuaString(num) : CJson.Encode(nameNode);

        var template = FindTemplate(conf, templateName);
        if (template == null)
            return new PhaseResult(400, new JsonObject { ["message"] = "template: " + templateName + " not configured." });

        var templateJson = CJson.Encode(template);
        ctx.Log(LogLevel.Info, "sending template to body_transformer, name: " + templateName);
        return await new BodyTransformerPlugin().RewriteAsync(new JsonObject
        {
            ["request"] = new JsonObject { ["template"] = templateJson, ["input_format"] = "json" },
        }, ctx);
    }
}
