using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// Port of <c>apisix/plugins/ai-transport/auth-aws.lua</c>: AWS Signature Version 4 for the
/// request a provider is about to send (Bedrock). The signing itself (what lua-resty-aws's
/// <c>resty.aws.request.sign</c> does for v4) is done here in C#.
/// </summary>
public static class AuthAws
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>
    /// Each non-empty path segment is unescaped once and then escaped <paramref name="times"/>
    /// times, slashes kept as they are. Once gives the path sent on the wire, twice the canonical
    /// URI SigV4 wants. Raw and already-escaped paths give the same result.
    /// </summary>
    public static string NormalizeAndEncodePath(string path, int times)
    {
        var parts = path.Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length == 0) continue;
            var s = NgxArgs.Unescape(parts[i]);
            for (var n = 0; n < times; n++) s = NgxArgs.EscapeUri(s);
            parts[i] = s;
        }
        return string.Join('/', parts);
    }

    /// <summary>The parts of one signature, for callers and tests that want to look inside.</summary>
    public sealed record Signature(
        string AmzDate, string CanonicalRequest, string StringToSign, string SignedHeaders,
        string Signature_, string Authorization);

    /// <summary>
    /// SigV4 over a request: <paramref name="headers"/> are the headers to sign (name → value,
    /// any case; "host" must be among them), <paramref name="query"/> the query arguments,
    /// <paramref name="body"/> the exact body bytes.
    /// </summary>
    public static Signature Sign(
        string method, string canonicalUri, IEnumerable<KeyValuePair<string, string>> query,
        IReadOnlyDictionary<string, string> headers, byte[] body,
        string accessKeyId, string secretAccessKey, string region, string service, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        var amzDate = utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var dateStamp = amzDate[..8];

        var canonicalHeaders = headers
            .Select(kv => (Name: kv.Key.ToLowerInvariant(), Value: CollapseSpaces(kv.Value.Trim())))
            .OrderBy(h => h.Name, StringComparer.Ordinal)
            .ToList();
        var signedHeaders = string.Join(';', canonicalHeaders.Select(h => h.Name));
        var headerBlock = new StringBuilder();
        foreach (var (name, value) in canonicalHeaders) headerBlock.Append(name).Append(':').Append(value).Append('\n');

        var canonicalQuery = string.Join('&', query
            .Select(kv => (K: AwsEscape(kv.Key), V: AwsEscape(kv.Value)))
            .OrderBy(kv => kv.K, StringComparer.Ordinal).ThenBy(kv => kv.V, StringComparer.Ordinal)
            .Select(kv => kv.K + "=" + kv.V));

        var canonicalRequest = string.Join('\n',
            method.ToUpperInvariant(), canonicalUri.Length == 0 ? "/" : canonicalUri, canonicalQuery,
            headerBlock.ToString(), signedHeaders, Hex(SHA256.HashData(body)));

        var scope = $"{dateStamp}/{region}/{service}/aws4_request";
        var stringToSign = string.Join('\n', Algorithm, amzDate, scope,
            Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));

        var kDate = Hmac(Encoding.UTF8.GetBytes("AWS4" + secretAccessKey), dateStamp);
        var kRegion = Hmac(kDate, region);
        var kService = Hmac(kRegion, service);
        var kSigning = Hmac(kService, "aws4_request");
        var signature = Hex(Hmac(kSigning, stringToSign));

        var authorization = $"{Algorithm} Credential={accessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        return new Signature(amzDate, canonicalRequest, stringToSign, signedHeaders, signature, authorization);
    }

    /// <summary>
    /// <c>sign_request(params, aws_conf, region)</c>: escapes the path for the wire, turns a table
    /// body into its JSON text, signs, and adds <c>authorization</c>, <c>x-amz-date</c>,
    /// <c>x-amz-security-token</c> (with a session token) and <c>Host</c> to the headers.
    /// Returns null, or what went wrong.
    /// </summary>
    public static string? SignRequest(AiHttpParams p, JsonNode? awsConf, JsonNode? region, DateTimeOffset? now = null)
    {
        if (awsConf is not JsonObject conf) return "missing or invalid aws_conf for SigV4 signing";
        if (!JsonScalars.TryGetString(region, out var regionText) || regionText.Length == 0)
            return "missing or invalid region for SigV4 signing";
        if (string.IsNullOrEmpty(p.Path)) return "missing or invalid path for SigV4 signing";

        p.Path = NormalizeAndEncodePath(p.Path, 1);

        string bodyText;
        switch (p.Body)
        {
            case string s:
                bodyText = s;
                break;
            case null:
                bodyText = "";
                break;
            default:
            {
                JsonNode? node;
                try { node = p.Body as JsonNode ?? JsonSerializer.SerializeToNode(p.Body); }
                catch (Exception e) when (e is NotSupportedException or JsonException) { return "failed to encode body: " + e.Message; }
                var (text, err) = CJson.TryEncode(node);
                if (text == null) return "failed to encode body: " + (err ?? "");
                bodyText = text;
                p.Body = text;
                break;
            }
        }

        JsonScalars.TryGetString(conf["access_key_id"], out var accessKey);
        JsonScalars.TryGetString(conf["secret_access_key"], out var secretKey);
        JsonScalars.TryGetString(conf["session_token"], out var sessionToken);
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
            return "SigV4 signing failed: missing access key id or secret access key";
        var service = JsonScalars.TryGetString(conf["endpoint_prefix"], out var prefix) && prefix.Length > 0 ? prefix : "bedrock";

        p.Headers.TryGetValue("Host", out var host);
        if (string.IsNullOrEmpty(host)) p.Headers.TryGetValue("host", out host);
        // the signer's Host is the host alone, whatever the port (lua-resty-aws's v4 signer takes
        // request.host as it is), and it replaces the Host the request would have sent
        if (string.IsNullOrEmpty(host)) host = p.Host ?? "";

        var time = now ?? DateTimeOffset.UtcNow;
        var toSign = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = host,
            ["x-amz-date"] = time.ToUniversalTime().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture),
        };
        if (!string.IsNullOrEmpty(sessionToken)) toSign["x-amz-security-token"] = sessionToken;

        var sig = Sign(p.Method, NormalizeAndEncodePath(p.Path, 2), QueryPairs(p.Query), toSign,
            ByteString.ToBytes(bodyText), accessKey, secretKey, regionText, service, time);

        p.Headers["authorization"] = sig.Authorization;
        p.Headers["x-amz-date"] = sig.AmzDate;
        if (!string.IsNullOrEmpty(sessionToken)) p.Headers["x-amz-security-token"] = sessionToken;
        p.Headers.Remove("host");
        p.Headers["Host"] = host;
        return null;
    }

    internal static IEnumerable<KeyValuePair<string, string>> QueryPairs(JsonObject query)
    {
        foreach (var (k, v) in query)
        {
            if (v is JsonArray arr)
            {
                foreach (var item in arr)
                    if (ScalarText(item) is { } t) yield return new(k, t);
            }
            else if (v is JsonValue val && JsonScalars.TryGetBoolean(val, out var b))
            {
                // a true flag is a bare key; false is left out
                if (b) yield return new(k, "");
            }
            else if (ScalarText(v) is { } t) yield return new(k, t);
        }
    }

    private static string? ScalarText(JsonNode? v)
    {
        if (JsonScalars.TryGetString(v, out var s)) return s;
        if (JsonScalars.TryGetNumber(v, out var d)) return LuaNumber.ToLuaString(d);
        return null;
    }

    /// <summary>RFC 3986 escaping as SigV4 wants it (unreserved kept, bytes as upper-case %XX).</summary>
    private static string AwsEscape(string s) => NgxArgs.EscapeUri(s);

    private static string CollapseSpaces(string s)
    {
        if (!s.Contains("  ")) return s;
        var sb = new StringBuilder(s.Length);
        var prevSpace = false;
        foreach (var c in s)
        {
            if (c == ' ') { if (!prevSpace) sb.Append(c); prevSpace = true; }
            else { sb.Append(c); prevSpace = false; }
        }
        return sb.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
