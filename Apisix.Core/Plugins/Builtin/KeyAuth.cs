// Twin of apisix/plugins/key-auth.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// key-auth (priority 2500, an auth plugin): the API key from a header (default <c>apikey</c>)
/// or else a query argument picks the consumer whose key-auth conf has that <c>key</c>; no or an
/// unknown key answers 401 with a <c>WWW-Authenticate</c> header, unless an anonymous consumer
/// is configured.
/// </summary>
public sealed class KeyAuthPlugin : IPlugin, IRewritePhase
{
    private const string PluginName = "key-auth";

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["header"] = new JsonObject { ["type"] = "string", ["default"] = "apikey" },
            ["query"] = new JsonObject { ["type"] = "string", ["default"] = "apikey" },
            ["realm"] = AuthSchemaDef.RealmSchema("key"),
            ["hide_credentials"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["anonymous_consumer"] = AuthSchemaDef.AnonymousConsumerSchema(),
        },
    };

    private readonly JsonObject _consumerSchema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["key"] = new JsonObject { ["type"] = "string" } },
        ["encrypt_fields"] = new JsonArray("key"),
        ["required"] = new JsonArray("key"),
    };

    public string Name => PluginName;
    public int Priority => 2500;
    public double Version => 0.1;
    public string? Type => "auth";
    public JsonNode Schema => _schema;
    public JsonNode? ConsumerSchema => _consumerSchema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        JsonSchema.Check(type == SchemaType.Consumer ? _consumerSchema : _schema, conf);

    private static string Str(JsonObject conf, string name, string def) =>
        JsonScalars.TryGetString(conf[name], out var s) ? s : def;

    private static bool HideCredentials(JsonObject conf) =>
        JsonScalars.TryGetBoolean(conf["hide_credentials"], out var b) && b;

    private (ConsumerInfo? Consumer, string? ConfVersion, string? Error) FindConsumer(ApiCtx ctx, JsonObject conf, Consumer mod)
    {
        var header = Str(conf, "header", "apikey");
        var query = Str(conf, "query", "apikey");
        var fromHeader = true;
        var key = CoreRequest.Header(ctx, header);
        if (key == null)
        {
            var args = PluginRequest.GetUriArgs(ctx);
            key = args[query] switch
            {
                JsonArray a => a.Count > 0 && JsonScalars.TryGetString(a[0], out var first) ? first : null,
                var v when JsonScalars.TryGetString(v, out var s) => s,
                _ => null,
            };
            fromHeader = false;
        }
        if (key == null) return (null, null, "Missing API key in request");

        var (consumer, consumerConf, err) = mod.FindConsumer(PluginName, "key", key);
        if (consumer == null)
        {
            ctx.Log(LogLevel.Warn, "failed to find consumer: " + (err ?? "invalid api key"));
            return (null, null, "Invalid API key in request");
        }

        if (HideCredentials(conf))
        {
            if (fromHeader) PluginRequest.SetHeader(ctx, header, null);
            else
            {
                var args = PluginRequest.GetUriArgs(ctx);
                args.Remove(query);
                PluginRequest.SetUriArgs(ctx, args);
            }
        }
        return (consumer, consumerConf!.ConfVersion, null);
    }

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var mod = Consumer.For(ctx);
        var realm = Str(conf, "realm", "key");
        var (consumer, confVersion, err) = mod == null ? (null, null, "Missing related consumer") : FindConsumer(ctx, conf, mod);
        if (consumer == null)
        {
            if (!JsonScalars.TryGetString(conf["anonymous_consumer"], out var anonymous))
            {
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "apikey realm=\"" + realm + "\"");
                return ValueTask.FromResult(new PhaseResult(401, new JsonObject { ["message"] = err }));
            }
            if (HideCredentials(conf))
            {
                var header = Str(conf, "header", "apikey");
                var query = Str(conf, "query", "apikey");
                if (CoreRequest.Header(ctx, header) != null) PluginRequest.SetHeader(ctx, header, null);
                var args = PluginRequest.GetUriArgs(ctx);
                if (args.ContainsKey(query))
                {
                    args.Remove(query);
                    PluginRequest.SetUriArgs(ctx, args);
                }
            }
            (consumer, confVersion, err) = mod?.GetAnonymousConsumer(anonymous) ?? (null, null, "failed to get anonymous consumer " + anonymous);
            if (consumer == null)
            {
                ctx.Log(LogLevel.Error, "key-auth failed to authenticate the request, code: 401. error: " + err);
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "apikey realm=\"" + realm + "\"");
                return ValueTask.FromResult(new PhaseResult(401, new JsonObject { ["message"] = "Invalid user authorization" }));
            }
        }
        Consumer.AttachConsumer(ctx, consumer, confVersion!);
        ctx.Log(LogLevel.Info, "hit key-auth rewrite");
        return ValueTask.FromResult(PhaseResult.Continue);
    }
}

/// <summary>The auth pieces of <c>apisix/schema_def.lua</c>: the realm and anonymous consumer schemas.</summary>
public static class AuthSchemaDef
{
    /// <summary><c>get_realm_schema(default)</c>: printable ASCII without <c>"</c> and <c>\</c>, 1 to 128 characters.</summary>
    public static JsonObject RealmSchema(string def) => new()
    {
        ["type"] = "string",
        ["pattern"] = "^[\x20-\x21\x23-\x5B\\]-\x7E]+$",
        ["default"] = def,
        ["minLength"] = 1,
        ["maxLength"] = 128,
    };

    /// <summary><c>anonymous_consumer_schema</c>.</summary>
    public static JsonObject AnonymousConsumerSchema() => new() { ["type"] = "string", ["minLength"] = 1 };
}
