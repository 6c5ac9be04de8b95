// Twin of apisix/plugins/hmac-auth.lua
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// hmac-auth (priority 2530, an auth plugin): the <c>Authorization: Signature keyId="..",
/// algorithm="..",headers="..",signature=".."</c> header names a consumer by its <c>key_id</c>;
/// the request is let through when the base64 signature is the HMAC, with the consumer's
/// <c>secret_key</c>, of the key id and the listed headers (<c>@request-target</c> is the method
/// and URI), the Date is within <c>clock_skew</c>, every <c>signed_headers</c> entry was signed,
/// and (with <c>validate_request_body</c>) the <c>Digest</c> header is the body's SHA-256.
/// </summary>
public sealed partial class HmacAuthPlugin : IPlugin, IRewritePhase
{
    private const string PluginName = "hmac-auth";
    private static readonly string[] AllowedAlgorithms = ["hmac-sha1", "hmac-sha256", "hmac-sha512"];

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["title"] = "work with route or service object",
        ["properties"] = new JsonObject
        {
            ["allowed_algorithms"] = new JsonObject
            {
                ["type"] = "array",
                ["minItems"] = 1,
                ["items"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. AllowedAlgorithms.Select(a => (JsonNode)a)]) },
                ["default"] = new JsonArray([.. AllowedAlgorithms.Select(a => (JsonNode)a)]),
            },
            ["clock_skew"] = new JsonObject { ["type"] = "integer", ["default"] = 300, ["minimum"] = 1 },
            ["signed_headers"] = new JsonObject
            {
                ["type"] = "array",
                ["default"] = new JsonArray("date"),
                ["items"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 50 },
            },
            ["validate_request_body"] = new JsonObject
            {
                ["type"] = "boolean", ["description"] = "whether the Digest header must match the body", ["default"] = false,
            },
            ["max_req_body_size"] = new JsonObject
            {
                ["type"] = "integer", ["minimum"] = 1, ["default"] = 67108864,
                ["description"] = "the largest body read to check its digest; a larger one is answered with 413",
            },
            ["hide_credentials"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["realm"] = AuthSchemaDef.RealmSchema("hmac"),
            ["anonymous_consumer"] = AuthSchemaDef.AnonymousConsumerSchema(),
        },
    };

    private readonly JsonObject _consumerSchema = new()
    {
        ["type"] = "object",
        ["title"] = "work with consumer object",
        ["properties"] = new JsonObject
        {
            ["key_id"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 256 },
            ["secret_key"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 256 },
        },
        ["encrypt_fields"] = new JsonArray("secret_key"),
        ["required"] = new JsonArray("key_id", "secret_key"),
    };

    public string Name => PluginName;
    public int Priority => 2530;
    public double Version => 0.1;
    public string? Type => "auth";
    public JsonNode Schema => _schema;
    public JsonNode? ConsumerSchema => _consumerSchema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) =>
        JsonSchema.Check(type == SchemaType.Consumer ? _consumerSchema : _schema, conf);

    /// <summary>Seconds since the epoch (<c>ngx.time()</c>).</summary>
    public static Func<long> Now { get; set; } = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private sealed class Params
    {
        public string? KeyId, Algorithm, Signature, Date, BodyDigest;
        public List<string>? Headers;
    }

    private static byte[] HmacOf(string algorithm, byte[] key, byte[] message) => algorithm switch
    {
        "hmac-sha1" => HMACSHA1.HashData(key, message),
        "hmac-sha256" => HMACSHA256.HashData(key, message),
        _ => HMACSHA512.HashData(key, message),
    };

    private static string GenerateSignature(ApiCtx ctx, string secretKey, Params p)
    {
        var uri = ctx.Var.GetString("request_uri") ?? "";
        if (uri == "") uri = "/";
        var items = new List<string> { p.KeyId! };
        foreach (var h in p.Headers ?? [])
        {
            var value = CoreRequest.Header(ctx, h);
            if (value == null)
            {
                if (h == "@request-target") items.Add(CoreRequest.GetMethod(ctx) + " " + uri);
            }
            else items.Add(h + ": " + value);
        }
        var signing = string.Join("\n", items) + "\n";
        return ByteString.FromBytes(HmacOf(p.Algorithm!, ByteString.ToBytes(secretKey), ByteString.ToBytes(signing)));
    }

    private static async Task<(ConsumerInfo? Consumer, string? ConfVersion, string? Error, int? Status)> Validate(ApiCtx ctx, JsonObject conf, Params p, Consumer mod)
    {
        if (p.KeyId == null || p.Signature == null) return (null, null, "keyId or signature missing", null);
        if (p.Algorithm == null) return (null, null, "algorithm missing", null);

        var (consumer, consumerConf, err) = mod.FindConsumer(PluginName, "key_id", p.KeyId);
        if (consumer == null) return (null, null, err ?? "Invalid key_id", null);

        var allowed = conf["allowed_algorithms"] as JsonArray;
        var found = allowed == null
            ? AllowedAlgorithms.Contains(p.Algorithm)
            : allowed.Any(a => JsonScalars.TryGetString(a, out var s) && s == p.Algorithm);
        if (!found) return (null, null, "Invalid algorithm", null);

        ctx.Log(LogLevel.Info, "clock_skew: " + (CtxVar.ToVarString(conf["clock_skew"]) ?? "nil"));
        if (JsonScalars.TryGetNumber(conf["clock_skew"], out var skew) && skew > 0)
        {
            if (p.Date == null) return (null, null, "Date header missing. failed to validate clock skew", null);
            long? time = DateTimeOffset.TryParseExact(p.Date, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t.ToUnixTimeSeconds() : null;
            ctx.Log(LogLevel.Info, "params.date: " + p.Date + " time: " + (time?.ToString(CultureInfo.InvariantCulture) ?? "nil"));
            if (time == null) return (null, null, "Invalid GMT format time", null);
            if (Math.Abs(Now() - time.Value) > skew) return (null, null, "Clock skew exceeded", null);
        }

        if (conf["signed_headers"] is JsonArray signed && signed.Count >= 1)
        {
            var signedSet = new HashSet<string>(p.Headers ?? [], StringComparer.Ordinal);
            foreach (var h in signed)
            {
                var name = CtxVar.ToVarString(h) ?? "";
                if (!signedSet.Contains(name)) return (null, null, "expected header \"" + name + "\" missing in signing", null);
            }
        }

        var secretKey = JsonScalars.TryGetString(consumer.AuthConf["secret_key"], out var sk) ? sk : "";
        var requestSignature = ResponseRewritePlugin.DecodeBase64(p.Signature);
        var generated = GenerateSignature(ctx, secretKey, p);
        if (requestSignature != generated) return (null, null, "Invalid signature", null);

        if (JsonScalars.TryGetBoolean(conf["validate_request_body"], out var vb) && vb)
        {
            if (p.BodyDigest == null) return (null, null, "Invalid digest", null);
            long? max = JsonScalars.TryGetNumber(conf["max_req_body_size"], out var m) ? (long)m : null;
            var (body, bodyErr) = await CoreRequest.GetBodyAsync(max, ctx);
            if (bodyErr != null)
            {
                ctx.Log(LogLevel.Error, "failed to read request body: " + bodyErr);
                return (null, null, bodyErr, 413);
            }
            var digest = "SHA-256=" + Convert.ToBase64String(SHA256.HashData(ByteString.ToBytes(body ?? "")));
            if (digest != p.BodyDigest) return (null, null, "Invalid digest", null);
        }
        return (consumer, consumerConf!.ConfVersion, null, null);
    }

    [GeneratedRegex("\\s*([0-9A-Za-z]+)=\"(.*?)\"", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex FieldPattern();

    private static (Params? Params, string? Error) RetrieveHmacFields(ApiCtx ctx)
    {
        var p = new Params();
        var auth = CoreRequest.Header(ctx, "Authorization");
        if (auth == null) return (null, "missing Authorization header");
        if (!auth.StartsWith("Signature", StringComparison.Ordinal)) return (null, "Authorization header does not start with 'Signature'");

        foreach (var field in auth[Math.Min(9, auth.Length)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var m = FieldPattern().Match(field);
            if (!m.Success) continue;
            var (key, value) = (m.Groups[1].Value, m.Groups[2].Value);
            switch (key)
            {
                case "keyId": p.KeyId = value; break;
                case "algorithm": p.Algorithm = value; break;
                case "signature": p.Signature = value; break;
                case "headers": p.Headers = [.. value.Split(' ')]; break;
            }
        }
        p.Date = CoreRequest.Header(ctx, "Date");
        p.BodyDigest = CoreRequest.Header(ctx, "Digest");
        return (p, null);
    }

    /// <summary><c>apisix.utils.auth.is_running_under_multi_auth</c>.</summary>
    private static bool IsRunningUnderMultiAuth(ApiCtx ctx) => ctx.PluginName == "multi-auth";

    private static async Task<(ConsumerInfo? Consumer, string? ConfVersion, string? Error, int? Status)> FindConsumer(JsonObject conf, ApiCtx ctx, Consumer? mod)
    {
        var (p, err) = RetrieveHmacFields(ctx);
        if (err != null)
        {
            if (!IsRunningUnderMultiAuth(ctx)) ctx.Log(LogLevel.Warn, "client request can't be validated: " + err);
            return (null, null, "client request can't be validated: " + err, null);
        }
        var (consumer, confVersion, verr, status) = mod == null
            ? (null, null, "Missing related consumer", null)
            : await Validate(ctx, conf, p!, mod);
        if (consumer == null)
        {
            if (status != null) return (null, null, verr, status);
            var message = "client request can't be validated: " + (verr ?? "Invalid signature");
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, message, null);
            ctx.Log(LogLevel.Warn, message);
            return (null, null, "client request can't be validated", null);
        }
        return (consumer, confVersion, null, null);
    }

    public async ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var mod = Consumer.For(ctx);
        var realm = JsonScalars.TryGetString(conf["realm"], out var r) ? r : "hmac";
        var (consumer, confVersion, err, status) = await FindConsumer(conf, ctx, mod);
        if (consumer == null)
        {
            if (status != null) return new PhaseResult(status, new JsonObject { ["message"] = err });
            if (!JsonScalars.TryGetString(conf["anonymous_consumer"], out var anonymous))
            {
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "hmac realm=\"" + realm + "\"");
                return new PhaseResult(401, new JsonObject { ["message"] = err });
            }
            (consumer, confVersion, err) = mod?.GetAnonymousConsumer(anonymous) ?? (null, null, "failed to get anonymous consumer " + anonymous);
            if (consumer == null)
            {
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "hmac realm=\"" + realm + "\"");
                if (IsRunningUnderMultiAuth(ctx)) return new PhaseResult(401, err);
                ctx.Log(LogLevel.Error, err ?? "nil");
                return new PhaseResult(401, new JsonObject { ["message"] = "Invalid user authorization" });
            }
        }
        if (JsonScalars.TryGetBoolean(conf["hide_credentials"], out var hide) && hide)
            PluginRequest.SetHeader(ctx, "Authorization", null);
        Consumer.AttachConsumer(ctx, consumer, confVersion!);
        return PhaseResult.Continue;
    }
}
