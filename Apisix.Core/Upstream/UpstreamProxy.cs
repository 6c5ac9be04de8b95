using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Http;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Store;

namespace Apisix.Core.Upstream;

/// <summary>
/// Proxying a request to its route's upstream: <c>handle_upstream</c> of <c>apisix/init.lua</c>
/// (which upstream, <c>set_by_route</c> of <c>apisix/upstream.lua</c>, the first pick, the Host
/// header by pass_host, before_proxy), then what nginx does with <c>proxy_pass</c> under APISIX's
/// nginx.conf: the balancer phase of <c>apisix/balancer.lua</c> (timeouts, retries, re-picks),
/// and the proxy module (the request as nginx builds it, the response streamed back read by
/// read, <c>proxy_next_upstream error timeout</c>, nginx's error lines and status codes).
///
/// The HTTP side is <see cref="UpstreamHttpConnection"/>, a hand-written HTTP/1.1 client over a
/// stream from <see cref="Nginx.TcpConnectAsync"/> (the loopback network in tests), under TLS for the https
/// scheme (<c>proxy_ssl_server_name on; proxy_ssl_name $upstream_host</c>, no certificate check as
/// <c>proxy_ssl_verify</c> is off). grpc/kafka upstreams are not ported.
/// </summary>
public sealed class UpstreamProxy(ApisixConfig config, ConfigStore store)
{
    private static readonly ConditionalWeakTable<ApisixHttp, UpstreamProxy> Instances = new();

    /// <summary>The proxy of one <see cref="ApisixHttp"/> (its picker cache lives as long as it does).</summary>
    public static UpstreamProxy For(ApisixHttp http) => Instances.GetValue(http, h => new UpstreamProxy(h.Config, h.Store));

    public Balancer Balancer { get; } = new();

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>handle_upstream(api_ctx, route)</c> for a request no plugin took over, then the proxying.
    /// The request is finished when this returns.
    /// </summary>
    public Task HandleAsync(ApiCtx ctx, JsonObject route, PluginRunner runner)
    {
        // no state machine of its own here while the upstream answers: the preparation completes at
        // once unless a plugin's before_proxy waits, then the proxying's task is the request's
        var prepared = PrepareAsync(ctx, route, runner);
        if (!prepared.IsCompletedSuccessfully) return ProxyAfterAsync(prepared, ctx, route, runner);
        return prepared.Result is { } plan ? ProxyAsync(ctx, route, plan.Up, plan.State, plan.Server, plan.PassHost, runner) : Task.CompletedTask;
    }

    private async Task ProxyAfterAsync(ValueTask<ProxyPlan?> prepared, ApiCtx ctx, JsonObject route, PluginRunner runner)
    {
        if (await prepared is { } plan) await ProxyAsync(ctx, route, plan.Up, plan.State, plan.Server, plan.PassHost, runner);
    }

    /// <summary>What the proxying needs once handle_upstream has chosen: the upstream, the balancer's state, the first pick.</summary>
    private readonly record struct ProxyPlan(UpstreamConf Up, BalancerState State, UpstreamNode Server, string PassHost);

    /// <summary>handle_upstream up to the proxying; null when the request was answered (or ended) here.</summary>
    private async ValueTask<ProxyPlan?> PrepareAsync(ApiCtx ctx, JsonObject route, PluginRunner runner)
    {
        var req = ctx.Request;
        ForwardedHeaders.Handle(ctx, config);

        // which upstream: upstream_id (traffic-split may override it) or the route's own
        var id = IdString(ctx.Items.GetValueOrDefault("upstream_id")) ?? IdString(route["upstream_id"]);
        JsonObject? upValue;
        string key, version, resourceKey;
        if (ctx.Items.GetValueOrDefault(Plugins.Builtin.TrafficSplitPlugin.UpstreamConfItem) is JsonObject byPlugin)
        {
            // upstream.set by traffic-split: set_by_route keeps it
            upValue = byPlugin;
            key = ctx.Items.GetValueOrDefault(Plugins.Builtin.TrafficSplitPlugin.UpstreamKeyItem) as string ?? "";
            version = ctx.Items.GetValueOrDefault(Plugins.Builtin.TrafficSplitPlugin.UpstreamVersionItem) as string ?? "";
            resourceKey = ResourcePrefix() + "/routes/" + ctx.RouteId;
        }
        else if (id != null)
        {
            var entry = store.Get(config.EtcdPrefix + "/upstreams/" + id);
            if (entry?.Value is not JsonObject stored)
            {
                ctx.Log(LogLevel.Error, "failed to find upstream by id: " + id);
                await CoreResponse.ExitAsync(ctx, req, 502, null);
                return null;
            }
            upValue = stored;
            key = "upstream#" + id;
            version = entry.ModifiedIndex.ToString(CultureInfo.InvariantCulture);
            resourceKey = ResourcePrefix() + "/upstreams/" + id;
        }
        else
        {
            upValue = route["upstream"] as JsonObject;
            (key, version) = RouteUpstreamKey(ctx);
            resourceKey = ResourcePrefix() + (key.StartsWith("service#", StringComparison.Ordinal) ? "/services/" : "/routes/")
                          + key[(key.IndexOf('#') + 1)..];
        }

        if (ctx.Items.ContainsKey(ApisixHttp.EnableWebsocketItem))
        {
            // APISIX's nginx.conf sends these two variables as the Upgrade and Connection headers
            ctx.Var["upstream_upgrade"] = ctx.Var.GetString("http_upgrade");
            ctx.Var["upstream_connection"] = ctx.Var.GetString("http_connection");
            ctx.Log(LogLevel.Info, "enabled websocket for route: " + ctx.RouteId);
        }

        // set_by_route
        if (upValue == null)
        {
            await FailSetUpstream(ctx, 503, "missing upstream configuration in Route or Service");
            return null;
        }
        // an upstream a plugin made for this request is read afresh
        var up = ParseUpstream(ctx, upValue, key, version,
            cache: upValue != ctx.Items.GetValueOrDefault(Plugins.Builtin.TrafficSplitPlugin.UpstreamConfItem));
        if (up.ServiceName != null)
        {
            await FailSetUpstream(ctx, 503, "discovery is uninitialized");
            return null;
        }
        if (up.Nodes.Count == 0)
        {
            await FailSetUpstream(ctx, 503, "no valid upstream node");
            return null;
        }
        // set_by_route leaves ctx.upstream_scheme unset for an upstream set by a plugin (the Host of pass_host=node then has no port)
        var hostScheme = upValue == ctx.Items.GetValueOrDefault(Plugins.Builtin.TrafficSplitPlugin.UpstreamConfItem)
            ? ctx.Items.GetValueOrDefault("upstream_scheme") as string
            : null;
        var scheme = ctx.Items.GetValueOrDefault("upstream_scheme") as string ?? up.Scheme ?? "http";
        if (upValue != ctx.Items.GetValueOrDefault(Plugins.Builtin.TrafficSplitPlugin.UpstreamConfItem)) hostScheme = scheme;
        ctx.Items["upstream_scheme"] = scheme;
        ctx.Var["upstream_scheme"] = scheme;
        if (up.FillNodeInfo(scheme) is { } fillErr)
        {
            await FailSetUpstream(ctx, 503, fillErr);
            return null;
        }
        ctx.Items["upstream_conf"] = up;

        var state = new BalancerState { Ctx = ctx };
        ctx.Items["balancer_state"] = state;
        var worker = req.Worker?.Id ?? 0;
        Balancer.Nginx ??= req.Nginx;
        state.Checker = FetchChecker(ctx, up, resourceKey, version);
        var (server, pickErr) = Balancer.PickServer(up, state, worker, hostScheme);
        if (server == null)
        {
            ctx.Log(LogLevel.Error, "failed to pick server: " + pickErr);
            await CoreResponse.ExitAsync(ctx, req, 502, null);
            return null;
        }
        SetBalancerPeer(ctx, server);

        // set_upstream_host
        var passHost = up.PassHost ?? "pass";
        if (passHost == "rewrite") ctx.Var["upstream_host"] = up.UpstreamHost;
        else if (passHost == "node") ctx.Var["upstream_host"] = server.UpstreamHost;

        if (await runner.RunPluginAsync("before_proxy", ctx)) return null;
        if (ctx.RespSource == null) ctx.Items["_apisix_proxied"] = true;
        ForwardedHeaders.SetUpstreamVars(ctx);

        if (scheme is not ("http" or "https"))
        {
            ctx.Log(LogLevel.Error, $"upstream scheme {scheme} is not supported by this port (http and https only)");
            await Nginx.SendErrorPage(req, 502);
            return null;
        }

        return new ProxyPlan(up, state, server, passHost);
    }

    // Upstreams read once per resource and version: the same value (the checked route's own object,
    // the stored upstream's) at the same version reads the same when every node is an IP address,
    // so only those are kept; a node with a host name is resolved (and logged) on every request.
    private readonly Utils.BoundedCache<(JsonObject Value, string Version, UpstreamConf Conf)> _parsed = new(4096);

    /// <summary>The upstream value as <see cref="UpstreamConf"/> reads it, from <see cref="_parsed"/> when it can be.</summary>
    private UpstreamConf ParseUpstream(ApiCtx ctx, JsonObject value, string key, string version, bool cache)
    {
        if (cache && _parsed.TryGet(key, out var hit) && ReferenceEquals(hit.Value, value) && hit.Version == version) return hit.Conf;
        var req = ctx.Request;
        var resolved = false;
        var up = UpstreamConf.Parse(value, key, version, h =>
        {
            resolved = true;
            return ParseDomain(req, h);
        }, msg => ctx.Log(LogLevel.Error, msg));
        if (cache && !resolved) _parsed.Put(key, (value, version, up));
        return up;
    }

    private static readonly ConditionalWeakTable<LuaWorker, NLua.LuaFunction> LuaParseDomain = new();

    /// <summary>
    /// <c>core.resolver.parse_domain(host)</c>, called through the worker's Lua module so a test's
    /// replacement of it (or of <c>core.utils.dns_parse</c>) answers; it logs its own lines.
    /// Without that module (no worker) the network's name table answers.
    /// </summary>
    private static (string? Ip, string? Err) ParseDomain(NgxRequest req, string host)
    {
        if (req.Worker is { } worker)
        {
            try
            {
                var fn = LuaParseDomain.GetValue(worker, w => (NLua.LuaFunction)w.Lua.DoString(
                    "return function(h) return require('apisix.core.resolver').parse_domain(h) end")[0]);
                var result = fn.Call(host);
                var ip = result.Length > 0 ? result[0] as string : null;
                var err = result.Length > 1 ? result[1]?.ToString() : null;
                return (ip, ip == null ? err ?? "failed to parse domain" : err);
            }
            catch (NLua.Exceptions.LuaException e)
            {
                return (null, e.Message);
            }
        }
        return req.Nginx.Network.Resolve(host) is { } a ? (a.ToString(), null) : (null, "failed to parse domain");
    }

    /// <summary>
    /// What a resource key starts with: the etcd prefix (<c>/apisix/routes/1</c>), or nothing for
    /// a standalone data plane, whose config_yaml names its items <c>/routes/1</c>.
    /// </summary>
    private string ResourcePrefix() => config.ConfigProvider is "yaml" or "json" ? "" : ConfigStore.DefaultPrefix;

    // Per worker: the nodes version of each resource whose nodes had domains (resource.get_nodes_ver),
    // with the resolved nodes it was counted for.
    private static readonly ConditionalWeakTable<LuaWorker, Dictionary<string, (string Nodes, int Ver)>> NodesVers = new();

    /// <summary>
    /// The health-check part of <c>set_by_route</c>: the resource's nodes version (bumped when
    /// its domains resolve to other addresses), then <c>healthcheck_manager.fetch_checker</c>
    /// for the upstream when it has <c>checks</c>; the manager gets the upstream as this request
    /// resolved it, so the checker probes the same addresses. Null until the manager's timer has
    /// created the checker.
    /// </summary>
    private Healthcheck.Healthchecker? FetchChecker(ApiCtx ctx, UpstreamConf up, string resourceKey, string resourceVersion)
    {
        var worker = ctx.Request.Worker;
        if (worker == null || up.Raw == null) return null;
        int? nodesVer = null;
        if (up.Nodes.Any(n => n.Domain != null))
        {
            var vers = NodesVers.GetOrCreateValue(worker);
            var sig = string.Join(",", up.Nodes.Select(n => n.Address + "/" + n.Domain));
            if (!vers.TryGetValue(resourceKey, out var known)) known = ("", 0);
            if (known.Nodes != sig) vers[resourceKey] = known = (sig, known.Ver + 1);
            nodesVer = known.Ver;
        }
        else if (NodesVers.TryGetValue(worker, out var vers) && vers.TryGetValue(resourceKey, out var known))
            nodesVer = known.Ver;
        if (up.Checks == null) return null;

        var manager = Healthcheck.HealthcheckManager.Of(worker);
        if (manager == null)
        {
            manager = Healthcheck.HealthcheckManager.InitWorker(worker, store);
            manager.DisableUpstreamHealthcheck =
                JsonScalars.TryGetBoolean(config.Get("apisix", "disable_upstream_healthcheck"), out var off) && off;
        }
        var live = (JsonObject)up.Raw.DeepClone();
        var nodes = new JsonArray();
        foreach (var n in up.Nodes)
        {
            var o = new JsonObject { ["host"] = n.Host, ["port"] = n.Port, ["weight"] = n.Weight, ["priority"] = n.Priority };
            if (n.Domain != null) o["domain"] = n.Domain;
            nodes.Add(o);
        }
        live["nodes"] = nodes;
        if (nodesVer != null) live["_nodes_ver"] = nodesVer.Value;
        live["resource_key"] = resourceKey;
        manager.SetLiveUpstream(resourceKey, live);
        var version = resourceVersion + (nodesVer?.ToString(CultureInfo.InvariantCulture) ?? "");
        return manager.FetchChecker(resourceKey, version);
    }

    /// <summary>
    /// The upstream side of <c>http_log_phase</c>: <c>healthcheck_passive</c> (the response
    /// status reported to the checker when it is in the passive healthy or unhealthy list),
    /// then the picker's <c>after_balance(ctx, false)</c>.
    /// </summary>
    public static void LogPhase(ApiCtx ctx)
    {
        if (ctx.Items.GetValueOrDefault("balancer_state") is not BalancerState state) return;
        state.InBalancerPhase = false;
        if (state.Checker is { } checker && ctx.Items.GetValueOrDefault("upstream_conf") is UpstreamConf up
            && up.Checks?["passive"] is JsonObject passive)
        {
            ctx.Log(LogLevel.Info, "enabled healthcheck passive");
            var (host, activePort) = up.ActiveCheckHostPort();
            var port = activePort ?? Convert.ToInt32(ctx.BalancerPort ?? 0, CultureInfo.InvariantCulture);
            var ip = ctx.BalancerIp ?? "";
            var status = ctx.Request.Status;
            var healthy = passive["healthy"]?["http_statuses"] as JsonArray;
            ctx.Log(LogLevel.Info, "passive.healthy.http_statuses: " + (healthy == null ? "null" : CJson.Encode(healthy)));
            foreach (var s in healthy ?? new JsonArray())
                if (JsonScalars.TryGetNumber(s, out var code) && (int)code == status)
                    checker.ReportHttpStatus(ip, port, host, status);
            var unhealthy = passive["unhealthy"]?["http_statuses"] as JsonArray;
            ctx.Log(LogLevel.Info, "passive.unhealthy.http_statuses: " + (unhealthy == null ? "null" : CJson.Encode(unhealthy)));
            foreach (var s in unhealthy ?? new JsonArray())
                if (JsonScalars.TryGetNumber(s, out var code) && (int)code == status)
                    checker.ReportHttpStatus(ip, port, host, status);
        }
        state.Picker?.AfterBalance(state, false);
    }

    /// <summary>An id as Lua's tostring gives it: a string as is, a number in its JSON form.</summary>
    private static string? IdString(object? v) => v switch
    {
        null => null,
        string s => s,
        JsonNode n when n.GetValueKind() == JsonValueKind.String => n.GetValue<string>(),
        JsonNode n => n.ToJsonString(),
        _ => CtxVar.ToVarString(v),
    };

    private static async Task FailSetUpstream(ApiCtx ctx, int code, string err)
    {
        ctx.Log(LogLevel.Error, "failed to set upstream: " + err);
        await CoreResponse.ExitAsync(ctx, ctx.Request, code, null);
    }

    /// <summary>The resource a route's inline upstream belongs to: the route, or the service it came from.</summary>
    private (string Key, string Version) RouteUpstreamKey(ApiCtx ctx)
    {
        // only read (versions and whether the route has its own upstream): the stored entries, uncopied
        var routeEntry = ctx.RouteId != null ? store.GetShared(config.EtcdPrefix + "/routes/" + ctx.RouteId) : null;
        if (ctx.ServiceId != null && routeEntry?.Value is JsonObject raw && raw["upstream"] == null && raw["upstream_id"] == null)
        {
            var svc = store.GetShared(config.EtcdPrefix + "/services/" + ctx.ServiceId);
            return ("service#" + ctx.ServiceId, (svc?.ModifiedIndex ?? 0).ToString(CultureInfo.InvariantCulture));
        }
        return ("route#" + ctx.RouteId, (routeEntry?.ModifiedIndex ?? 0).ToString(CultureInfo.InvariantCulture));
    }

    private static void SetBalancerPeer(ApiCtx ctx, UpstreamNode server)
    {
        ctx.BalancerIp = server.Host;
        ctx.BalancerPort = (long)server.Port;
    }

    private static TimeSpan Seconds(JsonObject? timeout, string name) =>
        JsonScalars.TryGetNumber(timeout?[name], out var s) && s > 0 ? TimeSpan.FromSeconds(s) : DefaultTimeout;

    /// <summary>
    /// The balancer phase and nginx's proxy module: try the picked server; on an error or timeout
    /// before any of the response reached the client, pick again and retry while tries remain.
    /// </summary>
    private async Task ProxyAsync(ApiCtx ctx, JsonObject route, UpstreamConf up, BalancerState state,
        UpstreamNode server, string passHost, PluginRunner runner)
    {
        var req = ctx.Request;
        // set_balancer_opts: the route's timeout wins over the upstream's
        var timeout = route["timeout"] as JsonObject ?? up.Timeout;
        var connectTimeout = Seconds(timeout, "connect");
        var sendTimeout = Seconds(timeout, "send");
        var readTimeout = Seconds(timeout, "read");
        var retries = up.Retries is int r && r >= 0 ? r : up.Nodes.Count - 1;
        double? deadline = retries > 0 && up.RetryTimeout is > 0 ? NowSeconds() + up.RetryTimeout : null;
        var tries = 1 + Math.Max(0, retries);
        var scheme = ctx.Items.GetValueOrDefault("upstream_scheme") as string ?? "http";

        await req.ReadBodyAsync(); // proxy_request_buffering on
        var vars = new UpstreamVarsRecorder(req);
        var lastFailure = UpstreamFailure.Error;

        for (var attempt = 1; ; attempt++)
        {
            if (attempt > 1)
            {
                if (deadline is double d && d < NowSeconds())
                {
                    ctx.Log(LogLevel.Error, $"proxy retry timeout, retry count: {state.TryCount - 1}, deadline: {LuaNumber.ToLuaString(d)} now: {LuaNumber.ToLuaString(NowSeconds())}");
                    await Nginx.SendErrorPage(req, 502);
                    return;
                }
                state.LastFailure = ("failed", lastFailure == UpstreamFailure.Timeout ? 504 : 502);
                state.InBalancerPhase = true;
                var (next, err) = Balancer.PickServer(up, state, req.Worker?.Id ?? 0, "http");
                if (next == null)
                {
                    state.Log(LogLevel.Error, "failed to pick server: " + err);
                    await Nginx.SendErrorPage(req, 502);
                    return;
                }
                server = next;
                SetBalancerPeer(ctx, server);
                if (passHost == "node" && server.UpstreamHost != ctx.Var.GetString("upstream_host"))
                    ctx.Var["upstream_host"] = server.UpstreamHost;
                if (await runner.RunPluginAsync("before_proxy", ctx)) return;
            }
            state.InBalancerPhase = true;
            if (state.Ctx == null || req.Nginx.ErrorLog.Enabled(LogLevel.Info)) // below error_log's level the line is not even built
                state.Log(LogLevel.Info, $"proxy request to {server.Host}:{server.Port}");
            // balancer.set_current_peer parses the host as nginx's ngx_parse_url does: outside brackets
            // a colon starts a port, which wins over the given one; an IPv6 address there is a bad port
            if (!server.Host.StartsWith('[') && server.Host.IndexOf(':') is var colon and >= 0)
            {
                if (!int.TryParse(server.Host[(colon + 1)..], System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out var p)
                    || p < 1 || p > 65535)
                {
                    state.Log(LogLevel.Error, $"failed to set server peer [{server.Host}:{server.Port}] err: invalid port");
                    await Nginx.SendErrorPage(req, 502);
                    return;
                }
                server = server with { Host = server.Host[..colon], Port = p };
            }

            var keepalive = UpstreamKeepalive.TargetFor(config, up, scheme, server.Host, server.Port,
                NgxVars.Get(req.Nginx, req, "upstream_host"));
            var outcome = await TryOnceAsync(ctx, server, scheme, connectTimeout, sendTimeout, readTimeout, vars, keepalive);
            if (outcome == UpstreamFailure.None) return;
            lastFailure = outcome;
            if (outcome == UpstreamFailure.InvalidHeader || attempt >= tries) break;
        }
        await Nginx.SendErrorPage(req, lastFailure == UpstreamFailure.Timeout ? 504 : 502);
    }

    private static double NowSeconds() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>
    /// One try against one peer. Returns None when a response was relayed (completely or not: once
    /// the client has the header there is no retry), else the failure that may lead to the next peer.
    /// </summary>
    private static Task<UpstreamFailure> TryOnceAsync(ApiCtx ctx, UpstreamNode server, string scheme, TimeSpan connectTimeout,
        TimeSpan sendTimeout, TimeSpan readTimeout, UpstreamVarsRecorder vars, UpstreamKeepalive.Target keepalive)
    {
        // the peer and the request target, worked out once for the try (the error lines' upstream URL only when one is written)
        var peer = server.Address;
        var uri = UpstreamUri(ctx.Request);
        if (ctx.Items.GetValueOrDefault("balancer_state") is BalancerState bs)
            bs.SetLastUpstream(scheme, peer, uri);
        var pools = ctx.Request.Worker is { } worker ? UpstreamKeepalive.Of(worker) : null;
        var conn = pools?.Take(keepalive);
        var clock = Stopwatch.StartNew();
        // a cached connection goes straight to the exchange: no level of its own waits on it
        if (conn != null) return ExchangeAsync(ctx, peer, uri, scheme, sendTimeout, readTimeout, vars, clock, conn, pools, keepalive);
        return ConnectAndExchangeAsync(ctx, server, peer, uri, scheme, connectTimeout, sendTimeout, readTimeout, vars, clock, pools, keepalive);
    }

    private static async Task<UpstreamFailure> ConnectAndExchangeAsync(ApiCtx ctx, UpstreamNode server, string peer, string uri, string scheme,
        TimeSpan connectTimeout, TimeSpan sendTimeout, TimeSpan readTimeout, UpstreamVarsRecorder vars, Stopwatch clock,
        UpstreamKeepalive? pools, UpstreamKeepalive.Target keepalive)
    {
        var (opened, failure) = await ConnectAsync(ctx, server, peer, uri, scheme, connectTimeout, vars, clock);
        if (opened == null) return failure;
        return await ExchangeAsync(ctx, peer, uri, scheme, sendTimeout, readTimeout, vars, clock, opened, pools, keepalive);
    }

    /// <summary>A new connection to the peer (TLS for https), or the failure, logged as nginx does.</summary>
    private static async Task<(UpstreamHttpConnection? Conn, UpstreamFailure Failure)> ConnectAsync(ApiCtx ctx, UpstreamNode server,
        string peer, string uri, string scheme, TimeSpan connectTimeout, UpstreamVarsRecorder vars, Stopwatch clock)
    {
        var req = ctx.Request;
        Stream? stream = null;
        var timedOut = false;
        using (var cts = new CancellationTokenSource(connectTimeout))
        {
            try { stream = await req.Nginx.TcpConnectAsync(server.Host, server.Port, cts.Token); }
            catch (OperationCanceledException) { timedOut = true; }
            catch (IOException e) { timedOut = e.Message.Contains("timed out", StringComparison.Ordinal); }
        }
        if (stream == null)
        {
            LogUpstream(req, timedOut
                ? "upstream timed out (110: Connection timed out) while connecting to upstream"
                : "connect() failed (111: Connection refused) while connecting to upstream", UpstreamUrl(scheme, peer, uri));
            var failure = timedOut ? UpstreamFailure.Timeout : UpstreamFailure.Error;
            vars.Add(peer, failure == UpstreamFailure.Timeout ? 504 : 502, clock.Elapsed, null, null, 0);
            return (null, failure);
        }
        if (scheme == "https")
        {
            using var cts = new CancellationTokenSource(connectTimeout);
            var (ssl, sslErr) = await OpenResty.Net.ClientTls.HandshakeAsync(stream,
                SslName(NgxVars.Get(req.Nginx, req, "upstream_host")), verify: false, null, cts.Token);
            if (ssl == null)
            {
                LogUpstream(req, sslErr == "timeout"
                    ? "upstream timed out (110: Connection timed out) while SSL handshaking to upstream"
                    : "peer closed connection in SSL handshake while SSL handshaking to upstream", UpstreamUrl(scheme, peer, uri));
                var failure = sslErr == "timeout" ? UpstreamFailure.Timeout : UpstreamFailure.Error;
                vars.Add(peer, failure == UpstreamFailure.Timeout ? 504 : 502, clock.Elapsed, null, null, 0);
                return (null, failure);
            }
            stream = ssl;
        }
        return (new UpstreamHttpConnection(stream), UpstreamFailure.None);
    }

    /// <summary>
    /// The request on a connection (new or from the keepalive pool) and the response relayed to the
    /// client. None when a response was relayed, completely or not.
    /// </summary>
    private static async Task<UpstreamFailure> ExchangeAsync(ApiCtx ctx, string peer, string uri, string scheme, TimeSpan sendTimeout,
        TimeSpan readTimeout, UpstreamVarsRecorder vars, Stopwatch clock, UpstreamHttpConnection conn,
        UpstreamKeepalive? pools, UpstreamKeepalive.Target keepalive)
    {
        // once the exchange is over the connection is cached for the next request (a complete response
        // that leaves it reusable) or closed
        var result = UpstreamFailure.Error;
        try
        {
            var req = ctx.Request;
            var connectTime = clock.Elapsed;
            var sent = await conn.SendAsync(BuildRequest(ctx, uri), sendTimeout);
            if (sent != UpstreamFailure.None)
            {
                LogUpstream(req, sent == UpstreamFailure.Timeout
                    ? "upstream timed out (110: Connection timed out) while sending request to upstream"
                    : "writev() failed (32: Broken pipe) while sending request to upstream", UpstreamUrl(scheme, peer, uri));
                vars.Add(peer, sent == UpstreamFailure.Timeout ? 504 : 502, clock.Elapsed, connectTime, null, 0);
                return result = sent;
            }

            var (head, headFailure) = await conn.ReadHeadAsync(readTimeout, req.Method == "HEAD");
            if (head == null)
            {
                LogUpstream(req, headFailure switch
                {
                    UpstreamFailure.Timeout => "upstream timed out (110: Connection timed out) while reading response header from upstream",
                    UpstreamFailure.InvalidHeader => "upstream sent invalid header while reading response header from upstream",
                    _ => "upstream prematurely closed connection while reading response header from upstream",
                }, UpstreamUrl(scheme, peer, uri));
                vars.Add(peer, headFailure == UpstreamFailure.Timeout ? 504 : 502, clock.Elapsed, connectTime, null, 0);
                return result = headFailure;
            }
            var headerTime = clock.Elapsed;
            if (head.Status == 101 && req.IsUpgradable && !string.IsNullOrEmpty(NgxVars.Get(req.Nginx, req, "upstream_upgrade")))
            {
                await TunnelAsync(ctx, conn, head, vars, peer, connectTime, headerTime, clock);
                return result = UpstreamFailure.None;
            }

            // the response: status and end-to-end headers, then the body read by read
            req.Status = head.Status;
            foreach (var (name, value) in head.Headers)
            {
                if (HiddenResponseHeaders.Contains(name) || name.StartsWith("X-Accel-", StringComparison.OrdinalIgnoreCase)) continue;
                // the upstream's first line of a name replaces what the request had set, the following ones add to it
                if (vars.Seen(name) && req.ResponseHeaders.TryGetValue(name, out var list)) list.Add(value);
                else req.ResponseHeaders[name] = new List<string> { value };
                req.Vars[UpstreamHttpVar(name)] = value;
            }
            vars.Add(peer, head.Status, null, connectTime, headerTime, 0);
            ctx.RespSource = "upstream";

            long received = 0;
            while (true)
            {
                var (data, bodyFailure) = await conn.ReadBodyAsync(readTimeout);
                if (data == null)
                {
                    LogUpstream(req, bodyFailure == UpstreamFailure.Timeout
                        ? "upstream timed out (110: Connection timed out) while reading upstream"
                        : "upstream prematurely closed connection while reading upstream", UpstreamUrl(scheme, peer, uri));
                    vars.Finish(clock.Elapsed, received);
                    await req.FlushAsync();
                    req.Http.Abort(); // the client must see the response cut short, as nginx closes it
                    return result = UpstreamFailure.None;
                }
                if (data.Length == 0) break;
                received += data.Length;
                if (!await req.AppendFlushAsync(data))
                {
                    vars.Finish(clock.Elapsed, received);
                    return result = UpstreamFailure.None; // the client went away
                }
            }
            vars.Finish(clock.Elapsed, received);
            await req.FinishAsync();
            return result = UpstreamFailure.None;
        }
        finally
        {
            if (result == UpstreamFailure.None && conn.Reusable && pools != null) await pools.SaveOrCloseAsync(keepalive, conn);
            else await conn.DisposeAsync();
        }
    }

    /// <summary>
    /// The proxy module's upgrade (<c>ngx_http_upstream_upgrade</c>): the upstream switched
    /// protocols, so the client gets the 101 with the upstream's headers (Upgrade included),
    /// then bytes flow both ways until either side closes.
    /// </summary>
    private static async Task TunnelAsync(ApiCtx ctx, UpstreamHttpConnection conn, UpstreamResponseHead head,
        UpstreamVarsRecorder vars, string peer, TimeSpan connectTime, TimeSpan headerTime, Stopwatch clock)
    {
        var req = ctx.Request;
        req.Status = 101;
        foreach (var (name, value) in head.Headers)
        {
            if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) { req.ResponseHeaders[name] = [value]; continue; }
            if (HiddenResponseHeaders.Contains(name) || name.StartsWith("X-Accel-", StringComparison.OrdinalIgnoreCase)) continue;
            if (req.ResponseHeaders.TryGetValue(name, out var list)) list.Add(value);
            else req.ResponseHeaders[name] = [value];
            req.Vars["upstream_http_" + name.ToLowerInvariant().Replace('-', '_')] = value;
        }
        vars.Add(peer, 101, null, connectTime, headerTime, 0);
        ctx.RespSource = "upstream";
        if (await req.FlushAsync() != null || req.UpgradedStream is not { } client)
        {
            vars.Finish(clock.Elapsed, 0);
            return;
        }
        long received = 0;
        using var done = new CancellationTokenSource();
        var upstream = conn.Stream;
        async Task Pump(Stream from, Stream to, byte[]? first, bool count)
        {
            var buf = new byte[16384];
            try
            {
                if (first is { Length: > 0 })
                {
                    await to.WriteAsync(first, done.Token);
                    await to.FlushAsync(done.Token);
                    if (count) received += first.Length;
                }
                while (true)
                {
                    var n = await from.ReadAsync(buf, done.Token);
                    if (n == 0) break;
                    await to.WriteAsync(buf.AsMemory(0, n), done.Token);
                    await to.FlushAsync(done.Token);
                    if (count) received += n;
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException) { }
        }
        var down = Pump(upstream, client, conn.TakeBuffered(), count: true);
        var up = Pump(client, upstream, null, count: false);
        await Task.WhenAny(down, up);
        done.Cancel();
        try { await Task.WhenAll(down, up); } catch (Exception) { }
        vars.Finish(clock.Elapsed, received);
        await req.FinishAsync();
    }

    /// <summary>
    /// The SNI nginx sends for <c>proxy_ssl_name</c>: the name without its port; none for an empty
    /// name or an IP literal (RFC 6066).
    /// </summary>
    public static string? SslName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name[0] == '[') return null;
        var colon = name.IndexOf(':');
        if (colon >= 0) name = name[..colon];
        if (name.Length == 0 || System.Net.IPAddress.TryParse(name, out _)) return null;
        return name;
    }

    /// <summary>Response headers nginx's proxy module does not pass on (hop-by-hop or hidden by default).</summary>
    private static readonly HashSet<string> HiddenResponseHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Server", "X-Pad",
    };

    /// <summary>
    /// What <c>proxy_pass $upstream_scheme://apisix_backend$upstream_uri</c> sends as the request
    /// target: $upstream_uri when a plugin set it; else the client's own request target when
    /// neither the uri nor the args changed; else the current uri, escaped, with the args.
    /// </summary>
    public static string UpstreamUri(NgxRequest req)
    {
        var set = NgxVars.Get(req.Nginx, req, "upstream_uri");
        if (!string.IsNullOrEmpty(set)) return set;
        var raw = req.RequestUri;
        var q = raw.IndexOf('?');
        var rawArgs = q < 0 ? null : raw[(q + 1)..];
        var rawPath = q < 0 ? raw : raw[..q];
        if (req.Args == rawArgs && req.Uri == Unescape(rawPath)) return raw;
        var uri = EscapeUri(req.Uri);
        return string.IsNullOrEmpty(req.Args) ? uri : uri + "?" + req.Args;
    }

    private static string Unescape(string path)
    {
        if (!path.Contains('%')) return path;
        var sb = new StringBuilder(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length && Uri.IsHexDigit(path[i + 1]) && Uri.IsHexDigit(path[i + 2]))
            {
                sb.Append((char)Convert.ToByte(path.Substring(i + 1, 2), 16));
                i += 2;
            }
            else sb.Append(path[i]);
        }
        return sb.ToString();
    }

    /// <summary>nginx's escaping of a uri it sends on (NGX_ESCAPE_URI): controls, space, '#', '%', '?', bytes over 0x7e.</summary>
    private static string EscapeUri(string uri)
    {
        var sb = new StringBuilder(uri.Length);
        foreach (var c in uri)
        {
            if (c <= ' ' || c == '#' || c == '%' || c == '?' || c >= 0x7f)
                sb.Append('%').Append(((int)c & 0xFF).ToString("X2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>The client headers nginx replaces or drops (APISIX's proxy_set_header lines and the proxy module's defaults).</summary>
    private static readonly HashSet<string> ReplacedRequestHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Upgrade", "Connection", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
        "X-Forwarded-Port", "Content-Length", "Transfer-Encoding", "TE", "Keep-Alive", "Expect",
    };

    /// <summary>
    /// The request nginx builds under APISIX's location: the request line (HTTP/1.1), the
    /// proxy_set_header lines in their order (empty values left out), Content-Length of the read
    /// body, then the client's other headers as they came.
    /// </summary>
    public static byte[] BuildRequest(ApiCtx ctx, string uri)
    {
        var req = ctx.Request;
        string? Var(string name) => NgxVars.Get(req.Nginx, req, name);
        // one builder per worker thread, reused: a request head is built on the loop in one go
        var sb = t_requestText ?? new StringBuilder(1024);
        t_requestText = null;
        sb.Clear();
        sb.Append(req.Method).Append(' ').Append(uri).Append(" HTTP/1.1\r\n");
        void Line(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value)) sb.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        var remote = Var("remote_addr") ?? "127.0.0.1";
        string? clientXff = null; // the client's X-Forwarded-For values, joined with ", "
        foreach (var (name, value) in req.RequestHeaders)
            if (name.Equals("X-Forwarded-For", StringComparison.OrdinalIgnoreCase)) clientXff = clientXff == null ? value : clientXff + ", " + value;
        Line("Host", Var("upstream_host"));
        Line("Upgrade", Var("upstream_upgrade"));
        Line("Connection", Var("upstream_connection"));
        Line("X-Real-IP", remote);
        Line("X-Forwarded-For", clientXff != null ? clientXff + ", " + remote : remote);
        Line("X-Forwarded-Proto", Var("var_x_forwarded_proto") ?? Var("scheme"));
        Line("X-Forwarded-Host", Var("var_x_forwarded_host") ?? Var("host"));
        Line("X-Forwarded-Port", Var("var_x_forwarded_port") ?? Var("server_port"));

        var body = req.BodyText() ?? "";
        var hadBody = body.Length > 0 || req.RequestHeader("Content-Length") != null || req.RequestHeader("Transfer-Encoding") != null;
        if (hadBody) Line("Content-Length", body.Length.ToString(CultureInfo.InvariantCulture));
        foreach (var (name, value) in req.RequestHeaders)
        {
            if (ReplacedRequestHeaders.Contains(name)) continue;
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        sb.Append("\r\n").Append(body);
        // Latin-1: one byte per char (a char above U+00FF becomes '?', as GetBytes of the string did)
        var bytes = new byte[sb.Length];
        var at = 0;
        foreach (var chunk in sb.GetChunks()) at += Encoding.Latin1.GetBytes(chunk.Span, bytes.AsSpan(at));
        if (sb.Capacity <= 16 * 1024) t_requestText = sb; // a big body's builder is not kept
        return bytes;
    }

    [ThreadStatic] private static StringBuilder? t_requestText;

    private static readonly Apisix.Core.Utils.BoundedCache<string> UpstreamHttpVars = new(1024);

    /// <summary>$upstream_http_NAME for a response header name (lower case, '-' as '_'), computed once per name.</summary>
    private static string UpstreamHttpVar(string header) =>
        UpstreamHttpVars.Get(header, static h => "upstream_http_" + h.ToLowerInvariant().Replace('-', '_'));

    /// <summary>nginx's "upstream:" field: the peer and the request target as a URL.</summary>
    internal static string UpstreamUrl(string scheme, string peer, string uri) => scheme + "://" + peer + uri;

    /// <summary>An error-log line of the proxy module: the request context with nginx's "upstream:" field.</summary>
    internal static void LogUpstream(NgxRequest r, string message, string upstreamUrl, LogLevel level = LogLevel.Error)
    {
        var nginx = r.Nginx;
        var host = r.RequestHeader("Host");
        var server = r.Server.ServerNames.FirstOrDefault() ?? "";
        var context = $", client: {r.Http.Connection.RemoteIpAddress}, server: {server}, request: \"{r.Method} {r.RequestUri} {r.Protocol}\""
                      + $", upstream: \"{upstreamUrl}\"" + (host != null ? $", host: \"{host}\"" : "");
        var pid = r.Worker != null ? nginx.Pid(r.Worker) : nginx.Workers.Count > 0 ? nginx.Pid(nginx.Workers[0]) : 0;
        nginx.ErrorLog.Write(level, pid, r.Connection, message, context);
    }
}

/// <summary>
/// Records each try in nginx's per-request upstream states through <see cref="UpstreamState"/>,
/// which renders <c>$upstream_addr</c>, <c>$upstream_status</c>, the times and lengths, one
/// entry per try joined with ", " ("127.0.0.1:1999, 127.0.0.1:1980").
/// </summary>
internal sealed class UpstreamVarsRecorder(NgxRequest req)
{
    // a response has a handful of header names: a list scanned is cheaper than a set
    private readonly List<string> _seenHeaders = new(12);

    /// <summary>Whether a response header name was already copied in this try (a repeated header adds a value).</summary>
    public bool Seen(string name)
    {
        foreach (var seen in _seenHeaders)
            if (string.Equals(seen, name, StringComparison.OrdinalIgnoreCase)) return true;
        _seenHeaders.Add(name);
        return false;
    }

    private static double? Ms(TimeSpan? t) => t?.TotalMilliseconds;

    /// <summary>A try: its peer and status (502/504 for a failed one), and the times known so far.</summary>
    public void Add(string addr, int status, TimeSpan? total, TimeSpan? connect, TimeSpan? header, long bytes)
    {
        UpstreamState.Push(req, addr, status, Ms(connect), Ms(header));
        if (total != null) UpstreamState.Update(req, Ms(total), bytes);
    }

    /// <summary>The last try's response is complete (or cut): its total time and body size.</summary>
    public void Finish(TimeSpan total, long bytes) => UpstreamState.Update(req, Ms(total), bytes);
}
