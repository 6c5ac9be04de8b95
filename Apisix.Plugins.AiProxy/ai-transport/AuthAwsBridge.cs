using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// The C# half of the Lua module <c>apisix.plugins.ai-transport.auth-aws</c>
/// (Bridges/Lua/apisix/plugins/ai-transport/auth-aws.lua): path escaping and the SigV4
/// signature, used when no <c>resty.aws</c> signer can be loaded. Methods return their result,
/// or nil and an error.
/// </summary>
public sealed class AuthAwsBridge(LuaWorker worker)
{
    public const string Name = "apisix.plugins.ai-transport.auth-aws";

    private static readonly LuaJsonEncodeOptions Lenient = new() { SparseConvert = true, SkipUnsupported = true };

    public string NormalizePath(object? path, long times) =>
        AuthAws.NormalizeAndEncodePath(SseBridge.LuaString(path) ?? "", (int)times);

    /// <summary>
    /// Signs and returns the Authorization value, with the X-Amz-Date it used (and an error,
    /// nil on success).
    /// </summary>
    public string? Sign(object? method, object? canonicalUri, object? query, object? host, object? body,
        object? accessKeyId, object? secretAccessKey, object? sessionToken, object? region, object? service,
        out string? amzDate, out string? err)
    {
        amzDate = null;
        err = null;
        try
        {
            var ak = SseBridge.LuaString(accessKeyId);
            var sk = SseBridge.LuaString(secretAccessKey);
            if (string.IsNullOrEmpty(ak) || string.IsNullOrEmpty(sk))
            {
                err = "missing access key id or secret access key";
                return null;
            }
            var token = SseBridge.LuaString(sessionToken);
            var now = DateTimeOffset.UtcNow;
            amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
            var headers = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["host"] = SseBridge.LuaString(host) ?? "",
                ["x-amz-date"] = amzDate,
            };
            if (!string.IsNullOrEmpty(token)) headers["x-amz-security-token"] = token;
            var queryObj = LuaJson.ToJson(worker.Lua, query, Lenient) as JsonObject ?? new JsonObject();
            var sig = AuthAws.Sign(SseBridge.LuaString(method) ?? "POST", SseBridge.LuaString(canonicalUri) ?? "/",
                AuthAws.QueryPairs(queryObj), headers, ByteString.ToBytes(SseBridge.LuaString(body) ?? ""),
                ak, sk, SseBridge.LuaString(region) ?? "", SseBridge.LuaString(service) ?? "bedrock", now);
            return sig.Authorization;
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }
}
