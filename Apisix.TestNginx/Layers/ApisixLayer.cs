using System.Net;
using System.Text.Json.Nodes;
using Apisix.Core.Bridges;
using Apisix.Core.Config;
using Apisix.Core.Http;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.Plugins;
using Apisix.Core.Store;
using Apisix.Plugins.AiProxy;
using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Runner;

namespace Apisix.TestNginx.Layers;

/// <summary>
/// t::APISIX, re-implemented: its defaults for every block (timeout 5, the implicit
/// `no_error_log [error]`), its config.yaml, shared dicts and init hooks, the APISIX locations on
/// 1984 (admin API, gateway after the `wait_etcd_sync` sleep), the mock upstream on 1980-1982 running
/// `lib.server`, and the services APISIX's CI runs beside nginx. The admin store lives for the file.
/// </summary>
public class ApisixLayer(string root) : TestNginxLayer(root)
{
    private readonly ConfigStore _store = NewStore();

    /// <summary>The file's etcd, as APISIX's CI prepares it (`apisix init_etcd`).</summary>
    private static ConfigStore NewStore()
    {
        var store = new ConfigStore();
        Apisix.Core.Etcd.InitDirs(store, ConfigStore.DefaultPrefix);
        return store;
    }
    private readonly ConfigYamlBuilder _yaml = new(RunEnvironment.Get("ETCD_ENABLE_AUTH") == "true");

    private static readonly string[] SharedDictNames =
    [
        "plugin-limit-req", "plugin-limit-count", "plugin-limit-count-lock", "plugin-limit-count-reset-header",
        "plugin-limit-conn", "plugin-ai-rate-limiting", "plugin-ai-rate-limiting-reset-header", "internal-status",
        "worker-events", "lrucache-lock", "balancer-ewma", "balancer-ewma-locks", "balancer-ewma-last-touched-at",
        "plugin-api-breaker", "etcd-cluster-health-check", "ext-plugin", "kubernetes", "tars", "ocsp-stapling",
        "mcp-session", "xds-config", "xds-config-version", "cas_sessions", "test", "prometheus-metrics",
        "prometheus-cache", "standalone-config", "status-report", "nacos", "consul", "upstream-healthcheck",
        "access-tokens", "discovery", "tracing_buffer",
    ];

    /// <summary>t::APISIX calls log_level('info') when it is used.</summary>
    protected override string? ModuleLogLevel => "info";

    public override void Preprocess(TestBlock block, TestFile file)
    {
        if (!block.Has("timeout")) block.Set("timeout", new PerlString("5"));
        if (!block.Has("error_log") && !block.Has("no_error_log") && !block.Has("grep_error_log") && !block.Has("ignore_error_log"))
            block.Set("no_error_log", new PerlString("[error]\n"));
    }

    public override void Build(BlockWorld world, TestBlock block, TestFile file)
    {
        world.SkipReason = NeedsInternet(block);
        base.Build(world, block, file);
        world.LogSocketErrors = false; // lua_socket_log_errors off
        world.Conf.ClientBodyBufferSize ??= 8 * 1024; // client_body_buffer_size 8k: larger bodies go to a temp file
        foreach (var d in SharedDictNames) world.Conf.SharedDicts.TryAdd(d, 10 * 1024 * 1024);

        // t/toolkit is a git submodule (api7's test-toolkit) a source tree may lack; tests also
        // require it as t.toolkit.json (APISIX's root is on lua_package_path there)
        world.Modules.AddFallback("t.toolkit.json", () => "return require(\"toolkit.json\")");

        var yaml = _yaml.Build(block.Text("yaml_config"), block.Text("extra_yaml_config"), block.Text("apisix_yaml"), block.Text("apisix_json"));
        var config = ApisixConfig.Load(yaml, new ConfigLoadOptions
        {
            AdjustDefaults = d => d["plugin_attr"]!["prometheus"]!["enable_export_server"] = false,
            GetEnv = world.Modules.GetEnv, // ${{VAR}}: nginx's environment, main_config's `env NAME=value;` included
        });
        // a standalone data plane reads its resources from conf/apisix.yaml (or .json)
        var registry = new PluginRegistry();
        AiProxyPlugins.Register(registry);
        Apisix.Core.Plugins.Builtin.CorePlugins.Register(registry);
        registry.Load(config.Plugins);
        if (config.ConfigProvider is "yaml" or "json" && (block.Text("apisix_yaml") ?? block.Text("apisix_json")) is { } standalone)
        {
            var standaloneErrs = new List<string>();
            // plugin.plugin_checker in a yaml/json data plane: a plugin that is not enabled is an error
            string? CheckPlugins(string type, JsonObject item) =>
                type is "routes" or "services" or "consumers" or "global_rules" or "plugin_configs" or "consumer_groups"
                && item["plugins"] is JsonObject plugins
                && registry.CheckSchema(plugins, type == "consumers" ? SchemaType.Consumer : SchemaType.Plugin) is (false, var err)
                    ? err : null;
            if (Apisix.Core.Core.ConfigYaml.Load(_store, standalone, config.ConfigProvider == "json", logError: standaloneErrs.Add,
                    checker: CheckPlugins) is { } e)
                standaloneErrs.Add(e);
            world.OnNginx.Add(nginx => standaloneErrs.ForEach(m => nginx.LogInternal(LogLevel.Error, m)));
            // config_yaml.init reads the file in init_by_lua and says so (read_apisix_config)
            var standaloneFile = Path.Combine(TestNginxPaths.ServerRoot(Root), "conf", config.ConfigProvider == "json" ? "apisix.json" : "apisix.yaml");
            if (standaloneErrs.Count == 0)
                world.OnNginx.Add(nginx => nginx.LogInternal(LogLevel.Warn,
                    "[lua] config_yaml.lua:204: read_apisix_config(): config file " + standaloneFile + " reloaded."));
        }
        var apisix = new ApisixHttp(config, _store, registry);
        // APISIX's nginx.conf: exit_worker_by_lua_block { apisix.http_exit_worker() }
        var loadedNames = string.Join(", ", registry.Enabled.Select(p => "\"" + p.Name + "\""));
        world.Conf.ExitWorkerByLua.Add(new LuaChunk("require(\"apisix\").http_exit_worker({" + loadedNames + "})",
            "exit_worker_by_lua(nginx.conf:1)", 1));
        ApisixLuaModules.Register(world.Modules, Root, _store, config, registry, AiProxyPlugins.RegisterLua);
        // http_init_worker: the health-check manager's timers start with each worker
        world.OnNginx.Add(nginx => nginx.WorkerInit.Add(w => AiProxyMultiPlugin.InitWorker(w, _store, config)));
        // core.id.init: apisix.id from the config, else a generated uid
        var apisixId = Apisix.Core.Json.JsonScalars.TryGetString(config.Get("apisix", "id"), out var cid) ? cid : null;
        world.OnNginx.Add(nginx => nginx.WorkerInit.Add(w => Apisix.Core.CoreId.Init(w, apisixId)));
        world.OnNginx.Add(nginx => nginx.WorkerInit.Add(w => ApisixStatus.InitWorker(w, config, _store)));
        world.OnNginx.Add(nginx => nginx.WorkerInit.Add(w =>
            Apisix.Core.Upstream.ForwardedHeaders.InitWorker(config, msg => nginx.Log(w, LogLevel.Info, msg, null))));
        // the config sync of each worker (and, with master_on as t::APISIX sets it, of the privileged agent)
        world.OnNginx.Add(nginx => nginx.WorkerInit.Add(w => apisix.HttpInitWorker(w, privilegedAgent: w.Id == 0 && file.Settings.MasterOn != false)));
        world.OnNginx.Add(nginx => nginx.WorkerInit.Add(w => apisix.Admin.InitWorker(w.Id,
            (level, msg) => nginx.Log(w, ErrorLog.Parse(level), msg, null), work => w.Loop.Post(_ => work(), null))));

        // t::APISIX's init_by_lua: apisix.http_init(args), whose args carry the DNS servers; its
        // init_resolver line (the Lua module is not loaded at init here: loading apisix.core
        // modules that early changes what a block's extra_init_by_lua patches)
        var dnsResolver = DnsResolverJson(file);
        world.OnNginx.Add(nginx => nginx.LogInternal(LogLevel.Info, "[lua] resolver.lua:53: init_resolver(): dns resolver " + dnsResolver));
        if (Section(world, block, file, "extra_init_by_lua") is { } init)
            world.Conf.InitByLua.Add(new LuaChunk(init, "init_by_lua(nginx.conf:1)", 1));
        if (Section(world, block, file, "extra_init_worker_by_lua") is { } initWorker)
            world.Conf.InitWorkerByLua.Add(new LuaChunk(initWorker, "init_worker_by_lua(nginx.conf:1)", 1));

        world.OnNginx.Add(nginx => NoteInternetUse(world, nginx));
        AddMockUpstream(world);
        AddStatusServer(world, config);
        AddCertFiles(world);
        AddTlsMockUpstream(world, Section(world, block, file, "upstream_server_config"));
        CiServices.Add(world);
        var mainServer = world.Conf.Servers[0];
        var mockServers = world.Conf.Servers.Where(s => s.Listens.Any(l => l.Port is 1980 or 1983)).ToList();
        world.OnNginx.Add(nginx => nginx.OnLog = req =>
        {
            // the 1984 server logs to access.log, the mock upstreams to theirs, all in the main format
            if (req.Server != mainServer && !mockServers.Contains(req.Server)) return;
            var line = AccessLogFormat.Format(req, AccessLogFormat.ApisixMain, name => Uninitialized(req, name),
                name => req.Log(LogLevel.Warn, $"using uninitialized \"{name}\" variable"));
            if (req.Server == mainServer) lock (world.AccessLog) world.AccessLog.Add(line);
        });
        ConfigureApisixLocations(world, block, apisix, Env(file, "TEST_ENABLE_CONTROL_API_V1") != "0");
    }

    /// <summary>
    /// Variables of the main log format that t::APISIX's nginx.conf declares with `set` (in its
    /// gateway and admin locations, and `$rate_limiting_info` with apisix-nginx-module): a request
    /// whose location never ran that `set` reads them uninitialized (see <see cref="Uninitialized"/>).
    /// </summary>
    private static readonly HashSet<string> DeclaredBySet = new(StringComparer.Ordinal)
    {
        "request_line", "apisix_upstream_response_time", "upstream_scheme", "upstream_host", "upstream_uri",
        "request_llm_model", "llm_model", "llm_time_to_first_token", "llm_prompt_tokens", "llm_completion_tokens",
        "llm_total_tokens", "llm_stream", "llm_has_tool_calls", "llm_tool_count", "llm_end_user_id",
        "llm_cache_read_input_tokens", "llm_cache_creation_input_tokens", "llm_reasoning_tokens", "rate_limiting_info",
    };

    /// <summary>
    /// nginx's rewrite module: a `set` variable read in a request where no `set` of it ran is
    /// "uninitialized": it reads as empty, with a warning (uninitialized_variable_warn is on), e.g.
    /// in the access log of a block's own /t location or of the mock upstream.
    /// </summary>
    private static bool Uninitialized(NgxRequest req, string name) =>
        DeclaredBySet.Contains(name) && !req.Vars.ContainsKey(name);

    /// <summary>Blocks that call the real internet cannot run here; they are skipped, never passed.</summary>
    private static string? NeedsInternet(TestBlock block)
    {
        // Trusting the system CA bundle means the block verifies a public server's certificate.
        if (block.Text("custom_trusted_cert")?.Trim() is "/etc/ssl/certs/ca-certificates.crt")
            return "needs the real internet (TLS to a public provider, api.openai.com)";
        foreach (var (_, v) in block.Sections)
            if (v.ToString().Contains("https://api.openai.com", StringComparison.Ordinal))
                return "needs the real internet (api.openai.com)";
        return null;
    }

    private static readonly HashSet<string> PublicProviderHosts =
        new(Apisix.Plugins.AiProxy.AiProviders.Providers.DefaultHosts(), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A block whose route names no endpoint sends the gateway to the provider's public host,
    /// which this in-memory network cannot reach: if connecting there fails and the block then
    /// fails, the block needed the internet and is skipped with that reason.
    /// </summary>
    private static void NoteInternetUse(BlockWorld world, Nginx nginx)
    {
        var connect = nginx.TcpConnectAsync;
        nginx.TcpConnectAsync = async (host, port, ct) =>
        {
            try { return await connect(host, port, ct); }
            catch (IOException) when (PublicProviderHosts.Contains(host))
            {
                world.SkipIfFailed = $"needs the real internet (the gateway called {host}:{port})";
                throw;
            }
        };
    }

    /// <summary>
    /// t::APISIX's <c>$dns_addrs_tbl_str</c>: with ENABLE_LOCAL_DNS the IPv4 nameservers of
    /// /etc/resolv.conf, else Google's and 114's; CUSTOM_DNS_SERVER replaces either.
    /// </summary>
    private static string DnsResolverJson(TestFile file)
    {
        if (Env(file, "CUSTOM_DNS_SERVER") is { Length: > 0 } custom) return "[\"" + custom + "\"]";
        if (string.IsNullOrEmpty(Env(file, "ENABLE_LOCAL_DNS"))) return "[\"8.8.8.8\",\"114.114.114.114\"]";
        var addrs = new List<string>();
        try
        {
            foreach (var line in File.ReadAllLines("/etc/resolv.conf"))
                if (System.Text.RegularExpressions.Regex.Match(line, @"^nameserver\s+(\d+[.]\d+[.]\d+[.]\d+)\s*$") is { Success: true } m)
                    addrs.Add(m.Groups[1].Value);
        }
        catch (IOException) { }
        return "[" + string.Join(",", addrs.Select(a => "\"" + a + "\"")) + "]";
    }

    private static void ConfigureApisixLocations(BlockWorld world, TestBlock block, ApisixHttp apisix, bool controlApi)
    {
        var server = world.Conf.Servers[0];
        var wait = double.TryParse(block.Text("wait_etcd_sync")?.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var w) ? w : 0.1;
        // t::APISIX's admin location declares what the main log format reads (left as declared)
        var admin = new LocationConf { Modifier = "", Pattern = "/apisix/admin", Handler = apisix.HttpAdminAsync };
        admin.Sets.AddRange([("upstream_scheme", "http"), ("upstream_host", "$http_host"), ("upstream_uri", ""), ("request_line", "")]);
        server.Locations.Add(admin);
        if (controlApi)
        {
            // t::APISIX's `location /v1/`: the control API (its health-check views; other paths 404)
            var control = new Apisix.Core.Control.V1(apisix.Config, apisix.Store);
            server.Locations.Add(new LocationConf
            {
                Modifier = "", Pattern = "/v1/",
                Handler = control.HandleAsync,
            });
        }
        var gateway = new LocationConf
        {
            Modifier = "", Pattern = "/",
            AccessHandler = async req =>
            {
                // t::APISIX's access_by_lua sleeps before every gateway request ("wait for etcd sync")
                if (wait > 0) await req.Nginx.RequestSleeps.SleepAsync(TimeSpan.FromSeconds(wait), req.Nginx.Stopping);
            },
            Handler = apisix.HttpAccessPhaseAsync,
            ErrorLogRequestId = "apisix_request_id",
        };
        gateway.Sets.AddRange(ApisixHttp.GatewayVariables);
        server.Locations.Add(gateway);
    }

    /// <summary>t::APISIX's status server on 7085: <c>/status/ready</c> and <c>/status</c>.</summary>
    private static void AddStatusServer(BlockWorld world, ApisixConfig config)
    {
        var status = new ServerConf();
        status.Listens.Add(new ListenSpec(IPAddress.Any, 7085));
        status.Locations.Add(new LocationConf
        {
            Modifier = "", Pattern = "/status/ready", Handler = req => ApisixStatus.StatusReadyAsync(req, config),
        });
        status.Locations.Add(new LocationConf { Modifier = "", Pattern = "/status", Handler = ApisixStatus.StatusAsync });
        world.Conf.Servers.Add(status);
    }

    /// <summary>The certificates t::APISIX writes under conf/cert/ (from t/certs), kept in memory.</summary>
    private void AddCertFiles(BlockWorld world)
    {
        var certDir = Path.Combine(TestNginxPaths.ServerRoot(Root), "conf", "cert");
        foreach (var name in new[] { "apisix.crt", "apisix.key", "apisix_ecc.crt", "apisix_ecc.key", "test2.crt", "test2.key", "etcd.pem", "etcd.key" })
        {
            var src = Path.Combine(Root, "t", "certs", name);
            if (File.Exists(src)) world.Conf.Files[Path.Combine(certDir, name)] = File.ReadAllBytes(src);
        }
    }

    /// <summary>
    /// t::APISIX's TLS mock upstream on 1983: `lib.server` behind conf/cert/apisix.crt, logging the
    /// SNI of each handshake at warn level; a block's `--- upstream_server_config` goes into it.
    /// </summary>
    private void AddTlsMockUpstream(BlockWorld world, string? extra)
    {
        // t::APISIX reads the certificate from the tree's t/certs; a tree without it has no TLS mock
        if (!File.Exists(Path.Combine(Root, "t", "certs", "apisix.crt"))) return;
        var text = "server {\n    listen 1983 ssl;\n    ssl_certificate cert/apisix.crt;\n    ssl_certificate_key cert/apisix.key;\n"
                   + (extra ?? "")
                   + "\n    ssl_certificate_by_lua_block {\n        local ngx_ssl = require \"ngx.ssl\"\n"
                   + "        ngx.log(ngx.WARN, \"Receive SNI: \", ngx_ssl.server_name())\n    }\n"
                   + "    location / {\n        content_by_lua_block {\n            require(\"lib.server\").go()\n        }\n    }\n}\n";
        var conf = new HttpConf();
        HttpConfBuilder.AddHttpDirectives(conf, NginxConfParser.Parse(text, ConfPath, 1));
        var tls = conf.Servers[0];
        tls.DefaultType = "text/plain";
        world.Conf.Servers.Add(tls);
    }

    /// <summary>The mock upstream t::APISIX runs: `lib.server` on 1980, 1981, 1982 and 5044.</summary>
    private static void AddMockUpstream(BlockWorld world)
    {
        var mock = new ServerConf { DefaultType = "text/plain", ServerTokens = false }; // t::APISIX: server_tokens off
        // no server_name there: nginx's is "" (its log lines say `server: ,`)
        foreach (var port in new[] { 1980, 1981, 1982, 5044 }) mock.Listens.Add(new ListenSpec(IPAddress.Any, port));
        mock.Locations.Add(new LocationConf
        {
            Modifier = "", Pattern = "/",
            ContentByLua = new LuaChunk("require(\"lib.server\").go()", "content_by_lua(nginx.conf:1)", 1),
        });
        world.Conf.Servers.Add(mock);
    }
}
