using System.Text.Json.Nodes;
using Apisix.Core;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>The <c>params</c> table <c>build_request</c> makes and <c>http.request</c> sends.</summary>
public sealed class AiHttpParams
{
    public string Method { get; set; } = "POST";
    public string Scheme { get; set; } = "https";
    /// <summary>Header names as Lua keys them (lower case unless a provider set otherwise).</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.Ordinal);
    public bool? SslVerify { get; set; }
    public string? Path { get; set; }
    /// <summary>Query arguments (string values; a JSON array repeats the key).</summary>
    public JsonObject Query { get; set; } = new();
    public string? Host { get; set; }
    public int? Port { get; set; }
    public string? SslServerName { get; set; }
    /// <summary>A string (sent as is) or a table (encoded with sorted keys, as rapidjson does).</summary>
    public object? Body { get; set; }
}

/// <summary>What <c>http.request</c> returns on failure besides the error: where it was going, for upstream state.</summary>
public sealed record AiHttpErrorMeta(string UpstreamAddr, string UpstreamHost, string UpstreamScheme,
    string? UpstreamUri, double? ConnectTime, double T0);

/// <summary>
/// The response object of <c>http.request</c> (resty.http's <c>res</c> plus the <c>_upstream_*</c>,
/// <c>_connect_time</c>, <c>_header_time</c>, <c>_t0</c> fields the transport adds).
/// </summary>
public sealed class AiHttpResponse
{
    public int Status { get; init; }
    /// <summary><c>res.headers</c>: case-insensitive; repeated headers joined with ", ".</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    /// <summary>Whether <c>res.body_reader</c> exists (false when the response can have no body).</summary>
    public bool HasBodyReader { get; init; }
    public string UpstreamAddr { get; init; } = "";
    public string UpstreamHost { get; init; } = "";
    public string UpstreamScheme { get; init; } = "http";
    public string? UpstreamUri { get; init; }
    public double ConnectTime { get; init; }
    public double HeaderTime { get; init; }
    /// <summary><c>_t0</c>: <c>ngx.now()</c> when the request started, in seconds.</summary>
    public double T0 { get; init; }
    /// <summary><c>_upstream_bytes</c>: body bytes read, set by whoever reads the body.</summary>
    public long? UpstreamBytes { get; set; }
    /// <summary>Whether <c>res._httpc</c> is still set (not closed nor given back to the pool).</summary>
    public bool HasClient { get; internal set; } = true;

    internal Func<ValueTask<(string? Chunk, string? Error)>> ReadChunk { get; init; } = () => ValueTask.FromResult<(string?, string?)>((null, null));
    internal Func<ValueTask<(string? Body, string? Error)>> ReadAll { get; init; } = () => ValueTask.FromResult<(string?, string?)>((null, "no body"));
    internal Action OnClose { get; init; } = () => { };

    /// <summary><c>res.body_reader()</c>: the next chunk as it arrives (a byte string), null at the end, or the error.</summary>
    public ValueTask<(string? Chunk, string? Error)> BodyReaderAsync() => ReadChunk();

    /// <summary><c>res:read_body()</c>: the rest of the body, or null and the error.</summary>
    public ValueTask<(string? Body, string? Error)> ReadBodyAsync() => ReadAll();

    /// <summary><c>res._httpc:close()</c> and <c>res._httpc = nil</c>.</summary>
    public void Close()
    {
        if (!HasClient) return;
        HasClient = false;
        OnClose();
    }
}

/// <summary>Port of <c>apisix/plugins/ai-transport/http.lua</c>: sending the request to the LLM service.</summary>
public static class Http
{
    /// <summary><c>handle_error(err)</c>: 504 for timeouts, 500 otherwise.</summary>
    public static int HandleError(string err) =>
        err.Contains("timeout", StringComparison.Ordinal) || err.Contains("timed out", StringComparison.Ordinal) ? 504 : 500;

    /// <summary><c>construct_forward_headers(ext_opts_headers, ctx)</c>.</summary>
    public static Dictionary<string, string> ConstructForwardHeaders(JsonObject? extHeaders, ApiCtx ctx) =>
        throw new NotImplementedException("PORTING: helper B");

    /// <summary><c>request(params, timeout)</c>: the response, or null, the error and where it was going.</summary>
    public static Task<(AiHttpResponse? Res, string? Error, AiHttpErrorMeta? Meta)> RequestAsync(AiHttpParams p, int timeoutMs, ApiCtx ctx) =>
        throw new NotImplementedException("PORTING: helper B");

    /// <summary><c>set_keepalive(res, timeout, pool)</c>: the connection goes back to the pool.</summary>
    public static void SetKeepalive(AiHttpResponse? res, int keepaliveTimeoutMs, int keepalivePool, ApiCtx ctx) =>
        throw new NotImplementedException("PORTING: helper B");
}
