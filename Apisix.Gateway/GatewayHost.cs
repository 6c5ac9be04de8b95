using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using global::Apisix.Core.Bridges;
using global::Apisix.Core.Config;
using global::Apisix.Core.Http;
using global::Apisix.Core.Json;
using global::Apisix.Core.OpenResty;
using global::Apisix.Core.OpenResty.Conf;
using global::Apisix.Core.OpenResty.Net;
using global::Apisix.Core.Plugins;
using global::Apisix.Core.Store;
using Apisix.Plugins.AiProxy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using LogLevel = global::Apisix.Core.OpenResty.LogLevel;

namespace Apisix.Gateway;

/// <summary>
/// APISIX as a process: what `apisix start` and the nginx.conf it writes set up, on real sockets.
/// The request path is the runner's: one <see cref="Nginx"/> whose servers call
/// <see cref="ApisixHttp"/> (the admin API on admin_listen, the gateway on node_listen), over
/// <see cref="SocketNetwork"/> instead of the in-memory loopback.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly Nginx _nginx;
    private readonly HttpServerHost _server;
    private readonly StreamWriter? _accessLog;
    private readonly ErrorLog _errorLog;
    private readonly ConfigSource _configSource;
    private readonly IDisposable? _remote;

    /// <summary>Where the data plane's configuration comes from (conf/apisix.yaml, or etcd).</summary>
    public ConfigSource Source => _configSource;
    private readonly TimeSpan _grace;

    private GatewayHost(Nginx nginx, HttpServerHost server, ErrorLog errorLog, StreamWriter? accessLog,
        ConfigSource configSource, TimeSpan grace, IReadOnlyList<IPEndPoint> endpoints, ApisixHttp apisix, IDisposable? remote)
    {
        _remote = remote;
        _nginx = nginx;
        _server = server;
        _errorLog = errorLog;
        _accessLog = accessLog;
        _configSource = configSource;
        _grace = grace;
        Endpoints = endpoints;
        Http = apisix;
    }

    /// <summary>What the host listens on (admin first when enabled).</summary>
    public IReadOnlyList<IPEndPoint> Endpoints { get; }

    public ApisixHttp Http { get; }

    public Nginx Nginx => _nginx;

    /// <summary>The shared dicts APISIX's nginx.conf declares (its `lua_shared_dict` lines).</summary>
    private static readonly string[] SharedDictNames =
    [
        "plugin-limit-req", "plugin-limit-count", "plugin-limit-count-lock", "plugin-limit-count-reset-header",
        "plugin-limit-conn", "plugin-ai-rate-limiting", "plugin-ai-rate-limiting-reset-header", "internal-status",
        "worker-events", "lrucache-lock", "balancer-ewma", "balancer-ewma-locks", "balancer-ewma-last-touched-at",
        "plugin-api-breaker", "etcd-cluster-health-check", "ext-plugin", "kubernetes", "tars", "ocsp-stapling",
        "mcp-session", "xds-config", "xds-config-version", "prometheus-metrics", "prometheus-cache",
        "standalone-config", "status-report", "upstream-healthcheck", "access-tokens", "discovery", "tracing_buffer",
    ];

    public static async Task<GatewayHost> StartAsync(GatewayOptions options)
    {
        var prefix = Path.GetFullPath(options.Prefix);
        var config = LoadConfig(prefix, options.ConfigYaml);
        var listen = ListenConfig.From(config);
        var limits = ClientLimits.From(config);

        var errorLog = new ErrorLog(ErrorLog.Parse(config.ErrorLogLevel), LogPath(prefix, config.Get("nginx_config", "error_log"), "logs/error.log"), append: true);
        StreamWriter? accessLog = null;
        var accessFormat = JsonScalars.TryGetString(config.Get("nginx_config", "http", "access_log_format"), out string fmt) ? fmt.TrimEnd('\n') : "";
        if (config.Get("nginx_config", "http", "enable_access_log") is not JsonValue v || !v.TryGetValue(out bool on) || on)
        {
            var path = LogPath(prefix, config.Get("nginx_config", "http", "access_log"), "logs/access.log");
            if (path != null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                accessLog = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), Encoding.Latin1) { AutoFlush = true };
            }
        }

        // the configuration store the data plane reads: conf/apisix.yaml (standalone) for now
        var store = new ConfigStore();
        ConfigSource? source;
        Etcd.EtcdV3Store? remote = null;
        if (config.ConfigProvider is "yaml" or "json")
            source = new StandaloneConfig(store, prefix, config.ConfigProvider == "json", options.StandalonePollInterval);
        else if (config.ConfigProvider == "etcd")
        {
            var hosts = config.Get("deployment", "etcd", "host") as JsonArray ?? config.Get("etcd", "host") as JsonArray;
            if (hosts is not { Count: > 0 } || !JsonScalars.TryGetString(hosts[0], out string endpoint)
                || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new GatewayStartException($"malformed etcd endpoint: {hosts?.FirstOrDefault()?.ToJsonString()}");
            var timeout = ParseSeconds(config.Get("deployment", "etcd", "timeout") ?? config.Get("etcd", "timeout"), 30);
            remote = new Etcd.EtcdV3Store(endpoint.TrimEnd('/'), timeout);
            source = new Etcd.EtcdConfigSource(store, remote, config.EtcdPrefix);
        }
        else
            throw new GatewayStartException($"config_provider {config.ConfigProvider} is not supported by this host (use yaml or etcd)");

        var registry = new PluginRegistry();
        AiProxyPlugins.Register(registry);
        global::Apisix.Core.Plugins.Builtin.CorePlugins.Register(registry);
        registry.Load(config.Plugins);
        var apisix = new ApisixHttp(config, store, registry, remote);

        var modules = new LuaModules();
        global::Apisix.Core.OpenResty.Libs.StandardLibs.Register(modules);
        ApisixLuaModules.Register(modules, prefix, store, config, registry, AiProxyPlugins.RegisterLua);

        var conf = new HttpConf();
        foreach (var d in SharedDictNames) conf.SharedDicts.TryAdd(d, 10 * 1024 * 1024);
        var nodeServer = NodeServer(listen, apisix, limits);
        conf.Servers.Add(nodeServer);
        if (listen.Admin != null) conf.Servers.Add(AdminServer(listen, apisix));

        var network = new SocketNetwork();
        var nginx = new Nginx(conf, network, errorLog, modules, prefix, Workers(config)) { LogSocketErrors = false, BasePid = Environment.ProcessId };
        nginx.WorkerInit.Add(w => AiProxyMultiPlugin.InitWorker(w, store, config));
        var apisixId = global::Apisix.Core.Json.JsonScalars.TryGetString(config.Get("apisix", "id"), out var cid) ? cid : null;
        nginx.WorkerInit.Add(w => global::Apisix.Core.CoreId.Init(w, apisixId));
        nginx.WorkerInit.Add(w => apisix.Admin.InitWorker(w.Id,
            (level, msg) => nginx.Log(w, ErrorLog.Parse(level), msg, null), work => Task.Run(() =>
            {
                try { work(); }
                catch (StoreUnavailableException e) { nginx.Log(w, LogLevel.Error, "failed to sync local conf to etcd: " + e.Message, null); }
            })));
        if (accessLog != null)
        {
            var writer = accessLog;
            nginx.OnLog = req =>
            {
                if (req.Server != nodeServer) return; // APISIX's admin server sets no access log of its own here
                var line = AccessLog.Format(req, accessFormat);
                lock (writer) writer.WriteLine(line);
            };
        }

        source.Log = (level, msg) => nginx.LogInternal(level, msg);
        try { await source.StartAsync(); }
        catch { remote?.Dispose(); throw; }
        if (remote != null)
        {
            // apisix init_etcd: each resource directory exists (an init_dir placeholder)
            try
            {
                foreach (var dir in global::Apisix.Core.Etcd.EtcdDirectories)
                {
                    var key = config.EtcdPrefix + dir + "/";
                    if (remote.Range(key, null).Count == 0) remote.PutRaw(key, "init_dir");
                }
            }
            catch (StoreUnavailableException) { throw new GatewayStartException($"all etcd nodes are unavailable ({remote.Endpoint})"); }
        }
        await nginx.StartAsync();
        if (nginx.InitFailure is { } failure) throw new GatewayStartException(failure);

        var endpoints = new List<IPEndPoint>();
        if (listen.Admin != null) endpoints.Add(listen.Admin);
        endpoints.AddRange(listen.Node);
        foreach (var ep in endpoints) network.Bind(ep.Address, ep.Port);
        HttpServerHost server;
        try
        {
            server = await HttpServerHost.StartSocketsAsync(endpoints, ctx => limits.ServeAsync(ctx, nginx), builder =>
            {
                builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", Microsoft.Extensions.Logging.LogLevel.Debug);
                builder.Logging.AddProvider(new KestrelLogBridge(nginx));
            }, limits.KeepAliveTimeout, kestrel =>
            {
                kestrel.Limits.MaxRequestHeadersTotalSize = ClientLimits.KestrelHeaderCeiling;
                kestrel.Limits.MaxRequestLineSize = limits.LargeHeaderBuffer;
                kestrel.Limits.MaxRequestBodySize = limits.MaxBodySize > 0 ? limits.MaxBodySize : null;
            }, network.UseReactor && ReactorTransportFactory.Supported
                ? new ReactorTransportFactory(() => nginx.Workers.Select(w => w.Loop).ToList())
                : null);
        }
        catch (IOException e)
        {
            await nginx.DisposeAsync();
            await source.DisposeAsync();
            remote?.Dispose();
            // nginx: bind() to 0.0.0.0:9080 failed (98: Address already in use)
            throw new GatewayStartException($"failed to listen: {e.Message}");
        }
        var grace = options.ShutdownGrace ?? ParseSeconds(config.Get("nginx_config", "worker_shutdown_timeout"), 240);
        return new GatewayHost(nginx, server, errorLog, accessLog, source, grace, endpoints, apisix, remote);
    }

    /// <summary>`read_yaml_conf` and the checks `apisix start` makes before writing nginx.conf.</summary>
    private static ApisixConfig LoadConfig(string prefix, string? yamlText)
    {
        var path = Path.Combine(prefix, "conf", "config.yaml");
        if (yamlText == null)
        {
            try { yamlText = File.ReadAllText(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new GatewayStartException($"failed to read local yaml config of apisix: {e.Message}");
            }
        }
        ApisixConfig config;
        try { config = ApisixConfig.Load(yamlText); }
        catch (ConfigException e) { throw new GatewayStartException($"failed to read local yaml config of apisix: {e.Message}"); }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or FormatException or InvalidOperationException)
        {
            throw new GatewayStartException($"failed to read local yaml config of apisix: {e.Message}");
        }
        // the Admin API token (ops.lua): required unless allow_admin is only 127.0.0.0/24 or the key is not required
        if (config.EnableAdmin && config.AdminKeyRequired
            && !(config.Get("deployment", "admin", "allow_admin") is JsonArray { Count: 1 } a && a[0]?.ToString() == "127.0.0.0/24")
            && config.AdminKeys.Count == 0)
            throw new GatewayStartException("ERROR: missing valid Admin API token. Please modify \"admin_key\" in conf/config.yaml .");
        return config;
    }

    private static string? LogPath(string prefix, JsonNode? node, string fallback)
    {
        var p = JsonScalars.TryGetString(node, out string s) ? s : fallback;
        if (p is "off" or "/dev/null") return null;
        return Path.IsPathRooted(p) ? p : Path.Combine(prefix, p);
    }

    private static int Workers(ApisixConfig config)
    {
        var node = config.Get("nginx_config", "worker_processes");
        if (JsonScalars.TryGetNumber(node, out double n) && n >= 1) return (int)n;
        return Math.Max(1, Environment.ProcessorCount);
    }

    /// <summary>nginx time values: "60s", "240s", "1m", a number of seconds.</summary>
    internal static TimeSpan ParseSeconds(JsonNode? node, double fallback)
    {
        if (JsonScalars.TryGetNumber(node, out double n)) return TimeSpan.FromSeconds(n);
        if (!JsonScalars.TryGetString(node, out string s) || s.Length == 0) return TimeSpan.FromSeconds(fallback);
        var unit = s[^1];
        var num = char.IsDigit(unit) ? s : s[..^1];
        if (!double.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return TimeSpan.FromSeconds(fallback);
        return unit switch { 'm' => TimeSpan.FromMinutes(v), 'h' => TimeSpan.FromHours(v), 'd' => TimeSpan.FromDays(v), _ => TimeSpan.FromSeconds(v) };
    }

    /// <summary>
    /// The data plane's server (nginx.conf's `server { listen node_listen; server_name _; location / {...} }`):
    /// the gateway variables, then `apisix.http_access_phase()`.
    /// </summary>
    private static ServerConf NodeServer(ListenConfig listen, ApisixHttp apisix, ClientLimits limits)
    {
        var server = new ServerConf { DefaultType = "text/plain" };
        foreach (var ep in listen.Node) server.Listens.Add(new ListenSpec(ep.Address, ep.Port));
        server.ServerNames.Add("_");
        var gateway = new LocationConf
        {
            Modifier = "", Pattern = "/",
            AccessHandler = limits.ReadBodyAsync,
            Handler = apisix.HttpAccessPhaseAsync,
            ErrorLogRequestId = "apisix_request_id",
        };
        gateway.Sets.AddRange(ApisixHttp.GatewayVariables);
        server.Locations.Add(gateway);
        return server;
    }

    /// <summary>The admin server: allow_admin's rules then `deny all`, and `location /apisix/admin`.</summary>
    private static ServerConf AdminServer(ListenConfig listen, ApisixHttp apisix)
    {
        var server = new ServerConf { DefaultType = "text/plain" };
        server.Listens.Add(new ListenSpec(listen.Admin!.Address, listen.Admin.Port));
        server.ServerNames.Add("");
        var rules = listen.AllowAdmin;
        async Task Allow(NgxRequest req)
        {
            if (ListenConfig.Allowed(rules, req.Http.Connection.RemoteIpAddress)) return;
            req.Log(LogLevel.Error, "access forbidden by rule");
            await Nginx.SendErrorPage(req, 403);
        }
        server.Locations.Add(new LocationConf { Modifier = "", Pattern = "/apisix/admin", AccessHandler = Allow, Handler = apisix.HttpAdminAsync });
        // anything else on the admin port: nginx's static module over an empty root answers 404
        server.Locations.Add(new LocationConf { Modifier = "", Pattern = "/", AccessHandler = Allow, Handler = req => Nginx.SendErrorPage(req, 404) });
        return server;
    }

    /// <summary>
    /// SIGTERM: stop accepting, let requests in flight finish within the grace period
    /// (nginx_config.worker_shutdown_timeout), then stop the workers and close the logs.
    /// </summary>
    private int _stopped;

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _nginx.LogInternal(LogLevel.Notice, "signal 15 (SIGTERM) received, exiting");
        await _server.StopAsync(_grace);
        await _server.DisposeAsync();
        await _configSource.DisposeAsync();
        _remote?.Dispose();
        await _nginx.DisposeAsync();
        _nginx.LogInternal(LogLevel.Notice, "exit");
        lock (_accessLog ?? new object()) _accessLog?.Dispose();
        _errorLog.Close();
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
