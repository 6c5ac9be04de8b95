// Twin of lua-resty-aws (api7-lua-resty-aws 2.0.2): resty/aws/request/build.lua (json protocol),
// resty/aws/request/signatures/v4.lua and signatures/utils.lua
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// The parts of lua-resty-aws that APISIX's AWS plugins rely on, as plain C#: building a request
/// of a JSON-protocol service operation (<c>build_request</c>), and signing it with AWS Signature
/// Version 4 exactly as <c>prepare_awsv4_request</c> does (every request header signed, names in
/// title case, values trimmed, the port in <c>Host</c> when it is not the scheme's default).
/// Executing the request is left to the caller, which has an HTTP client.
/// </summary>
public static class RestyAws
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>One request as build_request hands it to the signer (and the signer to the executor).</summary>
    public sealed class Request
    {
        public string Method { get; set; } = "POST";
        public string Path { get; set; } = "/";
        /// <summary>Query arguments (name → value), unescaped.</summary>
        public Dictionary<string, string> Query { get; } = new(StringComparer.Ordinal);
        /// <summary>Headers as set, names as given; a later set of the same title-cased name wins.</summary>
        public Dictionary<string, string> Headers { get; } = new(StringComparer.Ordinal);
        public string Host { get; set; } = "";
        public int Port { get; set; }
        public bool Tls { get; set; }
        public string? Body { get; set; }
    }

    /// <summary>What the signer needs of the service config.</summary>
    public sealed record SigningConfig(
        string Region, string Service, string AccessKeyId, string SecretAccessKey, string? SessionToken);

    /// <summary>
    /// <c>get_host_port(config)</c>: the host to connect to, the port, whether TLS is on, and the
    /// <c>Host</c> header (with the port unless it is the default of the scheme).
    /// </summary>
    public static (string Host, int Port, bool Tls, string HostHeader) GetHostPort(string endpoint, int? port, bool? tls = null)
    {
        string? scheme = null;
        var sep = endpoint.IndexOf("://", StringComparison.Ordinal);
        if (sep >= 0)
        {
            scheme = endpoint[..sep].ToLowerInvariant();
            endpoint = endpoint[(sep + 3)..];
        }
        scheme ??= "https";
        var useTls = tls ?? scheme == "https";
        var p = port ?? (useTls ? 443 : 80);
        var withPort = useTls ? p != 443 : p != 80;
        var hostHeader = withPort ? endpoint + ":" + p.ToString(CultureInfo.InvariantCulture) : endpoint;
        return (endpoint, p, useTls, hostHeader);
    }

    /// <summary>
    /// <c>build_request(operation, config, params)</c> for a JSON-protocol operation whose input
    /// members all go to the body (Comprehend's, for one): <c>POST</c> to <paramref name="requestUri"/>,
    /// <c>X-Amz-Target: TARGET.OPERATION</c>, the body encoded by a fresh lua-cjson instance
    /// (so <c>/</c> is escaped), <c>Content-Type: application/x-amz-json-VERSION</c> and its length.
    /// </summary>
    public static Request BuildJsonRequest(
        string endpoint, int? port, string targetPrefix, string operation, string jsonVersion,
        JsonObject bodyParams, string requestUri = "/")
    {
        var (host, p, tls, hostHeader) = GetHostPort(endpoint, port);
        var request = new Request { Method = "POST", Path = requestUri, Host = host, Port = p, Tls = tls };
        request.Headers["Host"] = hostHeader;
        request.Headers["X-Amz-Target"] = targetPrefix + "." + operation;
        if (bodyParams.Count == 0) return request;
        request.Headers["Content-Type"] = "application/x-amz-json-" + jsonVersion;
        request.Body = CJson.Encode(bodyParams, escapeForwardSlash: true);
        request.Headers["Content-Length"] = ByteString.ToBytes(request.Body).Length.ToString(CultureInfo.InvariantCulture);
        return request;
    }

    /// <summary><c>k:gsub("%f[^%z-]%w", string.upper)</c>: upper-case the first letter of each dash-separated part.</summary>
    public static string TitleCase(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var atStart = i == 0 || chars[i - 1] == '-';
            if (atStart && chars[i] != '-' && char.IsAsciiLetterOrDigit(chars[i])) chars[i] = char.ToUpperInvariant(chars[i]);
        }
        return new string(chars);
    }

    /// <summary>
    /// <c>canonicalise_path(path)</c>: each segment unescaped and re-escaped (all but
    /// <c>A-Za-z0-9-._~</c>), empty and "." segments dropped, a trailing slash kept.
    /// </summary>
    public static string CanonicalisePath(string path)
    {
        var segments = new List<string>();
        // path:gmatch("/([^/]*)"): what follows each slash
        var i = path.IndexOf('/');
        while (i >= 0)
        {
            var next = path.IndexOf('/', i + 1);
            var segment = next < 0 ? path[(i + 1)..] : path[(i + 1)..next];
            if (segment.Length == 0 || segment == ".") { }
            else if (segment == " .. ")
            {
                // lua-resty-aws compares with " .. " (spaces included), so a real ".." is kept as is
                if (segments.Count > 0) segments.RemoveAt(segments.Count - 1);
            }
            else segments.Add(PercentEncode(NgxArgs.Unescape(segment)));
            i = next;
        }
        if (segments.Count == 0) return "/";
        var sb = new StringBuilder();
        foreach (var s in segments) sb.Append('/').Append(s);
        if (path.EndsWith('/')) sb.Append('/');
        return sb.ToString();
    }

    /// <summary><c>canonicalise_query_string(query)</c> for a table: <c>k=v</c> pairs escaped, sorted, joined by &amp;.</summary>
    public static string CanonicaliseQueryString(IEnumerable<KeyValuePair<string, string>> query)
    {
        var q = query.Select(kv => PercentEncode(NgxArgs.Unescape(kv.Key)) + "=" + PercentEncode(NgxArgs.Unescape(kv.Value))).ToList();
        q.Sort(StringComparer.Ordinal);
        return string.Join('&', q);
    }

    /// <summary><c>gsub("[^%w%-%._~]", percent_encode)</c> over the bytes of <paramref name="s"/>.</summary>
    public static string PercentEncode(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var b in ByteString.ToBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~') sb.Append(c);
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary><c>derive_signing_key(secret, date, region, service)</c>.</summary>
    public static byte[] DeriveSigningKey(string secretKey, string date, string region, string service)
    {
        var kDate = Hmac(ByteString.ToBytes("AWS4" + secretKey), date);
        var kRegion = Hmac(kDate, region);
        var kService = Hmac(kRegion, service);
        return Hmac(kService, "aws4_request");
    }

    /// <summary>The signer's intermediate texts, for tests and debugging.</summary>
    public sealed record Signed(
        Request Request, string CanonicalRequest, string StringToSign, string SignedHeaders, string Signature);

    /// <summary>
    /// <c>prepare_awsv4_request(config, request)</c>: adds <c>X-Amz-Date</c>, <c>Host</c> (the
    /// request's own <c>Host</c> header wins), <c>X-Amz-Security-Token</c> with a session token, and
    /// <c>Authorization</c> (unless the request has one); every header is signed. Fails with
    /// "header collision" when two names differ only in case.
    /// </summary>
    public static (Signed? Signed, string? Error) SignV4(SigningConfig config, Request request, DateTimeOffset timestamp)
    {
        var utc = timestamp.ToUniversalTime();
        var reqDate = utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = reqDate[..8];

        var canonicalUri = CanonicalisePath(request.Path);
        var canonicalQuery = CanonicaliseQueryString(request.Query);

        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["X-Amz-Date"] = reqDate,
            ["Host"] = request.Host,
        };
        if (config.SessionToken != null) headers["X-Amz-Security-Token"] = config.SessionToken;

        var addAuthHeader = true;
        foreach (var (name, value) in request.Headers)
        {
            var k = TitleCase(name);
            if (k == "Authorization") addAuthHeader = false;
            headers[k] = value;
        }

        var canonical = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var lower = name.ToLowerInvariant();
            if (canonical.ContainsKey(lower)) return (null, "header collision");
            canonical[lower] = LuaStrip(value);
        }
        var signedHeaders = string.Join(';', canonical.Keys);
        var canonicalHeaders = new StringBuilder();
        foreach (var (name, value) in canonical) canonicalHeaders.Append(name).Append(':').Append(value).Append('\n');

        var hashedPayload = Hex(SHA256.HashData(ByteString.ToBytes(request.Body ?? "")));
        var canonicalRequest = request.Method + "\n" + canonicalUri + "\n" + canonicalQuery + "\n"
            + canonicalHeaders + "\n" + signedHeaders + "\n" + hashedPayload;

        var scope = date + "/" + config.Region + "/" + config.Service + "/aws4_request";
        var stringToSign = Algorithm + "\n" + reqDate + "\n" + scope + "\n"
            + Hex(SHA256.HashData(ByteString.ToBytes(canonicalRequest)));

        var signingKey = DeriveSigningKey(config.SecretAccessKey, date, config.Region, config.Service);
        var signature = Hex(HMACSHA256.HashData(signingKey, ByteString.ToBytes(stringToSign)));

        if (addAuthHeader)
            headers["Authorization"] = Algorithm + " Credential=" + config.AccessKeyId + "/" + scope
                + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature;

        var signed = new Request
        {
            Method = request.Method, Path = request.Path, Host = request.Host, Port = request.Port,
            Tls = request.Tls, Body = request.Body,
        };
        foreach (var (k, v) in request.Query) signed.Query[k] = v;
        foreach (var (k, v) in headers) signed.Headers[k] = v;
        return (new Signed(signed, canonicalRequest, stringToSign, signedHeaders, signature), null);
    }

    // pl.stringx.strip: whitespace off both ends
    private static string LuaStrip(string s) => s.Trim(' ', '\t', '\n', '\r', '\f', '\v');

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, ByteString.ToBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
