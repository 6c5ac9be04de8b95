using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Libs;
using NLua;

namespace Apisix.Plugins.AiProxy.Bridges;

/// <summary>
/// A <c>resty.http</c> client object (<c>require("resty.http").new()</c>) held from C#: the
/// plugins whose Lua module makes its side calls with lua-resty-http (ai-rag, the lua-resty-aws
/// executor of ai-aws-content-moderation) call it through the request's Lua state, so whatever
/// the Lua side has done to that module (a test wrapping <c>http.new</c> in init) is seen, and
/// the errors are lua-resty-http's own words.
/// </summary>
public sealed class RestyHttpClient : IDisposable
{
    /// <summary>What a call answered: <c>res.status</c>, <c>res.body</c>, <c>res.headers</c> (names as sent), or the error.</summary>
    public sealed record Response(int Status, string? Body, Dictionary<string, string> Headers);

    private static readonly LuaChunk NewChunk = new("""
        return require("resty.http").new()
        """, "resty.http.new", 1);

    // httpc:request_uri(uri, opts), answered as status, body, headers (a table) or nil, err
    private static readonly LuaChunk RequestUriChunk = new("""
        local httpc, uri, opts = ...
        local res, err = httpc:request_uri(uri, opts)
        if not res then
            return nil, err
        end
        local headers = {}
        for k, v in pairs(res.headers or {}) do
            if type(v) == "table" then
                v = table.concat(v, ", ")
            end
            headers[k] = tostring(v)
        end
        return res.status, res.body, headers
        """, "resty.http.request_uri", 1);

    // the connect / request / read_body sequence (lua-resty-aws's executor), one step's error each
    private static readonly LuaChunk ConnectRequestChunk = new("""
        local httpc, connect_opts, request_opts, timeout = ...
        httpc:set_timeout(timeout)
        local ok, err = httpc:connect(connect_opts)
        if not ok then
            return nil, "connect", err
        end
        local res, rerr = httpc:request(request_opts)
        if not res then
            return nil, "request", rerr
        end
        local body
        if res.has_body then
            local berr
            body, berr = res:read_body()
            if not body then
                return nil, "read_body", berr
            end
        end
        httpc:close()
        local headers = {}
        for k, v in pairs(res.headers or {}) do
            if type(v) == "table" then
                v = table.concat(v, ", ")
            end
            headers[k] = tostring(v)
        end
        return res.status, body, headers
        """, "resty.http.connect_request", 1);

    private readonly LuaWorker _worker;
    private readonly NgxRequest? _request;
    private LuaTable? _httpc;

    private RestyHttpClient(LuaWorker worker, NgxRequest? request)
    {
        _worker = worker;
        _request = request;
    }

    /// <summary><c>http.new()</c> in the request's Lua state.</summary>
    public static async Task<(RestyHttpClient? Client, string? Error)> NewAsync(ApiCtx ctx)
    {
        var worker = ctx.Request.Worker;
        if (worker == null) return (null, "no Lua worker for this request");
        var client = new RestyHttpClient(worker, ctx.Request);
        var r = await Run(worker, worker.Chunk(NewChunk), ctx.Request);
        if (!r.Ok) return (null, r.Error);
        client._httpc = r.Values.Length > 0 ? r.Values[0] as LuaTable : null;
        if (client._httpc == null) return (null, "resty.http new() returned no object");
        return (client, null);
    }

    /// <summary><c>httpc:request_uri(uri, opts)</c>; opts as JSON (method, headers, body, ssl_verify...).</summary>
    public async Task<(Response? Res, string? Error)> RequestUriAsync(string uri, JsonObject opts)
    {
        var luaOpts = LuaJson.FromJson(_worker.Lua, opts, arrayMt: false);
        var r = await Run(_worker, _worker.Chunk(RequestUriChunk), _request, _httpc, uri, luaOpts);
        (luaOpts as IDisposable)?.Dispose();
        if (!r.Ok) throw new InvalidOperationException(r.Error);
        return ToResponse(r.Values, 1);
    }

    /// <summary>
    /// <c>set_timeout</c>, <c>connect(connect_opts)</c>, <c>request(request_opts)</c>,
    /// <c>read_body()</c>, <c>close()</c>; on failure, which step failed and its error.
    /// </summary>
    public async Task<(Response? Res, string? Step, string? Error)> ConnectAndRequestAsync(
        JsonObject connectOpts, JsonObject requestOpts, int timeoutMs)
    {
        var c = LuaJson.FromJson(_worker.Lua, connectOpts, arrayMt: false);
        var q = LuaJson.FromJson(_worker.Lua, requestOpts, arrayMt: false);
        var r = await Run(_worker, _worker.Chunk(ConnectRequestChunk), _request, _httpc, c, q, (long)timeoutMs);
        (c as IDisposable)?.Dispose();
        (q as IDisposable)?.Dispose();
        if (!r.Ok) throw new InvalidOperationException(r.Error);
        if (r.Values.Length == 0 || r.Values[0] == null)
            return (null, r.Values.Length > 1 ? r.Values[1] as string : null, r.Values.Length > 2 ? Text(r.Values[2]) : null);
        var (res, _) = ToResponse(r.Values, 1);
        return (res, null, null);
    }

    private static (Response? Res, string? Error) ToResponse(object?[] values, int errIndex)
    {
        if (values.Length == 0 || values[0] == null)
            return (null, values.Length > errIndex ? Text(values[errIndex]) : null);
        var status = Convert.ToInt32(values[0], System.Globalization.CultureInfo.InvariantCulture);
        var body = values.Length > 1 ? values[1] as string : null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (values.Length > 2 && values[2] is LuaTable t)
        {
            foreach (KeyValuePair<object, object> kv in t)
                if (kv.Key is string k && kv.Value is string v) headers[k] = v;
            t.Dispose();
        }
        return (new Response(status, body, headers), null);
    }

    private static string? Text(object? v) => v switch
    {
        null => null,
        string s => s,
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task<LuaEntryResult> Run(LuaWorker worker, LuaFunction fn, NgxRequest? request, params object?[] args)
    {
        var run = worker.RunEntry(fn, request, args);
        return run.IsCompleted ? run.Result : await run;
    }

    public void Dispose()
    {
        _httpc?.Dispose();
        _httpc = null;
    }
}
