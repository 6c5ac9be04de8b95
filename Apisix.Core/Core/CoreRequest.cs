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
        if (ctx.Request is { Body: null, BodyFile: { } file })
            ctx.Log(OpenResty.LogLevel.Info, "attempt to read body from file: " + file);
        var body = ctx.Request.BodyText();
        if (string.IsNullOrEmpty(body)) return (null, null);
        var sizeErr = CheckSize(body.Length, maxSize);
        return sizeErr != null ? (null, sizeErr) : (body, null);
    }

    /// <summary>
    /// <c>get_request_body_table(ctx, content_type, max_size)</c>: the body parsed by its
    /// Content-Type (JSON, a urlencoded form or multipart/form-data), cached in
    /// <c>ctx._request_body_table</c> so every caller gets the same table.
    /// </summary>
    public static async Task<(JsonNode? Body, string? Error)> GetRequestBodyTableAsync(ApiCtx ctx, string? contentType, long? maxSize)
    {
        if (!ctx.Items.ContainsKey("_request_body_table"))
        {
            var ct = contentType ?? Header(ctx, "Content-Type") ?? "";
            if (SupportedType(ct) != null && !OverDeclaredLimit(ctx, maxSize)) await ctx.Request.ReadBodyAsync();
        }
        return GetRequestBodyTable(ctx, contentType, maxSize);
    }

    private static string? SupportedType(string ct) =>
        ct.Contains(ContentTypeJson, StringComparison.Ordinal) ? ContentTypeJson
        : ct.Contains(ContentTypeForm, StringComparison.Ordinal) ? ContentTypeForm
        : ct.Contains(ContentTypeMultipart, StringComparison.Ordinal) ? ContentTypeMultipart
        : null;

    private static bool OverDeclaredLimit(ApiCtx ctx, long? maxSize) =>
        maxSize != null && long.TryParse(ctx.Var.GetString("http_content_length"), NumberStyles.Integer,
            CultureInfo.InvariantCulture, out var declared) && CheckSize(declared, maxSize) != null;

    /// <summary>
    /// Whether a route condition reads the body (<c>post_arg.*</c> variables); the router reads
    /// the body before evaluating such conditions, as the Lua call would.
    /// </summary>
    public static bool BodyTableWanted(ApiCtx ctx) => SupportedType(Header(ctx, "Content-Type") ?? "") != null;

    /// <summary>
    /// <see cref="GetRequestBodyTableAsync"/> once the body was read (the router and ctx.var
    /// read it first): parses what <c>ngx.req</c> holds.
    /// </summary>
    public static (JsonNode? Body, string? Error) GetRequestBodyTable(ApiCtx ctx, string? contentType, long? maxSize)
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
        var detected = SupportedType(ct);
        JsonNode? result;
        if (detected == ContentTypeForm)
        {
            result = ParseForm(ReadBody(ctx, null).Body ?? "");
        }
        else if (detected != null)
        {
            var (body, bodyErr) = ReadBody(ctx, maxSize);
            if (body == null) return (null, "could not get body: " + (bodyErr ?? "request body is empty"));
            if (detected == ContentTypeJson)
            {
                var (decoded, err) = CJson.Decode(body);
                if (err != null || decoded == null) return (null, "could not parse JSON request body: " + (err ?? "invalid JSON"));
                result = decoded;
            }
            else
            {
                result = ParseMultipart(body, ct);
                if (result == null) return (null, "failed to parse multipart form data");
            }
        }
        else
        {
            return (null, $"unsupported content-type: {ct}, supported types are: {ContentTypeJson}, {ContentTypeForm}, {ContentTypeMultipart}");
        }

        ctx.Items["_request_body_table"] = result;
        ctx.Items["_request_body_type"] = detected;
        return (result, null);
    }

    // get_body on a body already read: in memory, or in nginx's client_body_temp file
    private static (string? Body, string? Error) ReadBody(ApiCtx ctx, long? maxSize)
    {
        if (OverDeclaredLimit(ctx, maxSize))
        {
            long.TryParse(ctx.Var.GetString("http_content_length"), out var declared);
            return (null, CheckSize(declared, maxSize));
        }
        var req = ctx.Request;
        var body = req.Body;
        if (string.IsNullOrEmpty(body) && req.BodyFile is { } file)
        {
            ctx.Log(OpenResty.LogLevel.Info, "attempt to read body from file: " + file);
            try { body = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(file)); }
            catch (IOException e) { return (null, e.Message); }
        }
        if (string.IsNullOrEmpty(body)) return (null, null);
        var sizeErr = CheckSize(body.Length, maxSize);
        return sizeErr != null ? (null, sizeErr) : (body, null);
    }

    /// <summary><c>ngx.req.get_post_args(0)</c> as a table: a repeated name holds an array, a name without '=' holds true.</summary>
    public static JsonObject ParseForm(string body)
    {
        var args = new JsonObject();
        foreach (var pair in body.Split('&'))
        {
            if (pair.Length == 0) continue;
            var eq = pair.IndexOf('=');
            var k = CtxVar.FormUnescape(eq < 0 ? pair : pair[..eq]);
            if (k.Length == 0) continue;
            JsonNode v = eq < 0 ? JsonValue.Create(true) : JsonValue.Create(CtxVar.FormUnescape(pair[(eq + 1)..]));
            Add(args, k, v);
        }
        return args;
    }

    private static void Add(JsonObject o, string k, JsonNode v)
    {
        if (!o.TryGetPropertyValue(k, out var prev)) o[k] = v;
        else if (prev is JsonArray a) a.Add(v);
        else o[k] = new JsonArray(prev?.DeepClone(), v);
    }

    /// <summary>
    /// The <c>multipart</c> rock's <c>multipart(body, content_type):get_all()</c>: each part's
    /// value by its form name (a repeated name holds an array); null when the Content-Type has
    /// no boundary.
    /// </summary>
    public static JsonObject? ParseMultipart(string body, string contentType)
    {
        var m = System.Text.RegularExpressions.Regex.Match(contentType, "boundary=(?:\"([^\"]+)\"|([^;\\s]+))", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!m.Success) return null;
        var delimiter = "--" + (m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        var result = new JsonObject();
        var chunks = body.Split(delimiter);
        for (var i = 1; i < chunks.Length; i++)
        {
            var part = chunks[i];
            if (part.StartsWith("--", StringComparison.Ordinal)) break;
            if (part.StartsWith("\r\n", StringComparison.Ordinal)) part = part[2..];
            else if (part.StartsWith('\n')) part = part[1..];
            var sep = part.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var sepLen = 4;
            var lf = part.IndexOf("\n\n", StringComparison.Ordinal);
            if (sep < 0 || (lf >= 0 && lf < sep)) { sep = lf; sepLen = 2; }
            if (sep < 0) continue;
            var headers = part[..sep];
            var value = part[(sep + sepLen)..];
            if (value.EndsWith("\r\n", StringComparison.Ordinal)) value = value[..^2];
            else if (value.EndsWith('\n')) value = value[..^1];
            var name = System.Text.RegularExpressions.Regex.Match(headers, "name=\"([^\"]*)\"|name=([^;\\s]+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
            if (!name.Success) continue;
            Add(result, name.Groups[1].Success ? name.Groups[1].Value : name.Groups[2].Value, JsonValue.Create(value));
        }
        return result;
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
