using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Plugins;

namespace Apisix.Core.Config;

/// <summary>One entry of <c>deployment.admin.admin_key</c>.</summary>
public sealed record AdminKey(string Name, string Key, string Role);

/// <summary>Settings for <see cref="ApisixConfig.Load"/>.</summary>
public sealed class ConfigLoadOptions
{
    /// <summary>Environment lookup for <c>${{VAR}}</c> and the few variables APISIX reads; null for the process environment.</summary>
    public Func<string, string?>? GetEnv { get; init; }

    /// <summary>
    /// Changes to the built-in defaults before the file is merged onto them,
    /// as t::APISIX does (it turns off <c>plugin_attr.prometheus.enable_export_server</c>).
    /// </summary>
    public Action<JsonObject>? AdjustDefaults { get; init; }

    /// <summary>Replace an empty admin key with a random one, as APISIX does at start (<c>core.id.init</c>).</summary>
    public bool AutogenerateAdminKey { get; init; } = true;

    /// <summary>Resolve <c>ssl_trusted_certificate: system</c> to the system CA bundle path when one exists.</summary>
    public bool ResolveSystemCertificates { get; init; } = true;

    /// <summary>Random source for a generated admin key; null for a shared one.</summary>
    public Random? Random { get; init; }
}

/// <summary>
/// APISIX's local configuration (<c>core.config.local_conf()</c>): the
/// defaults of <c>apisix/cli/config.lua</c> with a <c>config.yaml</c> merged
/// on top the way <c>apisix/cli/file.lua</c> reads it. <see cref="Root"/> is
/// the whole tree; the typed accessors read the parts the port uses.
/// </summary>
public sealed class ApisixConfig
{
    private static readonly string[] TrustedCertPaths =
    {
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/tls/cacert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    };

    private ApisixConfig(JsonObject root)
    {
        Root = root;
    }

    /// <summary>The merged configuration tree.</summary>
    public JsonObject Root { get; }

    /// <summary>The defaults alone, as if <c>config.yaml</c> were empty.</summary>
    public static ApisixConfig Default(ConfigLoadOptions? options = null) => Load(null, options);

    /// <summary>
    /// <c>read_yaml_conf</c> on a <c>config.yaml</c> text (null or blank for
    /// none). Throws <see cref="ConfigException"/> with APISIX's message when
    /// the file is invalid, does not merge, or fails the config schema.
    /// </summary>
    public static ApisixConfig Load(string? yamlText, ConfigLoadOptions? options = null)
    {
        options ??= new ConfigLoadOptions();
        var getEnv = options.GetEnv ?? Environment.GetEnvironmentVariable;

        var conf = DefaultConfig.Create(getEnv);
        options.AdjustDefaults?.Invoke(conf);

        if (yamlText != null && !IsEmptyYaml(yamlText))
        {
            var user = YamlLoader.Load(yamlText);
            if (user == null) throw new ConfigException("invalid config.yaml file");
            if (user is not JsonObject userObj)
                throw new ConfigException("failed to merge, the top level of config.yaml is not a map");

            string? err = ConfigMerge.ResolveVars(userObj, getEnv);
            if (err != null) throw new ConfigException(err);

            err = ConfigMerge.Merge(conf, userObj);
            if (err != null) throw new ConfigException(err);
        }

        string? verr = ConfigSchema.Validate(conf);
        if (verr != null) throw new ConfigException(verr);

        ApplyDeployment(conf);

        if (options.ResolveSystemCertificates
            && conf["apisix"]?["ssl"] is JsonObject ssl
            && JsonScalars.TryGetString(ssl["ssl_trusted_certificate"], out string cert) && cert == "system")
        {
            var path = TrustedCertPaths.FirstOrDefault(File.Exists);
            if (path != null) ssl["ssl_trusted_certificate"] = path;
        }

        ReplaceByReservedEnvVars(conf, getEnv);

        if (options.AutogenerateAdminKey) AutogenerateAdminKey(conf, options.Random ?? Random.Shared);

        return new ApisixConfig(conf);
    }

    private static bool IsEmptyYaml(string text)
    {
        foreach (var raw in (text + "\n").Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var trimmed = line.TrimStart(' ', '\t', '\f', '\v', '\r');
            if (trimmed.Length == 0 || trimmed[0] == '#') continue;
            return false;
        }
        return true;
    }

    private static void ApplyDeployment(JsonObject conf)
    {
        if (conf["deployment"] is not JsonObject deployment) return;

        deployment["config_provider"] = "etcd";
        string role = JsonScalars.TryGetString(deployment["role"], out string r) ? r : "";
        var apisix = conf["apisix"] as JsonObject;

        switch (role)
        {
            case "traditional":
                conf["etcd"] = deployment["etcd"]?.DeepClone();
                if (Provider(deployment, "role_traditional") == "yaml") deployment["config_provider"] = "yaml";
                break;
            case "control_plane":
                conf["etcd"] = deployment["etcd"]?.DeepClone();
                if (apisix != null) apisix["enable_admin"] = true;
                break;
            case "data_plane":
                conf["etcd"] = deployment["etcd"]?.DeepClone();
                var p = Provider(deployment, "role_data_plane");
                if (p is "yaml" or "json" or "xds") deployment["config_provider"] = p;
                if (apisix != null) apisix["enable_admin"] = false;
                break;
        }
    }

    private static string? Provider(JsonObject deployment, string section) =>
        deployment[section] is JsonObject s && JsonScalars.TryGetString(s["config_provider"], out string p) ? p : null;

    private static void ReplaceByReservedEnvVars(JsonObject conf, Func<string, string?> getEnv)
    {
        var v = getEnv("APISIX_DEPLOYMENT_ETCD_HOST");
        if (v == null || conf["deployment"]?["etcd"] is not JsonObject etcd) return;
        var (val, err) = CJson.Decode(v);
        if (err != null || val == null) return;
        etcd["host"] = val;
        if (conf["etcd"] is JsonObject top) top["host"] = val.DeepClone();
    }

    private static void AutogenerateAdminKey(JsonObject conf, Random random)
    {
        string role = JsonScalars.TryGetString(conf["deployment"]?["role"], out string r) ? r : "";
        if (role != "traditional" && role != "control_plane") return;
        if (conf["deployment"]?["admin"]?["admin_key"] is not JsonArray keys) return;

        foreach (var item in keys)
        {
            if (item is not JsonObject k) continue;
            if (!JsonScalars.TryGetString(k["role"], out string kr) || kr != "admin") continue;
            if (!JsonScalars.TryGetString(k["key"], out string kk) || kk != "") continue;

            var chars = new char[32];
            for (int i = 0; i < chars.Length; i++)
                chars[i] = (char)(random.Next(65, 91) + random.Next(0, 2) * 32);
            k["key"] = new string(chars);
        }
    }

    /// <summary><c>core.table.try_read_attr(local_conf, ...)</c>: the value at a path, or null.</summary>
    public JsonNode? Get(params string[] path)
    {
        JsonNode? node = Root;
        foreach (var p in path)
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(p, out node)) return null;
        }
        return node;
    }

    private string? GetString(params string[] path) => JsonScalars.TryGetString(Get(path), out string s) ? s : null;

    private bool? GetBool(params string[] path) => JsonScalars.TryGetBoolean(Get(path), out bool b) ? b : null;

    private static IReadOnlyList<string> Strings(JsonNode? node)
    {
        var list = new List<string>();
        if (node is JsonArray arr)
        {
            foreach (var item in arr)
            {
                if (JsonScalars.TryGetString(item, out string s)) list.Add(s);
            }
        }
        return list;
    }

    /// <summary>The enabled HTTP plugins (<c>plugins</c>), in file order.</summary>
    public IReadOnlyList<string> Plugins => Strings(Root["plugins"]);

    /// <summary>The enabled stream plugins (<c>stream_plugins</c>).</summary>
    public IReadOnlyList<string> StreamPlugins => Strings(Root["stream_plugins"]);

    /// <summary>
    /// <c>deployment.admin.admin_key</c>; empty when the key list is absent
    /// (t::APISIX sets it to null), in which case no key is asked for.
    /// </summary>
    public IReadOnlyList<AdminKey> AdminKeys
    {
        get
        {
            var list = new List<AdminKey>();
            if (Get("deployment", "admin", "admin_key") is JsonArray arr)
            {
                foreach (var item in arr)
                {
                    if (item is not JsonObject k) continue;
                    list.Add(new AdminKey(
                        JsonScalars.TryGetString(k["name"], out string n) ? n : "",
                        k["key"] is { } key ? LuaText.ToLuaString(key) : "",
                        JsonScalars.TryGetString(k["role"], out string r) ? r : ""));
                }
            }
            return list;
        }
    }

    /// <summary>Whether <c>deployment.admin.admin_key</c> is present at all (even empty).</summary>
    public bool HasAdminKeyList => Get("deployment", "admin", "admin_key") != null;

    /// <summary><c>deployment.admin.admin_key_required</c>; only an explicit false turns the check off.</summary>
    public bool AdminKeyRequired => GetBool("deployment", "admin", "admin_key_required") != false;

    /// <summary><c>deployment.admin.admin_api_version</c> ("v3" by default).</summary>
    public string? AdminApiVersion => GetString("deployment", "admin", "admin_api_version");

    /// <summary><c>deployment.admin.enable_admin_cors</c>.</summary>
    public bool EnableAdminCors => GetBool("deployment", "admin", "enable_admin_cors") == true;

    /// <summary><c>apisix.enable_admin</c>.</summary>
    public bool EnableAdmin => GetBool("apisix", "enable_admin") == true;

    /// <summary><c>apisix.disable_upstream_healthcheck</c>.</summary>
    public bool DisableUpstreamHealthcheck => GetBool("apisix", "disable_upstream_healthcheck") == true;

    /// <summary><c>apisix.proxy_mode</c>.</summary>
    public string ProxyMode => GetString("apisix", "proxy_mode") ?? "http";

    /// <summary><c>deployment.role</c>.</summary>
    public string DeploymentRole => GetString("deployment", "role") ?? "traditional";

    /// <summary><c>deployment.config_provider</c> as set after loading ("etcd", "yaml", "json", "xds").</summary>
    // read on every proxied request (the resource keys): looked up once, as the tree does not change after loading
    public string ConfigProvider => _configProvider ??= GetString("deployment", "config_provider") ?? "etcd";
    private string? _configProvider;

    /// <summary><c>apisix.router.http</c>, null when not set (read by every request's route match).</summary>
    public string? RouterHttp => (_routerHttp ??= new(GetString("apisix", "router", "http"))).Value;
    private StrongBox<string?>? _routerHttp;

    /// <summary><c>apisix.enable_server_tokens</c> unless set to false (the Server header's version).</summary>
    public bool EnableServerTokens => _serverTokens ??= !(Get("apisix", "enable_server_tokens") is JsonValue v && v.TryGetValue(out bool on) && !on);
    private bool? _serverTokens;

    /// <summary><c>apisix.show_upstream_status_in_response_header</c> is true.</summary>
    public bool ShowUpstreamStatusInResponseHeader =>
        _showUpstreamStatus ??= JsonScalars.TryGetBoolean(Get("apisix", "show_upstream_status_in_response_header"), out var show) && show;
    private bool? _showUpstreamStatus;

    /// <summary><c>apisix.trusted_addresses</c> when it is a list, else null (read by every proxied request).</summary>
    public JsonArray? TrustedAddresses => (_trustedAddresses ??= new(Get("apisix", "trusted_addresses") as JsonArray)).Value;
    private StrongBox<JsonArray?>? _trustedAddresses;

    /// <summary><c>etcd.prefix</c> (the deployment's etcd section), "/apisix" by default.</summary>
    // read on every routed request (the store keys of its route, service and upstream): looked up once
    public string EtcdPrefix => _etcdPrefix ??= GetString("etcd", "prefix") ?? GetString("deployment", "etcd", "prefix") ?? "/apisix";
    private string? _etcdPrefix;

    /// <summary>
    /// The ports of <c>apisix.node_listen</c>, which may be a number, a list of
    /// numbers, or a list of <c>{ip, port, enable_http2}</c>.
    /// </summary>
    public IReadOnlyList<int> NodeListenPorts
    {
        get
        {
            var ports = new List<int>();
            var node = Get("apisix", "node_listen");
            if (JsonScalars.TryGetNumber(node, out double single))
            {
                ports.Add((int)single);
            }
            else if (node is JsonArray arr)
            {
                foreach (var item in arr)
                {
                    if (JsonScalars.TryGetNumber(item, out double p)) ports.Add((int)p);
                    else if (item is JsonObject o && JsonScalars.TryGetNumber(o["port"], out double op)) ports.Add((int)op);
                }
            }
            return ports;
        }
    }

    /// <summary><c>plugin.plugin_attr(name)</c>: <c>plugin_attr[name]</c>, or null.</summary>
    public JsonObject? PluginAttr(string name) => Get("plugin_attr", name) as JsonObject;

    /// <summary><c>nginx_config.error_log_level</c>.</summary>
    public string ErrorLogLevel => GetString("nginx_config", "error_log_level") ?? "warn";

    /// <summary>
    /// Data encryption as <c>plugin.enable_gde()</c> sees it: on when
    /// <c>apisix.data_encryption.enable_encrypt_fields</c> is true and the
    /// config provider is etcd; the keyring may be a list or one string.
    /// </summary>
    public DataEncryption DataEncryption
    {
        get
        {
            bool enabled = GetBool("apisix", "data_encryption", "enable_encrypt_fields") == true
                           && ConfigProvider == "etcd";
            var ring = Get("apisix", "data_encryption", "keyring");
            IEnumerable<string> keys = JsonScalars.TryGetString(ring, out string one) ? new[] { one } : Strings(ring);
            return new DataEncryption(enabled, keys);
        }
    }
}
