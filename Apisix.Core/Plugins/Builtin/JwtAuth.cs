// Twin of apisix/plugins/jwt-auth.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins.Builtin.JwtAuthImpl;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// jwt-auth (priority 2510, an auth plugin): a JWT from a header (default
/// <c>Authorization</c>, with or without <c>Bearer </c>), else a query argument, else a cookie
/// (both default <c>jwt</c>) names a consumer by the claim <c>key_claim_name</c> (<c>key</c>);
/// the token must use the consumer's algorithm, carry a valid signature (its <c>secret</c>, or
/// <c>public_key</c> for the asymmetric algorithms) and pass the exp/nbf checks.
/// </summary>
public sealed class JwtAuthPlugin : IPlugin, IRewritePhase
{
    private const string PluginName = "jwt-auth";

    private static readonly string[] AsymmetricAlgorithms =
        ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"];

    private static JsonArray Names(IEnumerable<string> names) => new([.. names.Select(n => (JsonNode)n)]);

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["header"] = new JsonObject { ["type"] = "string", ["default"] = "authorization" },
            ["query"] = new JsonObject { ["type"] = "string", ["default"] = "jwt" },
            ["cookie"] = new JsonObject { ["type"] = "string", ["default"] = "jwt" },
            ["hide_credentials"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["key_claim_name"] = new JsonObject { ["type"] = "string", ["default"] = "key", ["minLength"] = 1 },
            ["store_in_ctx"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["realm"] = AuthSchemaDef.RealmSchema("jwt"),
            ["anonymous_consumer"] = AuthSchemaDef.AnonymousConsumerSchema(),
            ["claims_to_verify"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("exp", "nbf") },
                ["uniqueItems"] = true,
            },
        },
    };

    private readonly JsonObject _consumerSchema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["key"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["secret"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            ["algorithm"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = Names(["HS256", "HS384", "HS512", .. AsymmetricAlgorithms]),
                ["default"] = "HS256",
            },
            ["exp"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["default"] = 86400 },
            ["base64_secret"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["lifetime_grace_period"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["default"] = 0 },
        },
        ["dependencies"] = new JsonObject
        {
            ["algorithm"] = new JsonObject
            {
                ["oneOf"] = new JsonArray(
                    new JsonObject
                    {
                        ["properties"] = new JsonObject
                        {
                            ["algorithm"] = new JsonObject { ["enum"] = new JsonArray("HS256", "HS384", "HS512"), ["default"] = "HS256" },
                        },
                    },
                    new JsonObject
                    {
                        ["properties"] = new JsonObject
                        {
                            ["public_key"] = new JsonObject { ["type"] = "string", ["minLength"] = 1 },
                            ["algorithm"] = new JsonObject { ["enum"] = Names(AsymmetricAlgorithms) },
                        },
                        ["required"] = new JsonArray("public_key"),
                    }),
            },
        },
        ["encrypt_fields"] = new JsonArray("secret"),
        ["required"] = new JsonArray("key"),
    };

    public string Name => PluginName;
    public int Priority => 2510;
    public double Version => 0.1;
    public string? Type => "auth";
    public JsonNode Schema => _schema;
    public JsonNode? ConsumerSchema => _consumerSchema;

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    private static bool Flag(JsonObject conf, string name) => JsonScalars.TryGetBoolean(conf[name], out var b) && b;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        if (type != SchemaType.Consumer) return JsonSchema.Check(_schema, conf);
        var (ok, err) = JsonSchema.Check(_consumerSchema, conf);
        if (!ok) return (false, err);

        var algorithm = Str(conf["algorithm"]) ?? "HS256";
        var isHs = algorithm.StartsWith("HS", StringComparison.Ordinal);
        if (isHs && conf["secret"] == null)
            return (false, "property \"secret\" is required when using HS based algorithms");
        if (Flag(conf, "base64_secret") && !SecretRef.IsSecretRef(conf["secret"], null)
            && ResponseRewritePlugin.DecodeBase64(Str(conf["secret"]) ?? "") == null)
            return (false, "base64_secret required but the secret is not in base64 format");
        if (!isHs && conf["public_key"] == null) return (false, "missing valid public key");
        return (true, null);
    }

    /// <summary><c>remove_specified_cookie</c>: the Cookie header without the named cookie.</summary>
    private static string RemoveSpecifiedCookie(string src, string key)
    {
        var kept = new List<string>();
        var pattern = "([a-zA-Z0-9-_]*)=([a-zA-Z0-9-._]*)";
        var pos = 0;
        while (pos <= src.Length)
        {
            var m = OpenResty.Libs.NgxRegex.Get(pattern, "jo").Regex!.Regex.Match(src, pos);
            if (!m.Success) break;
            if (m.Groups[1].Value != key) kept.Add(m.Value);
            pos = m.Length == 0 ? m.Index + 1 : m.Index + m.Length;
        }
        return string.Join("; ", kept);
    }

    private static (string? Token, string? Error) FetchJwtToken(JsonObject conf, ApiCtx ctx)
    {
        var header = Str(conf["header"]) ?? "authorization";
        var token = CoreRequest.Header(ctx, header);
        if (token != null)
        {
            if (Flag(conf, "hide_credentials")) PluginRequest.SetHeader(ctx, header, null);
            var prefix = token.Length >= 7 ? token[..7] : token;
            return prefix is "Bearer " or "bearer " ? (token[7..], null) : (token, null);
        }

        var query = Str(conf["query"]) ?? "jwt";
        var args = PluginRequest.GetUriArgs(ctx);
        var arg = args[query] switch
        {
            JsonArray a => a.Count > 0 ? Str(a[0]) : null,
            var v => Str(v),
        };
        if (arg != null)
        {
            if (Flag(conf, "hide_credentials"))
            {
                args.Remove(query);
                PluginRequest.SetUriArgs(ctx, args);
            }
            return (arg, null);
        }

        var cookie = Str(conf["cookie"]) ?? "jwt";
        var val = ctx.Var.GetString("cookie_" + cookie);
        if (val == null) return (null, "JWT not found in cookie");
        if (Flag(conf, "hide_credentials"))
            PluginRequest.SetHeader(ctx, "Cookie", RemoveSpecifiedCookie(CoreRequest.Header(ctx, "Cookie") ?? "", cookie));
        return (val, null);
    }

    /// <summary><c>get_auth_secret</c>: the (maybe base64) secret for HS, else the public key.</summary>
    private static string? GetAuthSecret(JsonObject authConf)
    {
        var algorithm = Str(authConf["algorithm"]);
        if (algorithm == null || algorithm.StartsWith("HS", StringComparison.Ordinal))
        {
            var secret = Str(authConf["secret"]);
            return Flag(authConf, "base64_secret") && secret != null ? ResponseRewritePlugin.DecodeBase64(secret) : secret;
        }
        return Str(authConf["public_key"]);
    }

    /// <summary><c>apisix.utils.auth.is_running_under_multi_auth</c>.</summary>
    private static bool IsRunningUnderMultiAuth(ApiCtx ctx) => ctx.PluginName == "multi-auth";

    private static (ConsumerInfo? Consumer, string? ConfVersion, string? Error) FindConsumer(JsonObject conf, ApiCtx ctx, Consumer? mod)
    {
        var (token, fetchErr) = FetchJwtToken(conf, ctx);
        if (token == null)
        {
            ctx.Log(LogLevel.Info, "failed to fetch JWT token: " + (fetchErr ?? "nil"));
            return (null, null, "Missing JWT token in request");
        }

        var (jwt, err) = JwtParser.New(token);
        if (jwt == null)
        {
            var message = "JWT token invalid: " + err;
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, message);
            ctx.Log(LogLevel.Warn, message);
            return (null, null, "JWT token invalid");
        }
        var keyClaimName = Str(conf["key_claim_name"]) ?? "key";
        ctx.Log(LogLevel.Debug, "parsed jwt alg: " + (jwt.Alg ?? "nil") + ", key claim name: " + keyClaimName);

        var userKeyNode = (jwt.Payload as JsonObject)?[keyClaimName];
        if (userKeyNode == null || (JsonScalars.TryGetBoolean(userKeyNode, out var ub) && !ub))
            return (null, null, "missing user key in JWT token");
        var userKey = CtxVar.ToVarString(userKeyNode) ?? "";

        var (consumer, consumerConf, findErr) = mod?.FindConsumer(PluginName, "key", userKey) ?? (null, null, "Missing related consumer");
        if (consumer == null)
        {
            ctx.Log(LogLevel.Warn, "failed to find consumer: " + (findErr ?? "invalid user key"));
            return (null, null, "Invalid user key in JWT token");
        }

        var authSecret = GetAuthSecret(consumer.AuthConf);
        if (authSecret == null)
        {
            var message = "failed to retrieve secrets, err: nil";
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, message);
            ctx.Log(LogLevel.Error, message);
            return (null, null, "failed to verify jwt");
        }

        var expected = Str(consumer.AuthConf["algorithm"]) ?? "HS256";
        if (jwt.Alg != expected)
        {
            var message = "failed to verify jwt: algorithm mismatch, expected " + expected;
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, message);
            ctx.Log(LogLevel.Warn, message);
            return (null, null, "failed to verify jwt");
        }

        var (verified, _) = jwt.VerifySignature(authSecret);
        if (!verified)
        {
            var message = "failed to verify jwt: signature mismatch: " + jwt.Signature;
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, message);
            ctx.Log(LogLevel.Warn, message);
            return (null, null, "failed to verify jwt");
        }

        var grace = JsonScalars.TryGetNumber(consumer.AuthConf["lifetime_grace_period"], out var g) ? g : 0;
        var (ok, claimErr) = jwt.VerifyClaims(conf["claims_to_verify"] as JsonArray, grace);
        if (!ok)
        {
            var message = "failed to verify jwt: " + claimErr;
            if (IsRunningUnderMultiAuth(ctx)) return (null, null, message);
            ctx.Log(LogLevel.Error, message);
            return (null, null, "failed to verify jwt");
        }

        if (Flag(conf, "store_in_ctx")) ctx.Items["jwt_auth_payload"] = jwt.Payload;
        return (consumer, consumerConf!.ConfVersion, null);
    }

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var mod = Consumer.For(ctx);
        var realm = Str(conf["realm"]) ?? "jwt";
        var (consumer, confVersion, err) = FindConsumer(conf, ctx, mod);
        if (consumer == null)
        {
            if (Str(conf["anonymous_consumer"]) is not { } anonymous)
            {
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "Bearer realm=\"" + realm + "\"");
                return ValueTask.FromResult(new PhaseResult(401, new JsonObject { ["message"] = err }));
            }
            (consumer, confVersion, err) = mod?.GetAnonymousConsumer(anonymous) ?? (null, null, "failed to get anonymous consumer " + anonymous);
            if (consumer == null)
            {
                ctx.Log(LogLevel.Error, "jwt-auth failed to authenticate the request, code: 401. error: " + err);
                CoreResponse.SetHeader(ctx, "WWW-Authenticate", "Bearer realm=\"" + realm + "\"");
                return ValueTask.FromResult(new PhaseResult(401, new JsonObject { ["message"] = "Invalid user authorization" }));
            }
        }
        ctx.Log(LogLevel.Info, "consumer: " + (consumer.Username ?? "nil"));
        Consumer.AttachConsumer(ctx, consumer, confVersion!);
        ctx.Log(LogLevel.Info, "hit jwt-auth rewrite");
        return ValueTask.FromResult(PhaseResult.Continue);
    }
}
