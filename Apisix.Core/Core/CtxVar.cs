using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// Port of the <c>ctx.var</c> table of <c>apisix/core/ctx.lua</c>: a per-request cache in front
/// of nginx variables. A read returns the cached value (which keeps its type: a table, a
/// number, a boolean), else the APISIX variable (<c>route_id</c>...), else the nginx variable.
/// A write caches the value and, for the variables APISIX declares in its nginx.conf, writes
/// its string form through to nginx, where the access log reads it.
/// </summary>
public sealed class CtxVar
{
    private readonly Dictionary<string, object?> _cache = new(32, StringComparer.Ordinal); // a routed request's reads and writes, unresized
    private readonly ApiCtx _ctx;

    public CtxVar(ApiCtx ctx) => _ctx = ctx;

    /// <summary>Variables declared with `set` in APISIX's nginx.conf (ctx.lua's ngx_var_names).</summary>
    public static readonly IReadOnlySet<string> NgxVarNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "upstream_scheme", "upstream_host", "upstream_upgrade", "upstream_connection", "upstream_uri",
        "request_line", "llm_content_risk_level", "apisix_request_id",
        "request_type", "apisix_upstream_response_time", "llm_time_to_first_token", "request_llm_model",
        "llm_model", "llm_prompt_tokens", "llm_completion_tokens", "llm_total_tokens", "llm_stream",
        "llm_has_tool_calls", "llm_tool_count", "llm_end_user_id", "llm_cache_read_input_tokens",
        "llm_cache_creation_input_tokens", "llm_reasoning_tokens",
        "upstream_mirror_host", "upstream_mirror_uri", "upstream_mirror_grpc_path",
        "upstream_cache_zone", "upstream_cache_zone_info", "upstream_no_cache", "upstream_cache_key",
        "upstream_cache_bypass", "rate_limiting_info",
        "var_x_forwarded_proto", "var_x_forwarded_port", "var_x_forwarded_host",
    };

    // Variables whose value changes during the request, so a read must not be cached.
    private static readonly IReadOnlySet<string> NoCache = new HashSet<string>(StringComparer.Ordinal)
    {
        "upstream_status", "upstream_addr", "upstream_response_time", "upstream_bytes_received",
        "status", "bytes_sent", "body_bytes_sent", "request_time", "msec", "upstream_connect_time",
        "upstream_header_time", "upstream_response_length", "sent_http_content_type",
    };

    /// <summary>`ctx.var[name]`: the value as Lua would see it (null for nil).</summary>
    public object? this[string name]
    {
        get => Get(name);
        set => Set(name, value);
    }

    public object? Get(string name)
    {
        if (_cache.TryGetValue(name, out var cached) && cached != null) return cached;
        object? val = name switch
        {
            "route_id" => _ctx.RouteId,
            "route_name" => _ctx.RouteName,
            "service_id" => _ctx.ServiceId,
            "service_name" => _ctx.ServiceName,
            "balancer_ip" => _ctx.BalancerIp,
            "balancer_port" => _ctx.BalancerPort,
            "consumer_name" => _ctx.ConsumerName,
            "consumer_group_id" => null,
            "resp_body" => "",
            // ctx.lua: a header variable's name is lowercased with '-' as '_' first
            _ when name.StartsWith("post_arg_", StringComparison.Ordinal) => PostArg(name[9..]),
            _ when name.StartsWith("post_arg.", StringComparison.Ordinal) => BodyArg(name[9..]),
            _ when name.StartsWith("http_", StringComparison.Ordinal) =>
                NgxVars.Get(_ctx.Request.Nginx, _ctx.Request, name.ToLowerInvariant().Replace('-', '_')),
            _ when name.StartsWith("uri_param_", StringComparison.Ordinal)
                => _ctx.CurrReqMatched?.GetValueOrDefault(name["uri_param_".Length..]),
            _ => NgxVars.Get(_ctx.Request.Nginx, _ctx.Request, name),
        };
        if (val != null && !NoCache.Contains(name) && !name.StartsWith("sent_http_", StringComparison.Ordinal))
            _cache[name] = val;
        return val;
    }

    /// <summary>
    /// <c>post_arg_NAME</c>: the first value of a form field, only for an
    /// application/x-www-form-urlencoded body (<c>request.get_post_args</c>, kept as
    /// <c>ctx.req_post_args</c>). The body must have been read already (the router and
    /// traffic-split read it first when a condition names such a variable).
    /// </summary>
    /// <summary>
    /// <c>post_arg.PATH</c>: a value of the body parsed by its Content-Type
    /// (<c>request.get_request_body_table</c>); PATH is a JSONPath (a list of matches) when it has
    /// '[', '*' or '..', else dot-separated keys (a Lua table indexed by strings: arrays give nil). The body must have been read already.
    /// </summary>
    private object? BodyArg(string key)
    {
        var (body, err) = CoreRequest.GetRequestBodyTable(_ctx, null, null);
        if (body == null)
        {
            _ctx.Log(LogLevel.Warn, $"failed to fetch post args value by key: {key} error: {err}");
            return null;
        }
        if (key.IndexOfAny(['[', '*']) >= 0 || key.Contains("..", StringComparison.Ordinal))
        {
            var (results, _) = Utils.JsonPath.Query(body, "$." + key);
            if (results == null || results.Count == 0) return null;
            return new JsonArray(results.Select(r => r?.DeepClone()).ToArray());
        }
        JsonNode? current = body;
        foreach (var part in key.Split('.'))
        {
            if (part.Length == 0) continue;
            current = current switch
            {
                JsonObject o => o[part],
                _ => null,
            };
            if (current == null) return null;
        }
        return current;
    }

    /// <summary>Whether the form body was parsed (<c>ctx.req_post_args</c> is set).</summary>
    public bool PostArgsParsed => _ctx.Items.ContainsKey("req_post_args");

    private object? PostArg(string key)
    {
        var req = _ctx.Request;
        var contentType = req.RequestHeader("Content-Type");
        if (contentType == null || !contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal)) return null;
        if (_ctx.Items.GetValueOrDefault("req_post_args") is not Dictionary<string, object> args)
        {
            args = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var pair in (req.BodyText() ?? "").Split('&'))
            {
                if (pair.Length == 0) continue;
                var eq = pair.IndexOf('=');
                var k = FormUnescape(eq < 0 ? pair : pair[..eq]);
                if (k.Length == 0 || args.ContainsKey(k)) continue;
                args[k] = eq < 0 ? true : FormUnescape(pair[(eq + 1)..]);
            }
            if (req.BodyRead) _ctx.Items["req_post_args"] = args;
        }
        return args.GetValueOrDefault(key);
    }

    internal static string FormUnescape(string s)
    {
        if (s.IndexOfAny(['%', '+']) < 0) return s;
        var bytes = new List<byte>();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '+') bytes.Add((byte)' ');
            else if (s[i] == '%' && i + 2 < s.Length && Uri.IsHexDigit(s[i + 1]) && Uri.IsHexDigit(s[i + 2]))
            {
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else bytes.Add((byte)s[i]);
        }
        return System.Text.Encoding.Latin1.GetString(bytes.ToArray());
    }

    /// <summary>The value in its string form (what `tostring` or an nginx variable holds), or null.</summary>
    public string? GetString(string name) => ToVarString(Get(name));

    public void Set(string name, object? value)
    {
        if (NgxVarNames.Contains(name) || name is "uri" or "args" or "request_uri")
            NgxVars.Set(_ctx.Request, name, ToVarString(value));
        _cache[name] = value;
    }

    /// <summary>A variable's value as JSON (what cjson makes of the Lua value): numbers as cjson writes them, other values as their string form.</summary>
    public static JsonNode? ToJsonNode(object? value) => value switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        long l => CJson.NumberNode(l),
        int i => CJson.NumberNode(i),
        double d => CJson.NumberNode(d),
        _ => JsonValue.Create(value.ToString()),
    };

    /// <summary>How an nginx variable stores a Lua value: numbers as LuaJIT prints them, strings as they are.</summary>
    public static string? ToVarString(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => LuaNumber.ToLuaString(d),
        JsonValue v when JsonScalars.TryGetString(v, out var s) => s,
        JsonValue v when JsonScalars.TryGetNumber(v, out var d) => LuaNumber.ToLuaString(d),
        JsonValue v when JsonScalars.TryGetBoolean(v, out var b) => b ? "true" : "false",
        _ => value.ToString(),
    };
}
