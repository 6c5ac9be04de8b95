// Twin of apisix/plugins/csrf.lua
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// csrf (priority 2980): every response sets a signed token cookie (<c>name</c>, default
/// <c>apisix-csrf-token</c>); an unsafe request (not GET, HEAD or OPTIONS) must send the same
/// token in a header and in the cookie, signed with <c>key</c> and not older than <c>expires</c>
/// seconds, or it is refused with 401.
/// </summary>
public sealed class CsrfPlugin : IPlugin, IAccessPhase, IHeaderFilterPhase
{
    private static readonly string[] SafeMethods = ["GET", "HEAD", "OPTIONS"];

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["key"] = new JsonObject { ["description"] = "secret the token signature is made with", ["type"] = "string" },
            ["expires"] = new JsonObject { ["description"] = "token lifetime in seconds", ["type"] = "integer", ["default"] = 7200 },
            ["name"] = new JsonObject { ["description"] = "cookie and header name of the token", ["type"] = "string", ["default"] = "apisix-csrf-token" },
        },
        ["encrypt_fields"] = new JsonArray("key"),
        ["required"] = new JsonArray("key"),
    };

    public string Name => "csrf";
    public int Priority => 2980;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(_schema, conf);

    /// <summary>Where the token's random part comes from (Lua's <c>math.random()</c>).</summary>
    public static Func<double> Random { get; set; } = () => System.Random.Shared.NextDouble();

    /// <summary>Seconds since the epoch (<c>ngx.time()</c>).</summary>
    public static Func<long> Now { get; set; } = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static string Key(JsonObject conf) => JsonScalars.TryGetString(conf["key"], out var k) ? k : "";
    private static string TokenName(JsonObject conf) => JsonScalars.TryGetString(conf["name"], out var n) ? n : "apisix-csrf-token";
    private static double Expires(JsonObject conf) => JsonScalars.TryGetNumber(conf["expires"], out var e) ? e : 7200;

    /// <summary><c>gen_sign</c>: hex SHA-256 of the three parts, numbers printed as Lua prints them.</summary>
    private static string GenSign(string random, string expires, string key)
    {
        var sign = "{expires:" + expires + ",random:" + random + ",key:" + key + "}";
        return Convert.ToHexStringLower(SHA256.HashData(ByteString.ToBytes(sign)));
    }

    private static string GenCsrfToken(JsonObject conf)
    {
        var random = Random();
        var timestamp = Now();
        var sign = GenSign(LuaNumber.ToLuaString(random), timestamp.ToString(CultureInfo.InvariantCulture), Key(conf));
        var token = new JsonObject
        {
            ["random"] = CJson.NumberNode(random),
            ["expires"] = CJson.NumberNode(timestamp),
            ["sign"] = sign,
        };
        return Convert.ToBase64String(ByteString.ToBytes(CJson.Encode(token)));
    }

    private static bool CheckCsrfToken(JsonObject conf, ApiCtx ctx, string token)
    {
        var tokenStr = ResponseRewritePlugin.DecodeBase64(token);
        if (tokenStr == null)
        {
            ctx.Log(LogLevel.Error, "csrf token base64 decode error");
            return false;
        }
        var (decoded, err) = CJson.Decode(tokenStr);
        if (err != null)
        {
            ctx.Log(LogLevel.Error, "decode token error: " + err);
            return false;
        }
        if (decoded is not JsonObject table)
        {
            // indexing a non-table raises in Lua: the request fails
            throw new InvalidOperationException("attempt to index a " + (decoded == null ? "nil" : "non-table") + " value");
        }
        var random = table["random"];
        if (random == null || (JsonScalars.TryGetBoolean(random, out var rb) && !rb))
        {
            ctx.Log(LogLevel.Error, "no random in token");
            return false;
        }
        var expires = table["expires"];
        if (expires == null || (JsonScalars.TryGetBoolean(expires, out var eb) && !eb))
        {
            ctx.Log(LogLevel.Error, "no expires in token");
            return false;
        }
        var confExpires = Expires(conf);
        if (confExpires > 0)
        {
            if (!JsonScalars.TryGetNumber(expires, out var exp))
                throw new InvalidOperationException("attempt to perform arithmetic on a non-number value");
            if (Now() - exp > confExpires)
            {
                ctx.Log(LogLevel.Error, "token has expired");
                return false;
            }
        }
        var sign = GenSign(CtxVar.ToVarString(random) ?? "", CtxVar.ToVarString(expires) ?? "", Key(conf));
        if (!(JsonScalars.TryGetString(table["sign"], out var got) && got == sign))
        {
            ctx.Log(LogLevel.Error, "Invalid signatures");
            return false;
        }
        return true;
    }

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var method = CoreRequest.GetMethod(ctx);
        if (SafeMethods.Contains(method)) return ValueTask.FromResult(PhaseResult.Continue);

        var name = TokenName(conf);
        var headerToken = CoreRequest.Header(ctx, name);
        if (string.IsNullOrEmpty(headerToken)) return Refuse("no csrf token in headers");

        var cookieToken = ctx.Var.GetString("cookie_" + name);
        if (cookieToken == null) return Refuse("no csrf cookie");
        if (headerToken != cookieToken) return Refuse("csrf token mismatch");
        if (!CheckCsrfToken(conf, ctx, cookieToken)) return Refuse("Failed to verify the csrf token signature");
        return ValueTask.FromResult(PhaseResult.Continue);
    }

    private static ValueTask<PhaseResult> Refuse(string message) =>
        ValueTask.FromResult(new PhaseResult(401, new JsonObject { ["error_msg"] = message }));

    public void HeaderFilter(JsonObject conf, ApiCtx ctx)
    {
        var token = GenCsrfToken(conf);
        var expiresAt = Now() + (long)Expires(conf);
        var cookie = TokenName(conf) + "=" + token + ";path=/;SameSite=Lax;Expires=" + CookieTime(expiresAt);
        AddResponseHeader(ctx, "Set-Cookie", cookie);
    }

    /// <summary><c>ngx.cookie_time</c>: two-digit years up to 2037, four after, as nginx writes them.</summary>
    public static string CookieTime(long seconds)
    {
        var t = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
        var year = t.Year > 2037 ? t.Year.ToString(CultureInfo.InvariantCulture) : (t.Year % 100).ToString("00", CultureInfo.InvariantCulture);
        return t.ToString("ddd, dd-MMM-", CultureInfo.InvariantCulture) + year + t.ToString(" HH:mm:ss", CultureInfo.InvariantCulture) + " GMT";
    }

    /// <summary><c>core.response.add_header</c>: one more value of the header.</summary>
    public static void AddResponseHeader(ApiCtx ctx, string name, string value)
    {
        if (ctx.Request.ResponseHeaders.TryGetValue(name, out var list)) list.Add(value);
        else ctx.Request.ResponseHeaders[name] = [value];
    }
}
