// Twin of apisix/plugins/basic-auth.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// basic-auth (priority 2520, an auth plugin): <c>Authorization: Basic base64(user:password)</c>
/// picks the consumer whose basic-auth conf has that username, and the password must match.
/// </summary>
public sealed class BasicAuthPlugin : IPlugin, IRewritePhase
{
    private const string PluginName = "basic-auth";

    // upstream puts anonymous_consumer beside "properties", so the schema does not declare it
    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["title"] = "work with route or service object",
        ["properties"] = new JsonObject
        {
            ["hide_credentials"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["realm"] = AuthSchemaDef.RealmSchema("basic"),
        },
        ["anonymous_consumer"] = AuthSchemaDef.AnonymousConsumerSchema(),
    };

    private readonly JsonObject _consumerSchema = new()
    {
        ["type"] = "object",
        ["title"] = "work with consumer object",
        ["properties"] = new JsonObject
        {
            ["username"] = new JsonObject { ["type"] = "string" },
            ["password"] = new JsonObject { ["type"] = "string" },
        },
        ["encrypt_fields"] = new JsonArray("password"),
        ["required"] = new JsonArray("username", "password"),
    };

    public string Name => PluginName;
    public int Priority => 2520;
    public double Version => 0.1;
    public string? Type => "auth";
    public JsonNode Schema => _schema;
    public JsonNode? ConsumerSchema => _consumerSchema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        JsonSchema.Check(type == SchemaType.Consumer ? _consumerSchema : _schema, conf);

    /// <summary><c>extract_auth_header</c>: (username, password) with whitespace removed, or the error.</summary>
    public static (string? Username, string? Password, string? Error) ExtractAuthHeader(string authorization)
    {
        var (m, err) = PluginRegex.Match(authorization, @"(?i:basic)\s(.+)");
        if (err != null) return ("", "", err);
        if (m == null) return ("", "", "Invalid authorization header format");
        var decoded = DecodeBase64(m[1]!);
        if (decoded == null) return ("", "", "Failed to decode authentication header: " + m[1]);
        var parts = decoded.Split(':');
        if (parts.Length < 2) return ("", "", "Split authorization err: invalid decoded data: " + decoded);
        static string NoSpace(string s) => System.Text.RegularExpressions.Regex.Replace(s, @"[ \t\r\n\f\v]+", "");
        return (NoSpace(parts[0]), NoSpace(parts[1]), null);
    }

    /// <summary><c>ngx.decode_base64</c>: standard alphabet, padding optional; null when invalid.</summary>
    private static string? DecodeBase64(string s)
    {
        var t = s.TrimEnd('=');
        if (t.Length % 4 == 1) return null;
        foreach (var c in t)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '+' || c == '/')) return null;
        t = t.PadRight(t.Length + (4 - t.Length % 4) % 4, '=');
        try
        {
            return ByteString.FromBytes(Convert.FromBase64String(t));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private (ConsumerInfo? Consumer, string? ConfVersion, string? Error) FindConsumer(ApiCtx ctx, Consumer? mod)
    {
        var header = CoreRequest.Header(ctx, "Authorization");
        if (header == null) return (null, null, "Missing authorization in request");
        var (username, password, err) = ExtractAuthHeader(header);
        if (err != null)
        {
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, err);
            ctx.Log(LogLevel.Warn, err);
            return (null, null, "Invalid authorization in request");
        }
        var (consumer, conf, findErr) = mod?.FindConsumer(PluginName, "username", username!) ?? (null, null, "Missing related consumer");
        if (consumer == null)
        {
            var msg = "failed to find user: " + (findErr ?? "invalid user");
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, msg);
            ctx.Log(LogLevel.Warn, msg);
            return (null, null, "Invalid user authorization");
        }
        if (!JsonScalars.TryGetString(consumer.AuthConf["password"], out var expected) || expected != password)
            return (null, null, "Invalid user authorization");
        return (consumer, conf!.ConfVersion, null);
    }

    /// <summary><c>apisix.utils.auth.is_running_under_multi_auth</c>.</summary>
    private static bool IsRunningUnderMultiAuth(ApiCtx ctx) => ctx.PluginName != PluginName && ctx.PluginName == "multi-auth";

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var mod = Consumer.For(ctx);
        var realm = JsonScalars.TryGetString(conf["realm"], out var r) ? r : "basic";
        var (consumer, confVersion, err) = FindConsumer(ctx, mod);
        if (consumer == null)
        {
            if (!JsonScalars.TryGetString(conf["anonymous_consumer"], out var anonymous))
            {
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "Basic realm=\"" + realm + "\"");
                return ValueTask.FromResult(new PhaseResult(401, new JsonObject { ["message"] = err }));
            }
            (consumer, confVersion, err) = mod?.GetAnonymousConsumer(anonymous) ?? (null, null, "failed to get anonymous consumer " + anonymous);
            if (consumer == null)
            {
                ctx.Log(LogLevel.Error, "basic-auth failed to authenticate the request, code: 401. error: " + err);
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "Basic realm=\"" + realm + "\"");
                return ValueTask.FromResult(new PhaseResult(401, new JsonObject { ["message"] = "Invalid user authorization" }));
            }
        }
        if (JsonScalars.TryGetBoolean(conf["hide_credentials"], out var hide) && hide)
            PluginRequest.SetHeader(ctx, "Authorization", null);
        Consumer.AttachConsumer(ctx, consumer, confVersion!);
        ctx.Log(LogLevel.Info, "hit basic-auth access");
        return ValueTask.FromResult(PhaseResult.Continue);
    }
}
