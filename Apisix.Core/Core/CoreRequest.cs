using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core;

/// <summary>
/// Port of <c>apisix/core/request.lua</c> (the parts the AI plugins use): request headers,
/// the method, and the body with its size limit, parsed once and cached on the ctx.
/// </summary>
public static class CoreRequest
{
    public const string ContentTypeJson = "application/json";
    private const string ContentTypeForm = "application/x-www-form-urlencoded";
    private const string ContentTypeMultipart = "multipart/form-data";

    /// <summary><c>core.request.header(ctx, name)</c>.</summary>
    public static string? Header(ApiCtx ctx, string name) => ctx.Request.RequestHeader(name);

    /// <summary><c>core.request.headers(ctx)</c>: every request header, names lower-cased, first value kept.</summary>
    public static Dictionary<string, string> Headers(ApiCtx ctx)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in ctx.Request.RequestHeaders) all.TryAdd(name.ToLowerInvariant(), value);
        return all;
    }

    /// <summary><c>core.request.get_method()</c>.</summary>
    public static string GetMethod(ApiCtx ctx) => ctx.Request.Method;

    private static string? CheckSize(long size, long? maxSize) =>
        maxSize is long max && size > max
            ? $"request size {size} is greater than the maximum size {max} allowed"
            : null;

    /// <summary>
    /// <c>core.request.get_body(max_size, ctx)</c>: the body (null when there is none), or the
    /// error. A declared Content-Length over the limit is refused before anything is read.
    /// </summary>
    public static async Task<(string? Body, string? Error)> GetBodyAsync(long? maxSize, ApiCtx ctx)
    {
        if (maxSize != null && long.TryParse(ctx.Var.GetString("http_content_length"), NumberStyles.Integer,
                CultureInfo.InvariantCulture, out var declared))
        {
            var err = CheckSize(declared, maxSize);
            if (err != null) return (null, err);
        }
        await ctx.Request.ReadBodyAsync();
        var body = ctx.Request.Body;
        if (string.IsNullOrEmpty(body)) return (null, null);
        var sizeErr = CheckSize(body.Length, maxSize);
        return sizeErr != null ? (null, sizeErr) : (body, null);
    }

    /// <summary>
    /// <c>get_request_body_table(ctx, content_type, max_size)</c>: the body parsed by its
    /// Content-Type (JSON here; forms are not ported), cached in <c>ctx._request_body_table</c>
    /// so every caller gets the same table.
    /// </summary>
    public static async Task<(JsonNode? Body, string? Error)> GetRequestBodyTableAsync(ApiCtx ctx, string? contentType, long? maxSize)
    {
        if (ctx.Items.TryGetValue("_request_body_table", out var cached) && cached != null)
        {
            var cachedType = ctx.Items.GetValueOrDefault("_request_body_type") as string;
            if (contentType != null && cachedType != contentType)
                return (null, $"request body type mismatch: cached type is {cachedType ?? "unknown"}, expected {contentType}");
            ctx.Log(OpenResty.LogLevel.Debug, "reuse parsed request body from ctx cache");
            return ((JsonNode?)cached, null);
        }

        var ct = contentType ?? Header(ctx, "Content-Type") ?? "";
        if (!ct.Contains(ContentTypeJson, StringComparison.Ordinal))
        {
            if (ct.Contains(ContentTypeForm, StringComparison.Ordinal) || ct.Contains(ContentTypeMultipart, StringComparison.Ordinal))
                return (null, "failed to parse form data: not supported by this port");
            return (null, $"unsupported content-type: {ct}, supported types are: {ContentTypeJson}, {ContentTypeForm}, {ContentTypeMultipart}");
        }

        var (body, bodyErr) = await GetBodyAsync(maxSize, ctx);
        if (body == null) return (null, "could not get body: " + (bodyErr ?? "request body is empty"));
        var (result, err) = CJson.Decode(body);
        if (err != null || result == null) return (null, "could not parse JSON request body: " + (err ?? "invalid JSON"));

        ctx.Items["_request_body_table"] = result;
        ctx.Items["_request_body_type"] = ContentTypeJson;
        return (result, null);
    }

    /// <summary>
    /// <c>ngx.req.set_body_data(data)</c> as APISIX patches it: the request body becomes
    /// <paramref name="data"/> (in memory), and the parsed-body cache is dropped so later readers
    /// see the new body.
    /// </summary>
    public static void SetBodyData(ApiCtx ctx, string data)
    {
        var r = ctx.Request;
        r.Body = data;
        r.BodyRead = true;
        OpenResty.ClientBodyTemp.Remove(r.BodyFile);
        r.BodyFile = null;
        ctx.Items.Remove("_request_body_table");
        ctx.Items.Remove("_request_body_type");
    }

    /// <summary>
    /// <c>core.request.get_json_request_body_table(max_size)</c>: the parsed JSON body, or the
    /// error wrapped as Lua does (<c>{message = err}</c>).
    /// </summary>
    public static async Task<(JsonNode? Body, JsonObject? Error)> GetJsonRequestBodyTableAsync(ApiCtx ctx, long? maxSize = null)
    {
        var (body, err) = await GetRequestBodyTableAsync(ctx, ContentTypeJson, maxSize);
        if (body == null) return (null, new JsonObject { ["message"] = err });
        return (body, null);
    }
}
