// Twin of apisix/plugins/prometheus/exporter.lua
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core.Http;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin.Prometheus;

/// <summary>
/// APISIX's metrics: the metric set (<see cref="HttpInit"/>), what each request adds to it in the
/// log phase (<see cref="HttpLog"/>), the LLM active-connection gauge the AI plugins move, and the
/// page that lists it all (<see cref="GetApi"/>). The metric set belongs to one emulated nginx (a
/// worker's Lua state upstream): it is built from <c>plugin_attr.prometheus</c> the first time that
/// nginx needs it, when the <c>prometheus</c> plugin is enabled. The numbers live in the
/// <c>prometheus-metrics</c> shared dict.
///
/// Differs from upstream: the page is computed when asked for, not by a privileged agent's timer
/// into <c>prometheus-cache</c> every <c>refresh_interval</c>; it is never staler than upstream's.
/// </summary>
public static class Exporter
{
    private const string PluginName = "prometheus";
    public const string DefaultExportUri = "/apisix/prometheus/metrics";

    // 1 ms to 60 s
    private static readonly double[] DefaultBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000];

    // token counts, dense around common prompt sizes, up to 1M
    private static readonly double[] DefaultTokenBuckets =
        [1, 10, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];

    /// <summary><c>metric_label_map</c>: each labelled metric's own labels, in order (extra labels follow them).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> MetricLabelMap = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["http_status"] = ["code", "route", "matched_uri", "matched_host", "service", "consumer", "node",
            "request_type", "request_llm_model", "llm_model", "response_source"],
        ["http_latency"] = ["type", "route", "service", "consumer", "node", "request_type", "request_llm_model", "llm_model"],
        ["bandwidth"] = ["type", "route", "service", "consumer", "node", "request_type", "request_llm_model", "llm_model"],
        ["llm_latency"] = ["type", "route_id", "service_id", "consumer", "node", "request_type", "request_llm_model", "llm_model"],
        ["llm_prompt_tokens"] = ["route_id", "service_id", "consumer", "node", "request_type", "request_llm_model", "llm_model"],
        ["llm_completion_tokens"] = ["route_id", "service_id", "consumer", "node", "request_type", "request_llm_model", "llm_model"],
        ["llm_active_connections"] = ["route", "route_id", "matched_uri", "matched_host", "service", "service_id", "consumer",
            "node", "request_type", "request_llm_model", "llm_model"],
        ["llm_prompt_tokens_dist"] = ["route_id", "service_id", "consumer", "node", "request_type", "request_llm_model", "llm_model"],
        ["llm_completion_tokens_dist"] = ["route_id", "service_id", "consumer", "node", "request_type", "request_llm_model", "llm_model"],
    };

    /// <summary>The metrics of one nginx (upstream: the module's <c>prometheus</c> and <c>metrics</c> locals).</summary>
    public sealed class State
    {
        public required PrometheusLib Prometheus { get; init; }
        public required JsonObject? Attr { get; init; }
        public Dictionary<string, PrometheusLib.Metric> Metrics { get; } = new(StringComparer.Ordinal);
    }

    private static readonly ConditionalWeakTable<Nginx, State> States = new();
    private static readonly object InitLock = new();

    private static bool Enabled(ApiCtx ctx) =>
        ctx.Config?.Get("plugins") is JsonArray list && list.Any(p => JsonScalars.TryGetString(p, out var s) && s == PluginName);

    /// <summary>The nginx's metric set, built on first use; null when prometheus is not enabled or its dict is missing.</summary>
    public static State? For(ApiCtx ctx)
    {
        var nginx = ctx.Request.Nginx;
        if (States.TryGetValue(nginx, out var st)) return st;
        if (!Enabled(ctx)) return null;
        lock (InitLock)
        {
            if (States.TryGetValue(nginx, out st)) return st;
            st = HttpInit(ctx);
            if (st != null) States.AddOrUpdate(nginx, st);
            return st;
        }
    }

    private static JsonNode? TryReadAttr(JsonObject? attr, string a, string b, string c) =>
        ((attr?[a] as JsonObject)?[b] as JsonObject)?[c];

    private static double Exptime(JsonObject? attr, string metric) =>
        JsonScalars.TryGetNumber(TryReadAttr(attr, "metrics", metric, "expire"), out var e) ? e : 0;

    private static double[] Buckets(JsonObject? attr, string key, double[] dflt) =>
        attr?[key] is JsonArray a ? a.Select(n => JsonScalars.TryGetNumber(n, out var d) ? d : 0).ToArray() : dflt;

    /// <summary>
    /// <c>extra_labels(name, ctx)</c>: the names (without a request) or the values (from <c>ctx.var</c>,
    /// "" when unset) of <c>plugin_attr.prometheus.metrics[name].extra_labels</c>.
    /// </summary>
    private static List<string> ExtraLabels(JsonObject? attr, string name, ApiCtx? ctx)
    {
        // most metrics have none: no list for them (callers only read it)
        if (TryReadAttr(attr, "metrics", name, "extra_labels") is not JsonArray labels) return NoLabels;
        var res = new List<string>();
        foreach (var kv in labels)
        {
            if (kv is not JsonObject o || o.Count == 0) continue;
            var (label, v) = o.First();
            if (ctx == null) { res.Add(label); continue; }
            var varName = JsonScalars.TryGetString(v, out var s) && s.Length > 0 ? s[1..] : "";
            res.Add(ctx.Var.GetString(varName) ?? "");
        }
        return res;
    }

    private static readonly List<string> NoLabels = [];

    private static string[] Labels(JsonObject? attr, string metric) => [.. MetricLabelMap[metric], .. ExtraLabels(attr, metric, null)];

    /// <summary><c>http_init</c>: the metric set, under <c>plugin_attr.prometheus.metric_prefix</c> (default <c>apisix_</c>).</summary>
    private static State? HttpInit(ApiCtx ctx)
    {
        if (!ctx.Request.Nginx.SharedDicts.TryGetValue("prometheus-metrics", out var dict))
        {
            ctx.Log(LogLevel.Error, "lua_shared_dict \"prometheus-metrics\" not configured");
            return null;
        }
        var attr = ctx.Config?.PluginAttr(PluginName);
        var prefix = JsonScalars.TryGetString(attr?["metric_prefix"], out var p) ? p : "apisix_";
        var nginx = ctx.Request.Nginx;
        var prom = new PrometheusLib(dict, prefix, msg => nginx.Log(null, LogLevel.Error, msg, null));
        var st = new State { Prometheus = prom, Attr = attr };
        var m = st.Metrics;
        m["connections"] = prom.Gauge("nginx_http_current_connections", "Number of HTTP connections", ["state"]);
        m["requests"] = prom.Gauge("http_requests_total", "The total number of client requests since APISIX started");
        m["etcd_reachable"] = prom.Gauge("etcd_reachable", "Config server etcd reachable from APISIX, 0 is unreachable");
        m["node_info"] = prom.Gauge("node_info", "Info of APISIX node", ["hostname", "version"]);
        m["etcd_modify_indexes"] = prom.Gauge("etcd_modify_indexes", "Etcd modify index for APISIX keys", ["key"]);
        m["shared_dict_capacity_bytes"] = prom.Gauge("shared_dict_capacity_bytes",
            "The capacity of each nginx shared DICT since APISIX start", ["name"]);
        m["shared_dict_free_space_bytes"] = prom.Gauge("shared_dict_free_space_bytes",
            "The free space of each nginx shared DICT since APISIX start", ["name"]);
        m["upstream_status"] = prom.Gauge("upstream_status", "Upstream status from health check", ["name", "ip", "port"],
            Exptime(attr, "upstream_status"));
        m["status"] = prom.Counter("http_status", "HTTP status codes per service in APISIX",
            Labels(attr, "http_status"), Exptime(attr, "http_status"));
        m["latency"] = prom.Histogram("http_latency", "HTTP request latency in milliseconds per service in APISIX",
            Labels(attr, "http_latency"), Buckets(attr, "default_buckets", DefaultBuckets), Exptime(attr, "http_latency"));
        m["bandwidth"] = prom.Counter("bandwidth", "Total bandwidth in bytes consumed per service in APISIX",
            Labels(attr, "bandwidth"), Exptime(attr, "bandwidth"));
        m["llm_latency"] = prom.Histogram("llm_latency", "LLM request latency in milliseconds",
            Labels(attr, "llm_latency"), Buckets(attr, "llm_latency_buckets", DefaultBuckets), Exptime(attr, "llm_latency"));
        m["llm_prompt_tokens"] = prom.Counter("llm_prompt_tokens", "LLM service consumed prompt tokens",
            Labels(attr, "llm_prompt_tokens"), Exptime(attr, "llm_prompt_tokens"));
        m["llm_completion_tokens"] = prom.Counter("llm_completion_tokens", "LLM service consumed completion tokens",
            Labels(attr, "llm_completion_tokens"), Exptime(attr, "llm_completion_tokens"));
        m["llm_active_connections"] = prom.Gauge("llm_active_connections", "Number of active connections to LLM service",
            Labels(attr, "llm_active_connections"), Exptime(attr, "llm_active_connections"));
        m["llm_prompt_tokens_dist"] = prom.Histogram("llm_prompt_tokens_dist", "LLM prompt tokens distribution per request",
            Labels(attr, "llm_prompt_tokens_dist"), Buckets(attr, "llm_prompt_tokens_buckets", DefaultTokenBuckets),
            Exptime(attr, "llm_prompt_tokens_dist"));
        m["llm_completion_tokens_dist"] = prom.Histogram("llm_completion_tokens_dist",
            "LLM completion tokens distribution per request",
            Labels(attr, "llm_completion_tokens_dist"), Buckets(attr, "llm_completion_tokens_buckets", DefaultTokenBuckets),
            Exptime(attr, "llm_completion_tokens_dist"));
        return st;
    }

    /// <summary>
    /// <c>get_disabled_label_metric_map</c>: from the plugin metadata's <c>disabled_labels</c>,
    /// metric name to the labels written as "".
    /// </summary>
    // the plugin metadata's key, built once per etcd prefix
    private sealed record MetaKey(string Prefix, string Key);
    private static MetaKey? MetadataKey;

    private static Dictionary<string, HashSet<string>>? DisabledLabels(ApiCtx ctx)
    {
        var prefix = ctx.Config?.EtcdPrefix ?? "/apisix";
        var key = MetadataKey;
        if (key == null || !ReferenceEquals(key.Prefix, prefix)) MetadataKey = key = new(prefix, prefix + "/plugin_metadata/" + PluginName);
        if (ctx.Store?.Get(key.Key)?.Value is not JsonObject md
            || md["disabled_labels"] is not JsonObject disabled) return null;
        var map = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (metric, labels) in disabled)
            map[metric] = new HashSet<string>((labels as JsonArray ?? []).Select(l => JsonScalars.TryGetString(l, out var s) ? s : ""), StringComparer.Ordinal);
        return map;
    }

    /// <summary><c>get_enabled_label_values_for_metric</c>: the values, with the disabled labels' blanked.</summary>
    private static string?[] Values(string metric, Dictionary<string, HashSet<string>>? disabled, params string?[] values)
    {
        if (disabled == null || !disabled.TryGetValue(metric, out var off)) return values;
        var names = MetricLabelMap[metric];
        for (var i = 0; i < names.Length && i < values.Length; i++)
            if (off.Contains(names[i])) values[i] = "";
        return values;
    }

    private static string?[] With(string?[] values, List<string> extra) => extra.Count == 0 ? values : [.. values, .. extra];

    /// <summary>
    /// <c>ctx.curr_req_matched</c>'s <c>_path</c> and <c>_host</c>: the route's uri pattern and host
    /// pattern that matched this request (the radixtree router reports them).
    /// </summary>
    private static (string Path, string Host) Matched(ApiCtx ctx)
    {
        if (ctx.CurrReqMatched is { } m)
            return (m.GetValueOrDefault("_path") ?? "", m.GetValueOrDefault("_host") ?? "");
        if (ctx.MatchedRoute is not { } route) return ("", "");
        var uri = ctx.Var.GetString("uri") ?? ctx.Request.Uri;
        // the route's uri, then its uris: the exact one, else the longest prefix pattern
        var path = "";
        var exact = false;
        void Path(JsonNode? n)
        {
            if (exact || !JsonScalars.TryGetString(n, out var p)) return;
            if (p == uri) { path = p; exact = true; }
            else if (p.EndsWith('*') && uri.AsSpan().StartsWith(p.AsSpan(0, p.Length - 1), StringComparison.Ordinal) && p.Length > path.Length) path = p;
        }
        Path(route["uri"]);
        if (route["uris"] is JsonArray uris) foreach (var p in uris) Path(p);

        // the route's host, then its hosts: the first that the request's host matches
        var host = "";
        if (route["host"] is null && route["hosts"] is null) return (path, host);
        var reqHost = ctx.Var.GetString("host") ?? "";
        bool Host(JsonNode? n)
        {
            if (!JsonScalars.TryGetString(n, out var h)) return false;
            var hit = h.StartsWith("*.", StringComparison.Ordinal)
                ? reqHost.AsSpan().EndsWith(h.AsSpan(1), StringComparison.OrdinalIgnoreCase)
                : string.Equals(h, reqHost, StringComparison.OrdinalIgnoreCase);
            if (hit) host = h;
            return hit;
        }
        if (!Host(route["host"]) && route["hosts"] is JsonArray hosts)
            foreach (var h in hosts) if (Host(h)) break;
        return (path, host);
    }

    /// <summary><c>core.response.get_response_source(ctx)</c>: apisix, nginx or upstream.</summary>
    private static string ResponseSource(ApiCtx ctx)
    {
        if (ctx.RespSource is { } s) return s;
        if (ctx.Items.ContainsKey("_apisix_proxied"))
        {
            var headerTime = ctx.Var.GetString("upstream_header_time");
            var last = headerTime?.Split([',', ' ', ':'], StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
            ctx.RespSource = last != null && last != "-" ? "upstream" : "nginx";
            return ctx.RespSource;
        }
        return "apisix";
    }

    private static double? Num(string? s) =>
        s != null && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    // $request_length: the request line, headers and body as they came in
    private static double RequestLength(ApiCtx ctx)
    {
        if (Num(ctx.Var.GetString("request_length")) is { } n) return n;
        var r = ctx.Request;
        long len = r.Method.Length + 1 + r.RequestUri.Length + 1 + r.Protocol.Length + 2;
        foreach (var (name, value) in r.RequestHeaders) len += name.Length + 2 + value.Length + 2;
        len += 2;
        if (Num(r.RequestHeader("Content-Length")) is { } cl) len += (long)cl;
        return len;
    }

    /// <summary><c>log-util.latency_details_in_ms</c>: total, upstream (when proxied) and APISIX's own latency.</summary>
    private static (double Latency, double? Upstream, double Apisix) LatencyDetails(ApiCtx ctx)
    {
        var latency = (DateTimeOffset.UtcNow - ctx.Request.StartTime).TotalMilliseconds;
        double? upstream = null;
        var apisix = latency;
        if (Num(ctx.Var.GetString("upstream_response_time")) is { } up)
        {
            upstream = up * 1000;
            apisix = Math.Max(0, apisix - upstream.Value);
        }
        return (latency, upstream, apisix);
    }

    /// <summary><c>_M.http_log(conf, ctx)</c>: the request's status, latencies, bandwidth and, for AI requests, the LLM metrics.</summary>
    public static void HttpLog(JsonObject conf, ApiCtx ctx)
    {
        var st = For(ctx);
        if (st == null) return;
        var m = st.Metrics;
        var attr = st.Attr;
        var disabled = DisabledLabels(ctx);
        var routeId = "";
        var serviceId = "";
        var balancerIp = ctx.BalancerIp ?? "";
        var consumerName = ctx.ConsumerName ?? "";
        if (ctx.MatchedRoute != null && ctx.RouteId != null)
        {
            routeId = ctx.RouteId;
            serviceId = ctx.ServiceId ?? "";
            if (JsonScalars.TryGetBoolean(conf["prefer_name"], out var pn) && pn)
            {
                routeId = ctx.RouteName ?? routeId;
                if (serviceId != "") serviceId = ctx.ServiceName ?? serviceId;
            }
        }
        var (matchedUri, matchedHost) = Matched(ctx);
        string? V(string name) => ctx.Var.GetString(name);
        var (reqType, reqModel, llmModel) = (V("request_type"), V("request_llm_model"), V("llm_model"));

        m["status"].Inc(1, With(Values("http_status", disabled, V("status"), routeId, matchedUri, matchedHost,
            serviceId, consumerName, balancerIp, reqType, reqModel, llmModel, ResponseSource(ctx)),
            ExtraLabels(attr, "http_status", ctx)));

        var (latency, upstreamLatency, apisixLatency) = LatencyDetails(ctx);
        var latencyExtra = ExtraLabels(attr, "http_latency", ctx);
        string?[] LatencyLabels(string type) => With(Values("http_latency", disabled, type, routeId, serviceId, consumerName,
            balancerIp, reqType, reqModel, llmModel), latencyExtra);
        m["latency"].Observe(latency, LatencyLabels("request"));
        if (upstreamLatency != null) m["latency"].Observe(upstreamLatency, LatencyLabels("upstream"));
        m["latency"].Observe(apisixLatency, LatencyLabels("apisix"));

        var bwExtra = ExtraLabels(attr, "bandwidth", ctx);
        string?[] BwLabels(string type) => With(Values("bandwidth", disabled, type, routeId, serviceId, consumerName,
            balancerIp, reqType, reqModel, llmModel), bwExtra);
        m["bandwidth"].Inc(RequestLength(ctx), BwLabels("ingress"));
        m["bandwidth"].Inc(Num(V("bytes_sent")), BwLabels("egress"));

        if (reqType is "ai_stream" or "ai_chat")
        {
            var ttft = V("llm_time_to_first_token");
            if (ttft != "0")
            {
                string?[] LlmLatency(string type) => With(Values("llm_latency", disabled, type, routeId, serviceId,
                    consumerName, balancerIp, reqType, reqModel, llmModel), ExtraLabels(attr, "llm_latency", ctx));
                m["llm_latency"].Observe(Num(V("apisix_upstream_response_time")), LlmLatency("total"));
                if (reqType == "ai_stream") m["llm_latency"].Observe(Num(ttft), LlmLatency("ttft"));
            }
            string?[] Llm(string metric) => With(Values(metric, disabled, routeId, serviceId, consumerName, balancerIp,
                reqType, reqModel, llmModel), ExtraLabels(attr, metric, ctx));
            m["llm_prompt_tokens"].Inc(Num(V("llm_prompt_tokens")), Llm("llm_prompt_tokens"));
            m["llm_prompt_tokens_dist"].Observe(Num(V("llm_prompt_tokens")), Llm("llm_prompt_tokens_dist"));
            m["llm_completion_tokens"].Inc(Num(V("llm_completion_tokens")), Llm("llm_completion_tokens"));
            m["llm_completion_tokens_dist"].Observe(Num(V("llm_completion_tokens")), Llm("llm_completion_tokens_dist"));
        }
    }

    // set_modify_index: the largest modifiedIndex among a resource's items
    private static long SetModifyIndex(State st, ApiCtx ctx, string key, string dir, long globalMax)
    {
        long max = 0;
        var prefix = ctx.Config?.EtcdPrefix ?? "/apisix";
        if (ctx.Store != null)
            foreach (var e in ctx.Store.List(prefix + "/" + dir + "/"))
                if (e.ModifiedIndex > max) max = e.ModifiedIndex;
        st.Metrics["etcd_modify_indexes"].Set(max, [key]);
        return Math.Max(max, globalMax);
    }

    private static void EtcdModifyIndex(State st, ApiCtx ctx)
    {
        long g = 0;
        g = SetModifyIndex(st, ctx, "routes", "routes", g);
        g = SetModifyIndex(st, ctx, "services", "services", g);
        g = SetModifyIndex(st, ctx, "ssls", "ssls", g);
        g = SetModifyIndex(st, ctx, "consumers", "consumers", g);
        g = SetModifyIndex(st, ctx, "global_rules", "global_rules", g);
        // prev_index: the global rules' index as their watcher last saw it
        st.Metrics["etcd_modify_indexes"].Set(ctx.Store?.Revision ?? 0, ["prev_index"]);
        g = SetModifyIndex(st, ctx, "upstreams", "upstreams", g);
        g = SetModifyIndex(st, ctx, "stream_routes", "stream_routes", g);
        g = SetModifyIndex(st, ctx, "protos", "protos", g);
        st.Metrics["etcd_modify_indexes"].Set(g, ["max_modify_index"]);
    }

    /// <summary><c>collect</c>: refreshes the gauges read from the node, then renders every series.</summary>
    private static string Collect(State st, ApiCtx ctx)
    {
        var m = st.Metrics;
        var nginx = ctx.Request.Nginx;
        foreach (var (name, dict) in nginx.SharedDicts)
        {
            m["shared_dict_capacity_bytes"].Set(dict.Capacity, [name]);
            m["shared_dict_free_space_bytes"].Set(dict.Capacity, [name]);
        }
        // nginx's connection counters (ngx_stat_*): this request is the one active, writing connection
        var requests = Interlocked.Increment(ref _requestsSeen);
        foreach (var (state, value) in new (string, double)[]
                 { ("active", 1), ("accepted", requests), ("handled", requests), ("reading", 0), ("writing", 1), ("waiting", 0) })
            m["connections"].Set(value, [state]);
        m["requests"].Set(requests);

        var configType = ctx.Config?.Get("deployment", "config_provider") is JsonValue cp && cp.TryGetValue(out string? t) ? t : "etcd";
        var streamOnly = JsonScalars.TryGetString(ctx.Config?.Get("apisix", "proxy_mode"), out var mode) && mode == "stream";
        if (configType == "etcd" && !streamOnly)
        {
            EtcdModifyIndex(st, ctx);
            m["etcd_reachable"].Set(1);
            m["etcd_modify_indexes"].Set(ctx.Store?.Revision ?? 0, ["x_etcd_index"]);
        }
        m["node_info"].Set(1, [Environment.MachineName, Admin.AdminOptions.ApisixVersion]);
        return string.Concat(st.Prometheus.MetricData());
    }

    private static long _requestsSeen;

    /// <summary><c>get_cached_metrics</c>: the metrics page (200, text/plain).</summary>
    public static (int Status, object Body) GetCachedMetrics(ApiCtx ctx)
    {
        var st = For(ctx);
        if (st == null)
        {
            ctx.Log(LogLevel.Error, "prometheus: plugin is not initialized, please make sure  'prometheus_metrics' shared dict is present in nginx template");
            return (500, new JsonObject { ["message"] = "An unexpected error occurred" });
        }
        CoreResponse.SetHeader(ctx, "Content-Type", "text/plain");
        return (200, Collect(st, ctx));
    }

    /// <summary>
    /// <c>get_api(called_by_api_router)</c>: GET on <c>plugin_attr.prometheus.export_uri</c>; through
    /// the API router (public-api) nothing when the plugin's own export server is on.
    /// </summary>
    public static IReadOnlyList<ApiRoute> GetApi(JsonObject? attr, bool calledByApiRouter)
    {
        var uri = JsonScalars.TryGetString(attr?["export_uri"], out var u) ? u : DefaultExportUri;
        var api = new ApiRoute(["GET"], [uri], ctx => ValueTask.FromResult<(int?, object?)>(GetCachedMetrics(ctx)));
        if (!calledByApiRouter) return [api];
        if (JsonScalars.TryGetBoolean(attr?["enable_export_server"], out var on) && on) return [];
        return [api];
    }

    /// <summary>The names of the metric series the AI plugins move, for one request.</summary>
    private static void IncLlmActiveConnections(ApiCtx ctx, double value)
    {
        var st = For(ctx);
        if (st == null) return;
        var routeId = "";
        var routeName = "";
        var serviceId = "";
        var serviceName = "";
        if (ctx.MatchedRoute != null && ctx.RouteId != null)
        {
            routeId = ctx.RouteId;
            routeName = ctx.RouteName ?? "";
            serviceId = ctx.ServiceId ?? "";
            if (serviceId != "") serviceName = ctx.ServiceName ?? "";
        }
        var (matchedUri, matchedHost) = Matched(ctx);
        string? V(string name) => ctx.Var.GetString(name);
        st.Metrics["llm_active_connections"].Inc(value, With(Values("llm_active_connections", DisabledLabels(ctx),
            routeName, routeId, matchedUri, matchedHost, serviceName, serviceId, ctx.ConsumerName ?? "", ctx.BalancerIp ?? "",
            V("request_type"), V("request_llm_model"), V("llm_model")), ExtraLabels(st.Attr, "llm_active_connections", ctx)));
    }

    /// <summary><c>inc_llm_active_connections(ctx)</c>.</summary>
    public static void IncLlmActiveConnections(ApiCtx ctx) => IncLlmActiveConnections(ctx, 1);

    /// <summary><c>dec_llm_active_connections(ctx)</c>.</summary>
    public static void DecLlmActiveConnections(ApiCtx ctx) => IncLlmActiveConnections(ctx, -1);

    /// <summary>
    /// The batch processors' <c>batch_process_entries</c> gauge, registered the first time a logger
    /// buffers an entry after prometheus was initialized on this nginx.
    /// </summary>
    public static void SetBatchEntries(Nginx nginx, string name, string routeId, string serverAddr, double count)
    {
        if (!States.TryGetValue(nginx, out var st)) return;
        PrometheusLib.Metric gauge;
        lock (st.Metrics)
        {
            if (!st.Metrics.TryGetValue("batch_process_entries", out gauge!))
                st.Metrics["batch_process_entries"] = gauge = st.Prometheus.Gauge("batch_process_entries",
                    "batch process remaining entries", ["name", "route_id", "server_addr"]);
        }
        gauge.Set(count, [name, routeId, serverAddr]);
    }

    /// <summary><c>get_prometheus()</c>: the library instance, or null before init (or when disabled).</summary>
    public static PrometheusLib? GetPrometheus(ApiCtx ctx) => For(ctx)?.Prometheus;
}
