// Twin of apisix/plugins/jwt-auth/parser.lua (with the part of resty.jwt's load_jwt it relies on)
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Plugins.Builtin.JwtAuthImpl;

/// <summary>
/// A JWS token split into its raw header, payload and signature, its header and payload
/// decoded; signature verification for the HS, RS, PS and ES algorithms (EdDSA is not
/// supported by this port: such a token fails verification with a message saying so); the
/// <c>exp</c>/<c>nbf</c> claim checks; and <see cref="Encode"/> for the HS/RS/PS/ES algorithms.
/// </summary>
public sealed class JwtParser
{
    public required string RawHeader { get; init; }
    public required string RawPayload { get; init; }
    public required JsonNode? Header { get; init; }
    public required JsonNode? Payload { get; init; }
    public required string Signature { get; init; }

    /// <summary>Seconds since the epoch (<c>ngx.time()</c>).</summary>
    public static Func<long> Now { get; set; } = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary><c>ngx.decode_base64url</c>: null when the text is not base64url.</summary>
    public static byte[]? DecodeBase64Url(string s)
    {
        if (s.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))) return null;
        if (s.Length % 4 == 1) return null;
        var t = s.Replace('-', '+').Replace('_', '/');
        t = t.PadRight(t.Length + (4 - t.Length % 4) % 4, '=');
        try { return Convert.FromBase64String(t); }
        catch (FormatException) { return null; }
    }

    /// <summary><c>ngx.encode_base64url</c>.</summary>
    public static string EncodeBase64Url(byte[] data) =>
        Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>resty.jwt's <c>jwt_decode</c>: base64url (padding optional) then JSON; null on any failure.</summary>
    private static JsonNode? JwtDecode(string part)
    {
        var t = part.Replace('-', '+').Replace('_', '/');
        if (t.Length % 4 > 0) t += new string('=', 4 - t.Length % 4);
        var text = ResponseRewritePlugin.DecodeBase64(t);
        if (text == null) return null;
        var (value, err) = CJson.Decode(text);
        return err != null ? null : value;
    }

    /// <summary><c>_M.new(token)</c>: the parsed token, or the reason it is not one.</summary>
    public static (JwtParser? Jwt, string? Error) New(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return (null, "invalid jwt string");
        var header = JwtDecode(parts[0]);
        if (header == null) return (null, "invalid header: " + parts[0]);
        var payload = JwtDecode(parts[1]);
        if (payload == null) return (null, "invalid payload: " + parts[1]);
        return (new JwtParser { RawHeader = parts[0], RawPayload = parts[1], Header = header, Payload = payload, Signature = parts[2] }, null);
    }

    /// <summary>The header's <c>alg</c>, when it is a string.</summary>
    public string? Alg => Header is JsonObject h && JsonScalars.TryGetString(h["alg"], out var a) ? a : null;

    private static HashAlgorithmName HashOf(string alg) => alg[2..] switch
    {
        "256" => HashAlgorithmName.SHA256,
        "384" => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static byte[] Hmac(string alg, byte[] key, byte[] data) => alg switch
    {
        "HS256" => HMACSHA256.HashData(key, data),
        "HS384" => HMACSHA384.HashData(key, data),
        _ => HMACSHA512.HashData(key, data),
    };

    private static readonly HashSet<string> Algorithms = new(StringComparer.Ordinal)
    {
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA",
    };

    private static (bool Ok, string? Error) Verify(string alg, byte[] data, byte[] signature, string key)
    {
        switch (alg[..2])
        {
            case "HS":
                return (Hmac(alg, ByteString.ToBytes(key), data).AsSpan().SequenceEqual(signature), null);
            case "RS" or "PS":
            {
                using var rsa = RSA.Create();
                try { rsa.ImportFromPem(key); }
                catch (Exception) { return (false, "Consumer Public Key is Invalid"); }
                if (alg[0] == 'P' && signature.Length != 256) return (false, "Signature must be 256 bytes");
                var padding = alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
                try { return (rsa.VerifyData(data, signature, HashOf(alg), padding), null); }
                catch (CryptographicException e) { return (false, e.Message); }
            }
            case "ES":
            {
                using var ec = ECDsa.Create();
                try { ec.ImportFromPem(key); }
                catch (Exception) { return (false, "Consumer Public Key is Invalid"); }
                var size = alg == "ES256" ? 64 : alg == "ES384" ? 96 : 132;
                if (signature.Length != size) return (false, "Signature must be " + size + " bytes.");
                try { return (ec.VerifyData(data, signature, HashOf(alg), DSASignatureFormat.IeeeP1363FixedFieldConcatenation), null); }
                catch (CryptographicException e) { return (false, e.Message); }
            }
            default:
                return (false, "EdDSA is not supported by this port");
        }
    }

    /// <summary><c>verify_signature(key)</c>: whether the signature is the token's, with the reason when not.</summary>
    public (bool Ok, string? Error) VerifySignature(string key)
    {
        var alg = Alg;
        if (alg == null || !Algorithms.Contains(alg)) return (false, "unsupported algorithm: " + (alg ?? "nil"));
        var signature = DecodeBase64Url(Signature);
        if (signature == null) return (false, "failed to decode signature");
        return Verify(alg, ByteString.ToBytes(RawHeader + "." + RawPayload), signature, key);
    }

    /// <summary><c>ngx.http_time</c>.</summary>
    private static string HttpTime(double seconds) =>
        DateTimeOffset.FromUnixTimeSeconds((long)seconds).UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss 'GMT'", CultureInfo.InvariantCulture);

    private static (bool Ok, string? Error) CheckClaim(string name, double value, double leeway)
    {
        if (name == "nbf")
            return value < Now() + leeway ? (true, null) : (false, "'nbf' claim not valid until " + HttpTime(value));
        return value > Now() - leeway ? (true, null) : (false, "'exp' claim expired at " + HttpTime(value));
    }

    /// <summary>
    /// <c>verify_claims(claims, conf)</c>: without a list, exp and nbf are checked when present;
    /// with one, each listed claim must be present and valid.
    /// </summary>
    public (bool Ok, string? Error) VerifyClaims(JsonArray? claims, double lifetimeGracePeriod)
    {
        var payload = Payload as JsonObject;
        var required = claims != null && claims.Count > 0;
        var names = required ? claims!.Select(c => CtxVar.ToVarString(c) ?? "").ToList() : ["nbf", "exp"];
        foreach (var name in names)
        {
            var claim = payload?[name];
            if (claim == null)
            {
                if (required) return (false, "claim " + name + " is missing");
                continue;
            }
            if (!JsonScalars.TryGetNumber(claim, out var value) || claim.GetValueKind() != System.Text.Json.JsonValueKind.Number)
                return (false, "claim " + name + " is not a number");
            var (ok, err) = CheckClaim(name, value, lifetimeGracePeriod);
            if (!ok) return (false, err);
        }
        return (true, null);
    }

    /// <summary><c>_M.encode(alg, key, header, data)</c>: a signed token, or the error.</summary>
    public static (string? Token, string? Error) Encode(string? alg, string key, JsonObject? header, JsonObject data)
    {
        alg ??= "HS256";
        if (!Algorithms.Contains(alg)) return (null, "algorithm not supported");
        header ??= new JsonObject { ["typ"] = "JWT", ["alg"] = alg };
        var signingInput = EncodeBase64Url(ByteString.ToBytes(CJson.Encode(header))) + "."
                           + EncodeBase64Url(ByteString.ToBytes(CJson.Encode(data)));
        var input = ByteString.ToBytes(signingInput);
        try
        {
            byte[] signature;
            switch (alg[..2])
            {
                case "HS":
                    signature = Hmac(alg, ByteString.ToBytes(key), input);
                    break;
                case "RS" or "PS":
                {
                    using var rsa = RSA.Create();
                    rsa.ImportFromPem(key);
                    signature = rsa.SignData(input, HashOf(alg), alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
                    break;
                }
                case "ES":
                {
                    using var ec = ECDsa.Create();
                    ec.ImportFromPem(key);
                    signature = ec.SignData(input, HashOf(alg), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                    break;
                }
                default:
                    return (null, "EdDSA is not supported by this port");
            }
            return (signingInput + "." + EncodeBase64Url(signature), null);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return (null, e.Message);
        }
    }
}
