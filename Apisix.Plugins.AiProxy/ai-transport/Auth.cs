using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// Port of <c>apisix/plugins/ai-transport/auth.lua</c>: Google Cloud access tokens for
/// <c>auth.gcp</c>, cached per worker (one cache of 4096 entries per worker, as the module-level
/// lrucache) under <c>core.lrucache.plugin_ctx_id(ctx, name)</c>, for the token's TTL bounded
/// by <c>expire_early_secs</c> and <c>max_ttl</c>. A miss asks the Lua module
/// <c>apisix.utils.google-cloud-oauth</c> on the request's worker, so a replaced
/// <c>refresh_access_token</c> is the one called.
/// </summary>
public static class Auth
{
    private static readonly ConditionalWeakTable<LuaWorker, GcpTokenCache> Caches = new();

    /// <summary>The worker's token cache (created on first use).</summary>
    public static GcpTokenCache CacheOf(LuaWorker worker) => Caches.GetValue(worker, _ => new GcpTokenCache());

    /// <summary><c>core.lrucache.plugin_ctx_id(ctx, extra_key)</c>.</summary>
    public static string PluginCtxId(ApiCtx ctx, string? extraKey)
    {
        var key = ctx.ConfType + "#" + ctx.ConfId;
        if (extraKey != null) key += "#" + extraKey;
        return key + "#" + ctx.ConfVersion;
    }

    // new(auth_conf), generate_access_token(), and the TTL the (possibly replaced) refresh left.
    private static readonly LuaChunk FetchChunk = new("""
        local auth_conf = ...
        local google_oauth = require("apisix.utils.google-cloud-oauth")
        local oauth = google_oauth.new(auth_conf)
        local token = oauth:generate_access_token()
        return token, oauth.access_token_ttl
        """, "ai-transport/auth", 1);

    /// <summary>
    /// <c>fetch_gcp_access_token(ctx, name, gcp_conf)</c>: the token, or null and the error.
    /// </summary>
    public static Task<(string? Token, string? Error)> FetchGcpAccessTokenAsync(ApiCtx ctx, string? name, JsonNode? gcpConf)
    {
        var worker = ctx.Request.Worker;
        if (worker == null) return Task.FromResult<(string?, string?)>((null, "no worker to fetch the gcp access token on"));
        return CacheOf(worker).FetchAsync(PluginCtxId(ctx, name), gcpConf as JsonObject,
            authConf => GenerateOnWorkerAsync(worker, ctx, authConf),
            msg => ctx.Log(LogLevel.Debug, msg));
    }

    private static async Task<(string? Token, double? Ttl)> GenerateOnWorkerAsync(LuaWorker worker, ApiCtx ctx, JsonObject authConf)
    {
        var r = await worker.RunEntry(worker.Chunk(FetchChunk), ctx.Request, LuaJson.FromJson(worker.Lua, authConf));
        if (!r.Ok)
        {
            ctx.Log(LogLevel.Error, $"failed to get google oauth token: {r.Error}\n{r.Traceback}");
            return (null, null);
        }
        var token = r.Values.Length > 0 ? r.Values[0] as string : null;
        double? ttl = r.Values.Length > 1 ? r.Values[1] switch
        {
            long l => l,
            double d => d,
            _ => null,
        } : null;
        return (token, ttl);
    }
}

/// <summary>
/// The token cache of one worker: an LRU of <see cref="Capacity"/> keys whose entries expire
/// after their own TTL (lua-resty-lrucache's <c>set(key, value, ttl)</c>), on a clock in
/// seconds (<c>ngx.now</c> by default).
/// </summary>
public sealed class GcpTokenCache(Func<double>? clock = null, int capacity = 1024 * 4)
{
    private readonly Func<double> _clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
    private readonly LinkedList<(string Key, string Token, double Expires)> _order = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, string Token, double Expires)>> _map = new(StringComparer.Ordinal);

    public int Capacity { get; } = capacity;

    /// <summary><c>get(key)</c>: the live token, or null (an expired one is dropped).</summary>
    public string? Get(string key)
    {
        if (!_map.TryGetValue(key, out var node)) return null;
        if (node.Value.Expires <= _clock())
        {
            _order.Remove(node);
            _map.Remove(key);
            return null;
        }
        _order.Remove(node);
        _order.AddFirst(node);
        return node.Value.Token;
    }

    /// <summary><c>set(key, token, ttl)</c>; the least recently used key goes when full.</summary>
    public void Set(string key, string token, double ttl)
    {
        if (_map.TryGetValue(key, out var old))
        {
            _order.Remove(old);
            _map.Remove(key);
        }
        else if (_map.Count >= Capacity && _order.Last is { } last)
        {
            _order.RemoveLast();
            _map.Remove(last.Value.Key);
        }
        _map[key] = _order.AddFirst((key, token, _clock() + ttl));
    }

    /// <summary>
    /// The body of <c>fetch_gcp_access_token</c> once the key is known: the cached token, or
    /// the service account conf (<c>service_account_json</c>, else <c>$GCP_SERVICE_ACCOUNT</c>)
    /// given to <paramref name="generate"/> and its token cached for its TTL (3600 when it
    /// gives none), less <c>expire_early_secs</c> when the TTL is longer, at most <c>max_ttl</c>.
    /// </summary>
    public async Task<(string? Token, string? Error)> FetchAsync(string key, JsonObject? gcpConf,
        Func<JsonObject, Task<(string? Token, double? Ttl)>> generate, Action<string>? debugLog = null)
    {
        var cached = Get(key);
        if (cached != null) return (cached, null);

        gcpConf ??= new JsonObject();
        var authConf = new JsonObject();
        var saJson = JsonScalars.TryGetString(gcpConf["service_account_json"], out var s)
            ? s
            : Environment.GetEnvironmentVariable("GCP_SERVICE_ACCOUNT");
        if (!string.IsNullOrEmpty(saJson))
        {
            var (decoded, err) = CJson.Decode(saJson);
            if (decoded == null) return (null, "invalid gcp service account json: " + (err ?? "unknown error"));
            if (decoded is JsonObject obj) authConf = obj;
        }

        var (token, ttlGiven) = await generate(authConf);
        if (token == null) return (null, "failed to get google oauth token");

        var ttl = ttlGiven ?? 3600;
        if (JsonScalars.TryGetNumber(gcpConf["expire_early_secs"], out var early) && ttl > early) ttl -= early;
        if (JsonScalars.TryGetNumber(gcpConf["max_ttl"], out var maxTtl) && ttl > maxTtl) ttl = maxTtl;
        Set(key, token, ttl);
        debugLog?.Invoke($"set gcp access token in cache with ttl: {LuaNumber.ToLuaString(ttl)}, key: {key}");
        return (token, null);
    }
}

/// <summary>
/// The C# half of the Lua bridge <c>apisix.utils.google-cloud-oauth</c>: the RS256 signature
/// lua-resty-jwt makes for the service account's JWT assertion.
/// </summary>
public sealed class GoogleCloudOAuthBridge
{
    public const string Name = "apisix.utils.google-cloud-oauth";

    /// <summary>
    /// The base64url (unpadded) RSASSA-PKCS1-v1_5 SHA-256 signature of
    /// <paramref name="signingInput"/> with the PEM private key, or null and the error.
    /// </summary>
    public string? SignRs256(object? privateKeyPem, object? signingInput, out string? err)
    {
        err = null;
        if (privateKeyPem is not string pem || pem.Length == 0)
        {
            err = "no private key";
            return null;
        }
        if (signingInput is not string input)
        {
            err = "nothing to sign";
            return null;
        }
        try
        {
            return Sign(pem, input);
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }

    /// <summary>The RS256 JWS signature of <paramref name="signingInput"/>, base64url.</summary>
    public static string Sign(string pem, string signingInput)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        var sig = rsa.SignData(Encoding.Latin1.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return Base64Url(sig);
    }

    public static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
