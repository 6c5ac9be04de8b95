using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;
using Apisix.Core.Store;

namespace Apisix.Core.Admin;

/// <summary>
/// APISIX's Admin API (<c>apisix.http_admin()</c> with <c>apisix/admin/init.lua</c>
/// and the resource modules) as a plain handler: one request in, one
/// response out, no HTTP server involved. Resources: routes, services,
/// upstreams, consumers, plugin_metadata, global_rules, plus
/// <c>plugins</c> (schema and list), <c>schema</c>, <c>plugins/reload</c> and
/// <c>schema/validate</c>.
///
/// State lives in the <see cref="ConfigStore"/> (keys under the configured
/// etcd prefix); plugin confs are checked with the enabled plugins of the
/// <see cref="PluginRegistry"/>.
/// </summary>
public sealed class AdminApi
{
    private const double MaxReqBody = 1024 * 1024 * 1.5;

    private readonly ApisixConfig _config;
    private readonly PluginRegistry _plugins;
    private readonly AdminOptions _options;
    private readonly EtcdView _etcd;
    private readonly Resources _resources;
    private readonly DataEncryption _encryption;

    public AdminApi(ApisixConfig config, IEtcdStore store, PluginRegistry plugins, AdminOptions? options = null)
    {
        _config = config;
        _plugins = plugins;
        _options = options ?? new AdminOptions();
        Store = store;
        _encryption = config.DataEncryption;
        _plugins.Encryption ??= _encryption;
        Etcd = new Etcd(store, config) { Log = (level, msg) => Write(level.ToString().ToLowerInvariant(), msg) };
        _etcd = new EtcdView(store, Etcd);
        _resources = new Resources(_etcd, plugins, _options, _encryption);
    }

    /// <summary>The <c>core.etcd</c> the resources write through.</summary>
    public Etcd Etcd { get; }

    /// <summary>The store the API writes to (the in-memory one, or a real etcd cluster's client).</summary>
    public IEtcdStore Store { get; }

    /// <summary>Log sink: (nginx level name, message), for the lines APISIX logs while serving admin requests.</summary>
    public Action<string, string>? Log { get; set; }

    /// <summary>The request's own log sink while <see cref="Handle"/> runs on this thread (a worker's).</summary>
    [ThreadStatic] private static Action<string, string>? _requestLog;

    private void Write(string level, string message) => (_requestLog ?? Log)?.Invoke(level, message);

    private bool V3 => _config.AdminApiVersion == "v3";

    /// <summary>
    /// The admin part of a worker's start (<c>admin.init_worker</c>): worker 0 warns when the
    /// admin key is not required and, with etcd as the config provider, resets <c>/plugins</c>
    /// to the local plugin list when it differs (on a timer, as upstream).
    /// </summary>
    public void InitWorker(int workerId, Action<string, string> log, Action<Action> timer)
    {
        if (!_config.EnableAdmin || workerId != 0) return;
        if (!_config.AdminKeyRequired)
        {
            log("warn", "Admin key is bypassed! If you are deploying APISIX in a production environment, "
                        + "please enable `admin_key_required` and set a secure admin key!");
        }
        if (_config.ConfigProvider == "yaml") return;
        timer(() =>
        {
            var previous = _requestLog;
            _requestLog = log;
            try { SyncLocalConfToEtcd(reset: true); }
            finally { _requestLog = previous; }
        });
    }

    /// <summary>
    /// <c>sync_local_conf_to_etcd</c>: the enabled plugin names (and stream plugins, marked)
    /// under <c>/plugins</c>; with <paramref name="reset"/> only when a stored list differs.
    /// </summary>
    private void SyncLocalConfToEtcd(bool reset)
    {
        var plugins = new JsonArray();
        foreach (var name in _config.Plugins) plugins.Add(new JsonObject { ["name"] = name });
        foreach (var name in _config.StreamPlugins) plugins.Add(new JsonObject { ["name"] = name, ["stream"] = true });

        if (reset)
        {
            var (res, err) = Etcd.Get("/plugins");
            if (res == null)
            {
                Write("error", "failed to get current plugins: " + err);
                return;
            }
            if (res.Status == 404) return;
            if (res.Status != 200)
            {
                Write("error", "failed to get current plugins, status: " + res.Status);
                return;
            }
            var node = res.Body["node"] as JsonObject;
            long revision = JsonScalars.TryGetNumber(node?["modifiedIndex"], out var r) ? (long)r : 0;
            if (PluginsEq(node?["value"], plugins))
            {
                Write("info", "plugins not changed, don't need to reset");
                return;
            }
            Write("warn", "sync local conf to etcd");
            var (set, serr) = Etcd.AtomicSet("/plugins", plugins, null, revision);
            if (set == null) Write("error", "failed to set plugins: " + serr);
            return;
        }

        Write("warn", "sync local conf to etcd");
        var (put, perr) = Etcd.Set("/plugins", plugins);
        if (put == null) Write("error", "failed to set plugins: " + perr);
    }

    private static bool PluginsEq(JsonNode? stored, JsonArray local)
    {
        static Dictionary<string, string> Set(JsonNode? list)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in list as JsonArray ?? new JsonArray())
            {
                if (p is JsonObject o && JsonScalars.TryGetString(o["name"], out string n)) d[n] = CJson.Encode(o);
            }
            return d;
        }
        var a = Set(stored);
        var b = Set(local);
        return a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }

    /// <summary>
    /// Serves one admin request.
    /// </summary>
    /// <param name="method">HTTP method, e.g. "PUT".</param>
    /// <param name="uri">Request path, optionally with "?query".</param>
    /// <param name="body">Request body as a byte string; null or empty for none.</param>
    /// <param name="headers">Request headers with lower-cased names.</param>
    /// <param name="query">Query string without "?" (used when <paramref name="uri"/> has none).</param>
    /// <param name="log">Where this request's log lines go (level name, message); null for <see cref="Log"/>.</param>
    /// <param name="standalone">The running nginx's side of the standalone admin API (config provider yaml).</param>
    public AdminResponse Handle(string method, string uri, string? body, IReadOnlyDictionary<string, string> headers,
        string? query = null, Action<string, string>? log = null, IStandaloneHost? standalone = null)
    {
        var previous = _requestLog;
        _requestLog = log;
        try
        {
            return HandleRequest(method, uri, body, headers, query, standalone);
        }
        finally
        {
            _requestLog = previous;
        }
    }

    private AdminResponse HandleRequest(string method, string uri, string? body, IReadOnlyDictionary<string, string> headers,
        string? query, IStandaloneHost? standalone)
    {
        int q = uri.IndexOf('?');
        if (q >= 0)
        {
            query ??= uri.Substring(q + 1);
            uri = uri.Substring(0, q);
        }
        string path = NormalizePath(uri);
        var args = ParseArgs(query);
        var ctx = new RequestContext(method.ToUpperInvariant(), path, body, headers, args) { Standalone = standalone };

        try
        {
            return Dispatch(ctx);
        }
        catch (LuaRuntimeError e)
        {
            Write("error", "lua entry thread aborted: runtime error: " + e.Message);
            return ctx.ErrorPage(500, _options.ErrorPageFooter);
        }
        catch (StoreUnavailableException e)
        {
            // a remote etcd failed: the resources answer core.etcd's failure with 503 and its error
            Write("error", "failed to reach etcd: " + e.Message);
            return ctx.Json(503, new JsonObject { ["error_msg"] = e.Message });
        }
    }

    private sealed class RequestContext
    {
        public RequestContext(string method, string path, string? body, IReadOnlyDictionary<string, string> headers,
            Dictionary<string, string> args)
        {
            Method = method;
            Path = path;
            Body = body;
            Headers = headers;
            Args = args;
        }

        public string Method { get; }
        public string Path { get; }
        public string? Body { get; }
        public IReadOnlyDictionary<string, string> Headers { get; }
        public Dictionary<string, string> Args { get; }
        public IStandaloneHost? Standalone { get; init; }
        public List<KeyValuePair<string, string>> ResponseHeaders { get; } = new();

        public void SetHeader(string name, string value)
        {
            ResponseHeaders.RemoveAll(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));
            ResponseHeaders.Add(new(name, value));
        }

        public AdminResponse Json(int status, JsonNode? body) =>
            new(status, CJson.Encode(body) + "\n", "application/json") { Headers = ResponseHeaders.ToList() };

        public AdminResponse Text(int status, string text) =>
            new(status, text, "application/json") { Headers = ResponseHeaders.ToList() };

        /// <summary>nginx's own page for an error status with no body of ours.</summary>
        public AdminResponse ErrorPage(int status, string footer)
        {
            string reason = status switch
            {
                404 => "404 Not Found",
                405 => "405 Not Allowed",
                500 => "500 Internal Server Error",
                503 => "503 Service Temporarily Unavailable",
                _ => status + "",
            };
            string page = "<html>\r\n<head><title>" + reason + "</title></head>\r\n<body>\r\n<center><h1>" + reason
                          + "</h1></center>\r\n<hr><center>" + footer + "</center>\r\n</body>\r\n</html>\r\n";
            return new AdminResponse(status, page, "text/html") { Headers = ResponseHeaders.ToList() };
        }
    }

    private AdminResponse Dispatch(RequestContext ctx)
    {
        ctx.SetHeader("Server", _options.ServerHeader
            ?? (_config.Get("apisix", "enable_server_tokens") is JsonValue v && v.TryGetValue(out bool tokens) && !tokens
                ? "APISIX"
                : "APISIX/" + AdminOptions.ApisixVersion));

        if (_config.EnableAdminCors)
        {
            if (ctx.Method == "OPTIONS")
            {
                ctx.SetHeader("Access-Control-Allow-Origin", "*");
                ctx.SetHeader("Access-Control-Allow-Methods", "POST, GET, PUT, OPTIONS, DELETE, PATCH");
                ctx.SetHeader("Access-Control-Max-Age", "3600");
                ctx.SetHeader("Access-Control-Allow-Headers", "*");
                ctx.SetHeader("Access-Control-Allow-Credentials", "true");
                ctx.SetHeader("Content-Length", "0");
                return new AdminResponse(200, "", "text/plain") { Headers = ctx.ResponseHeaders.ToList() };
            }

            ctx.SetHeader("Access-Control-Allow-Origin", "*");
            ctx.SetHeader("Access-Control-Allow-Credentials", "true");
            ctx.SetHeader("Access-Control-Expose-Headers", "*");
            ctx.SetHeader("Access-Control-Max-Age", "3600");
        }

        string p = ctx.Path;
        string m = ctx.Method;

        // Exact paths first, then the prefix routes, longest first; a path
        // whose method does not match falls through to the next candidate.
        if (p == "/apisix/admin" && m == "HEAD") return ctx.Text(200, "");
        if (IsStandalone) return DispatchStandalone(ctx);
        if (p == "/apisix/admin/configs/validate" && m == "POST") return ValidateConfigs(ctx);
        if (p == "/apisix/admin/plugins/list" && m == "GET") return GetPluginsList(ctx);
        if (p == "/apisix/admin/plugins/reload")
        {
            if (m == "PUT") return ReloadPlugins(ctx);
            if (m is "GET" or "POST" or "DELETE" or "PATCH") return UnsupportedReload(ctx);
        }
        if (p.StartsWith("/apisix/admin/schema/validate/", StringComparison.Ordinal) && m == "POST")
            return SchemaValidate(ctx);
        if (p.StartsWith("/apisix/admin/", StringComparison.Ordinal)
            && m is "GET" or "PUT" or "POST" or "DELETE" or "PATCH")
            return Run(ctx);

        return ctx.ErrorPage(404, _options.ErrorPageFooter);
    }

    /// <summary>The config provider is yaml: the admin API serves only <c>/apisix/admin/configs</c> (<c>standalone_uri_route</c>).</summary>
    private bool IsStandalone => _config.ConfigProvider == "yaml";

    private AdminResponse DispatchStandalone(RequestContext ctx)
    {
        string p = ctx.Path, m = ctx.Method;
        bool configs = p == "/apisix/admin/configs" && m is "GET" or "PUT" or "HEAD";
        bool validate = p == "/apisix/admin/configs/validate" && m == "POST";
        if (!configs && !validate) return ctx.ErrorPage(404, _options.ErrorPageFooter);
        if (TokenFailure(ctx) is { } denied) return denied;
        if (validate) return ValidateConfigs(ctx);

        if (ctx.Standalone == null)
        {
            Write("error", "the standalone admin API needs the running nginx's shared dicts");
            return ctx.Json(500, new JsonObject { ["error_msg"] = "standalone config storage unavailable" });
        }
        var standalone = new Standalone(_resources);
        var r = m switch
        {
            "PUT" => standalone.Update(ctx.Standalone, ctx.Headers, ctx.Body, Write),
            "HEAD" => standalone.Head(ctx.Standalone, Write),
            _ => standalone.Get(ctx.Standalone, ctx.Headers, Write),
        };
        foreach (var (name, value) in r.Headers ?? [])
        {
            if (value == null) ctx.ResponseHeaders.RemoveAll(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));
            else ctx.SetHeader(name, value);
        }
        return r.Json != null ? ctx.Json(r.Status, r.Json) : ctx.Text(r.Status, r.Text ?? "");
    }

    /// <summary>check_token: null when the request may proceed, else the reason.</summary>
    private string? CheckToken(RequestContext ctx)
    {
        if (!_config.AdminKeyRequired) return null;
        if (!_config.HasAdminKeyList) return null;

        string? token = ctx.Args.TryGetValue("api_key", out var a) ? a : null;
        // ctx.var.http_x_api_key: nginx matches the header name with "-" read as "_"
        // (APISIX turns underscores_in_headers on, so "x_api_key" counts too)
        token ??= ctx.Headers.FirstOrDefault(kv => kv.Key.Replace('-', '_') == "x_api_key").Value;
        token ??= Cookie(ctx.Headers, "x_api_key");
        if (token == null) return "missing apikey";

        AdminKey? admin = _config.AdminKeys.FirstOrDefault(k => k.Key == token);
        if (admin == null) return "wrong apikey";

        if (admin.Role == "viewer" && ctx.Method != "GET") return "invalid method for role viewer";
        return null;
    }

    private AdminResponse? TokenFailure(RequestContext ctx)
    {
        string? err = CheckToken(ctx);
        if (err == null) return null;
        Write("warn", "failed to check token: " + err);
        return ctx.Json(401, new JsonObject { ["error_msg"] = "failed to check token", ["description"] = err });
    }

    private static string? Cookie(IReadOnlyDictionary<string, string> headers, string name)
    {
        if (!headers.TryGetValue("cookie", out var cookie)) return null;
        foreach (var part in cookie.Split(';'))
        {
            int eq = part.IndexOf('=');
            if (eq < 0) continue;
            if (part.Substring(0, eq).Trim() == name) return part.Substring(eq + 1).Trim();
        }
        return null;
    }

    /// <summary>Reads the body as <c>core.request.get_body</c> with the admin limit, then decodes it.</summary>
    private (bool Present, JsonNode? Value, AdminResponse? Error) ReadBody(RequestContext ctx)
    {
        if (ctx.Headers.TryGetValue("content-length", out var cl) && LuaText.ToNumber(cl) is double len
            && len > MaxReqBody)
        {
            return (false, null, BodyError(ctx, "request size " + LuaNumber.ToLuaString(len)
                                               + " is greater than the maximum size 1572864 allowed"));
        }

        if (string.IsNullOrEmpty(ctx.Body)) return (false, null, null);
        if (ctx.Body.Length > MaxReqBody)
            return (false, null, BodyError(ctx, "request size " + ctx.Body.Length
                                               + " is greater than the maximum size 1572864 allowed"));

        var (value, err) = CJson.Decode(ctx.Body);
        if (err != null)
        {
            Write("error", "invalid request body: " + ctx.Body + " err: " + err);
            return (false, null, ctx.Json(400, new JsonObject
            {
                ["error_msg"] = "invalid request body: " + err,
                ["req_body"] = ctx.Body,
            }));
        }
        return (true, value, null);
    }

    private AdminResponse BodyError(RequestContext ctx, string err)
    {
        Write("error", "failed to read request body: " + err);
        return ctx.Json(400, new JsonObject { ["error_msg"] = "invalid request body: " + err });
    }

    private AdminResponse Run(RequestContext ctx)
    {
        if (TokenFailure(ctx) is { } denied) return denied;

        var segs = AdminUtils.Split(ctx.Path);
        string? At(int i1) => i1 <= segs.Count ? segs[i1 - 1] : null;

        string? segRes = At(4);
        string? segId = At(5);
        string subPath = AdminUtils.Concat(segs, "/", 6);
        if (segRes == "schema" && segId == "plugins")
        {
            segRes = At(5);
            segId = At(6);
            subPath = AdminUtils.Concat(segs, "/", 7);
        }

        if (segRes == null) throw new LuaRuntimeError("attempt to concatenate local 'seg_res' (a nil value)");

        if (segRes == "consumers" && segs.Count >= 6 && segs[5] == "credentials")
        {
            subPath = segId + "/" + subPath;
            segRes = segs[5];
            segId = At(7);
        }

        if (segRes == "stream_routes" && _config.ProxyMode is not ("stream" or "http&stream"))
        {
            Write("warn", "stream mode is disabled, can not add any stream routes");
            return ctx.Json(400, new JsonObject { ["error_msg"] = "stream mode is disabled, can not add stream routes" });
        }

        string method = ctx.Method.ToLowerInvariant();
        bool special = segRes is "plugins" or "schema";
        AdminResource? resource = null;
        if (!special && !_resources.All.TryGetValue(segRes, out resource))
        {
            return ctx.Json(404, new JsonObject { ["error_msg"] = "Unsupported resource type: " + segRes });
        }
        if (special && method != "get")
        {
            return ctx.Json(404, new JsonObject { ["error_msg"] = "not found" });
        }

        var (present, body, bodyError) = ReadBody(ctx);
        if (bodyError != null) return bodyError;

        if (ctx.Args.TryGetValue("ttl", out var ttl) && LuaText.ToNumber(ttl) == null)
        {
            return ctx.Json(400, new JsonObject { ["error_msg"] = "invalid argument ttl: should be a number" });
        }

        HandlerResult result;
        if (segRes == "plugins")
        {
            result = GetPlugin(ctx, segId);
        }
        else if (segRes == "schema")
        {
            result = GetSchema(segId);
        }
        else
        {
            result = method switch
            {
                "get" => resource!.Get(segId, subPath),
                "put" => resource!.Put(segId, body, present, Ttl(ctx.Args), subPath),
                "post" => resource!.Post(segId, body, present, Ttl(ctx.Args)),
                "delete" => resource!.Delete(segId, ctx.Args, subPath),
                _ => resource!.Patch(segId, body, present, subPath, Ttl(ctx.Args)),
            };
        }

        if (result.Text != null) return ctx.Text(result.Status, result.Text);

        JsonNode? data = result.Body;
        if (result.Status == 200 && method == "get" && _encryption.Enabled && data is JsonObject d && !special)
        {
            var type = segRes switch
            {
                "consumers" or "credentials" => SchemaType.Consumer,
                "plugin_metadata" => SchemaType.Metadata,
                _ => SchemaType.Plugin,
            };
            DecryptParams(d, type);
        }

        ctx.SetHeader("X-API-VERSION", V3 ? "v3" : "v2");

        if (!special && resource != null && data is JsonObject body2)
        {
            var (filtered, pageError) = V3Filter(body2, ctx.Args, resource);
            if (pageError != null) return ctx.Text(400, pageError);
            data = filtered;
        }

        return ctx.Json(result.Status, StripEtcdResp(data));
    }

    private static long? Ttl(Dictionary<string, string> args) =>
        args.TryGetValue("ttl", out var t) && LuaText.ToNumber(t) is double d ? (long)d : null;

    /// <summary>
    /// <c>strip_etcd_resp</c>: an answer that still carries etcd's header loses the header and
    /// the other etcd-only fields; <c>deleted</c> stays a string.
    /// </summary>
    private static JsonNode? StripEtcdResp(JsonNode? data)
    {
        if (data is not JsonObject o || o["header"] is not JsonObject header
            || header["revision"] == null || header["raft_term"] == null)
            return data;
        o.Remove("header");
        o.Remove("responses");
        o.Remove("succeeded");
        if (o["node"] is JsonObject node)
        {
            node.Remove("createdIndex");
            node.Remove("modifiedIndex");
        }
        o.Remove("count");
        o.Remove("more");
        o.Remove("prev_kvs");
        if (o.ContainsKey("deleted") && LuaText.FieldIsTruthy(o, "deleted")) o["deleted"] = LuaText.ToLuaString(o["deleted"]);
        return o;
    }

    /// <summary><c>utils.decrypt_params</c>: opens the encrypted plugin fields of a GET answer.</summary>
    private void DecryptParams(JsonObject body, SchemaType type)
    {
        if (body["list"] is JsonArray list)
        {
            foreach (var item in list)
            {
                if (item?["value"] is JsonObject v) _resources.DecryptPlugins(v, type);
            }
            return;
        }

        if (body["node"]?["value"] is JsonObject value)
        {
            _resources.DecryptPlugins(value, type);
            if (type == SchemaType.Metadata) _resources.DecryptMetadata(value);
        }
    }

    /// <summary>
    /// <c>v3_adapter.filter</c>: unwraps the node of single answers, and for
    /// lists applies the name/label/uri/filter query filters, counts the total
    /// and pages. Returns the text of a page_size error instead when the
    /// paging arguments are out of range.
    /// </summary>
    private (JsonNode? Body, string? PageError) V3Filter(JsonObject body, Dictionary<string, string> args,
        AdminResource resource)
    {
        if (!V3) return (body, null);

        var processed = (JsonObject)body.DeepClone();
        if (processed.ContainsKey("deleted")) processed.Remove("node");

        if (processed["node"] is JsonObject node) return (node.DeepClone(), null);

        if (processed["list"] is JsonArray list)
        {
            for (int i = list.Count - 1; i >= 0; i--)
            {
                if (!ListItemMatches(list[i] as JsonObject, args, resource)) list.RemoveAt(i);
            }
            processed["total"] = list.Count;

            if (args.TryGetValue("page", out var pageText) && args.TryGetValue("page_size", out var sizeText)
                && LuaText.ToNumber(pageText) is double page && LuaText.ToNumber(sizeText) is double size)
            {
                if (size < 10 || size > 500) return (null, "page_size must be between 10 and 500");
                if (page < 1) page = 1;

                var sorted = list.Select(n => n).OrderBy(n => n?["createdIndex"]?.GetValue<long>() ?? 0).ToList();
                double to = page * size;
                double from = to - size + 1;
                var paged = new JsonArray();
                for (int i = 0; i < sorted.Count; i++)
                {
                    int i1 = i + 1;
                    if (i1 >= from && i1 <= to) paged.Add(sorted[i]?.DeepClone());
                }
                processed["list"] = paged;
            }

            processed.Remove("count");
        }

        return (processed, null);
    }

    private static bool ListItemMatches(JsonObject? item, Dictionary<string, string> args, AdminResource resource)
    {
        var value = item?["value"] as JsonObject;

        if (args.TryGetValue("name", out var name))
        {
            string subject = value != null && value.TryGetPropertyValue("name", out var n) ? LuaText.ToLuaString(n) : "nil";
            if (!PcrePattern.Find(subject, name)) return false;
        }

        if (args.TryGetValue("label", out var label))
        {
            if (value?["labels"] is not JsonObject labels || !labels.ContainsKey(label)) return false;
        }

        if (args.TryGetValue("uri", out var uriPattern))
        {
            bool matched = false;
            if (value != null && JsonScalars.TryGetString(value["uri"], out string u) && PcrePattern.Find(u, uriPattern))
                matched = true;
            if (value?["uris"] is JsonArray uris)
            {
                foreach (var x in uris)
                {
                    if (JsonScalars.TryGetString(x, out string ux) && PcrePattern.Find(ux, uriPattern))
                    {
                        matched = true;
                        break;
                    }
                }
            }
            if (!matched) return false;
        }

        if (args.TryGetValue("filter", out var filter))
        {
            foreach (var (key, val) in ParseArgs(filter))
            {
                if (!resource.ListFilterFields.Contains(key)) continue;
                if (value == null || !LuaText.FieldIsTruthy(value, key)) return false;
                if (!(JsonScalars.TryGetString(value[key], out string have) && have == val)) return false;
            }
        }

        return true;
    }

    private AdminResponse GetPluginsList(RequestContext ctx)
    {
        if (TokenFailure(ctx) is { } denied) return denied;

        string subsystem = ctx.Args.TryGetValue("subsystem", out var s) ? s : "http";
        if (subsystem is not ("http" or "stream")) return ctx.Text(400, "invalid subsystem passed");

        var names = subsystem == "http" ? _config.Plugins : _config.StreamPlugins;
        var found = new List<(string Name, int Priority, int Index)>();
        int i = 0;
        foreach (var n in names)
        {
            var p = subsystem == "http" ? _plugins.Get(n) : null;
            if (p != null) found.Add((n, p.Priority, i++));
        }
        var arr = new JsonArray();
        foreach (var f in found.OrderByDescending(f => f.Priority).ThenBy(f => f.Index)) arr.Add(f.Name);
        return ctx.Json(200, arr);
    }

    private HandlerResult GetPlugin(RequestContext ctx, string? name)
    {
        string subsystem = ctx.Args.TryGetValue("subsystem", out var s) ? s : "http";
        if (subsystem is not ("http" or "stream"))
            return new HandlerResult(400, CheckResult.Msg("unsupported subsystem: " + subsystem));

        // arg all (to be deprecated): every loaded plugin of the subsystem with its attributes
        if (ctx.Args.TryGetValue("all", out var all) && all == "true")
        {
            Write("warn", "query parameter \"all\" will be deprecated soon.");
            var (http, stream) = _plugins.GetAll();
            return new HandlerResult(200, ctx.Args.TryGetValue("subsystem", out var sub) && sub == "stream" ? stream : http);
        }

        var plugin = subsystem == "http" && name != null ? _plugins.Get(name) : null;
        if (plugin == null)
        {
            string err = "plugin not found in subsystem " + subsystem;
            Write("warn", err);
            return new HandlerResult(404, CheckResult.Msg(err));
        }

        JsonNode? schema = ctx.Args.TryGetValue("schema_type", out var st) && st == "consumer"
            ? plugin.ConsumerSchema
            : plugin.Schema;
        if (schema == null) return new HandlerResult(400, CheckResult.Msg("not found schema"));
        return new HandlerResult(200, schema.DeepClone());
    }

    private static JsonObject? CoreSchema(string? name) => name switch
    {
        "route" => SchemaDefs.Route,
        "service" => SchemaDefs.Service,
        "upstream" => SchemaDefs.Upstream,
        "consumer" => SchemaDefs.Consumer,
        "global_rule" => SchemaDefs.GlobalRule,
        "plugin_config" => SchemaDefs.PluginConfig,
        "consumer_group" => SchemaDefs.ConsumerGroup,
        "proto" => Protos.Schema,
        "ssl" => Ssl.Schema,
        "stream_route" => SchemaDefs.StreamRoute,
        "credential" => Credentials.Schema,
        _ => null,
    };

    private static HandlerResult GetSchema(string? name)
    {
        var schema = CoreSchema(name);
        if (schema == null) return new HandlerResult(400, CheckResult.Msg("not found schema: " + name));
        return new HandlerResult(200, schema.DeepClone());
    }

    private AdminResponse SchemaValidate(RequestContext ctx)
    {
        if (TokenFailure(ctx) is { } denied) return denied;

        var segs = AdminUtils.Split(ctx.Path);
        string? segRes = segs.Count >= 6 ? segs[5] : null;
        string singular = segRes switch
        {
            "routes" => "route",
            "services" => "service",
            "upstreams" => "upstream",
            "consumers" => "consumer",
            "global_rules" => "global_rule",
            "plugin_configs" => "plugin_config",
            "consumer_groups" => "consumer_group",
            "ssls" => "ssl",
            _ => "",
        };
        var schema = CoreSchema(singular);
        if (segRes == null || schema == null)
        {
            if (segRes == null) throw new LuaRuntimeError("attempt to concatenate local 'seg_res' (a nil value)");
            return ctx.Json(404, new JsonObject { ["error_msg"] = "Unsupported resource type: " + segRes });
        }

        var (present, body, bodyError) = ReadBody(ctx);
        if (bodyError != null) return bodyError;

        var (ok, err) = JsonSchema.Check(schema, present ? body : null);
        if (ok) return ctx.Text(200, "");
        return ctx.Json(400, new JsonObject { ["error_msg"] = err });
    }

    /// <summary><c>validate_configs</c> (<c>config_validate.validate</c>): check a whole configuration, store nothing.</summary>
    private AdminResponse ValidateConfigs(RequestContext ctx)
    {
        if (TokenFailure(ctx) is { } denied) return denied;

        string contentType = ctx.Headers.TryGetValue("content-type", out var ct) ? ct : "application/json";
        if (ctx.Headers.TryGetValue("content-length", out var cl) && LuaText.ToNumber(cl) is double len && len > MaxReqBody)
            return ctx.Json(400, new JsonObject { ["error_msg"] = "invalid request body: request size "
                + LuaNumber.ToLuaString(len) + " is greater than the maximum size 1572864 allowed" });
        if (string.IsNullOrEmpty(ctx.Body))
            return ctx.Json(400, new JsonObject { ["error_msg"] = "invalid request body: empty request body" });

        JsonNode? data;
        string? err = null;
        if (contentType.StartsWith("application/yaml", StringComparison.Ordinal))
        {
            try
            {
                data = YamlLoader.Load(ctx.Body);
                if (data is not (JsonObject or JsonArray)) err = "invalid yaml request body";
            }
            catch (Exception)
            {
                data = null;
                err = "invalid yaml request body";
            }
        }
        else
        {
            (data, err) = CJson.Decode(ctx.Body);
        }
        if (err != null)
        {
            Write("warn", "invalid request body: " + ctx.Body + " err: " + err);
            return ctx.Json(400, new JsonObject { ["error_msg"] = "invalid request body: " + err });
        }

        if (data is not JsonObject body)
        {
            string msg = data is JsonArray ? "attempt to index a table value" : "attempt to index local 'req_body' (a "
                + ConfigMerge.LuaType(data) + " value)";
            Write("warn", "unexpected error during validation: " + msg);
            return ctx.Json(400, new JsonObject
            {
                ["error_msg"] = "Configuration validation failed",
                ["errors"] = new JsonArray(new JsonObject { ["error"] = msg }),
            });
        }

        var (valid, results) = new ConfigValidate(_resources).ValidateConfiguration(body);
        if (!valid)
        {
            return ctx.Json(400, new JsonObject { ["error_msg"] = "Configuration validation failed", ["errors"] = results });
        }
        return ctx.Json(200, new JsonObject());
    }

    private AdminResponse ReloadPlugins(RequestContext ctx)
    {
        if (TokenFailure(ctx) is { } denied) return denied;
        Write("info", "start to hot reload plugins");
        // plugin.load's own log lines ("load plugin times: N") go to this request's error log
        var registryLog = _plugins.Log;
        _plugins.Log = Write;
        try
        {
            _plugins.Load(_config.Plugins);
        }
        finally
        {
            _plugins.Log = registryLog;
        }
        SyncLocalConfToEtcd(reset: false);
        return ctx.Text(200, "done");
    }

    private AdminResponse UnsupportedReload(RequestContext ctx)
    {
        if (TokenFailure(ctx) is { } denied) return denied;
        return ctx.Json(405, new JsonObject
        {
            ["error_msg"] = "please use PUT method to reload the plugins, " + ctx.Method + " method is not allowed.",
        });
    }

    /// <summary>nginx's <c>$uri</c>: percent-decoded, repeated slashes merged.</summary>
    private static string NormalizePath(string uri)
    {
        string decoded = PercentDecode(uri);
        var sb = new StringBuilder(decoded.Length);
        foreach (char c in decoded)
        {
            if (c == '/' && sb.Length > 0 && sb[^1] == '/') continue;
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static string PercentDecode(string s)
    {
        if (s.IndexOf('%') < 0) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && i + 2 < s.Length && IsHex(s[i + 1]) && IsHex(s[i + 2]))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f') or (>= 'A' and <= 'F');

    /// <summary>
    /// <c>ngx.req.get_uri_args</c> reduced to one value per name (the last;
    /// APISIX only reads single values here). "+" is a space; a bare name is "".
    /// </summary>
    private static Dictionary<string, string> ParseArgs(string? query)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(query)) return args;
        foreach (var part in query.Split('&'))
        {
            if (part.Length == 0) continue;
            int eq = part.IndexOf('=');
            string k = PercentDecode((eq < 0 ? part : part.Substring(0, eq)).Replace('+', ' '));
            string v = eq < 0 ? "" : PercentDecode(part.Substring(eq + 1).Replace('+', ' '));
            if (k.Length == 0) continue;
            args[k] = v;
        }
        return args;
    }
}
