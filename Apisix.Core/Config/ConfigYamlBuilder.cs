namespace Apisix.Core.Config;

/// <summary>
/// Builds the <c>conf/config.yaml</c> text that t::APISIX writes for each test
/// block. One instance per test file: like the Perl module's file-level
/// variable, the base text switches to a data-plane config for the rest of
/// the file once a block uses <c>apisix_yaml</c> or <c>apisix_json</c>
/// without its own <c>yaml_config</c>.
///
/// Order of assembly: the block's <c>yaml_config</c> (or the base text); the
/// default deployment prepended when the text does not contain
/// <c>deployment:</c> anywhere; the block's <c>extra_yaml_config</c> appended.
/// </summary>
public sealed class ConfigYamlBuilder
{
    /// <summary>t::APISIX's base config: the test port, http+stream, a fixed trusted address.</summary>
    public const string BaseYaml =
        "apisix:\n" +
        "  node_listen: 1984\n" +
        "  proxy_mode: http&stream\n" +
        "  stream_proxy:\n" +
        "    tcp:\n" +
        "      - 9100\n" +
        "  enable_resolv_search_opt: false\n" +
        "  trusted_addresses:\n" +
        "    - \"127.0.0.1\"\n";

    /// <summary>Added to the base when ETCD_ENABLE_AUTH is "true".</summary>
    public const string EtcdAuthYaml =
        "deployment:\n" +
        "  role: traditional\n" +
        "  role_traditional:\n" +
        "    config_provider: etcd\n" +
        "  etcd:\n" +
        "    user: root\n" +
        "    password: 5tHkHhYkjr6cQY\n";

    /// <summary>The deployment prepended to a text without one: traditional, etcd, no admin key.</summary>
    public const string DefaultDeployment =
        "deployment:\n" +
        "  role: traditional\n" +
        "  role_traditional:\n" +
        "    config_provider: etcd\n" +
        "  admin:\n" +
        "    admin_key: null\n";

    /// <summary>Base used once a block has <c>apisix_yaml</c> (standalone data plane, YAML provider).</summary>
    public const string StandaloneYamlBase =
        "apisix:\n" +
        "    node_listen: 1984\n" +
        "    enable_admin: false\n" +
        "deployment:\n" +
        "    role: data_plane\n" +
        "    role_data_plane:\n" +
        "        config_provider: yaml\n";

    /// <summary>Base used once a block has <c>apisix_json</c> (standalone data plane, JSON provider).</summary>
    public const string StandaloneJsonBase =
        "apisix:\n" +
        "    node_listen: 1984\n" +
        "    enable_admin: false\n" +
        "deployment:\n" +
        "    role: data_plane\n" +
        "    role_data_plane:\n" +
        "        config_provider: json\n";

    /// <param name="etcdEnableAuth">The ETCD_ENABLE_AUTH environment variable is "true".</param>
    public ConfigYamlBuilder(bool etcdEnableAuth = false)
    {
        FileBaseYaml = etcdEnableAuth ? BaseYaml + EtcdAuthYaml : BaseYaml;
    }

    /// <summary>The base text used by blocks without <c>yaml_config</c> (changes after apisix_yaml/apisix_json).</summary>
    public string FileBaseYaml { get; private set; }

    /// <summary>
    /// The config text for one block. Arguments are the block's section
    /// values, null when the section is absent.
    /// </summary>
    public string Build(string? yamlConfig, string? extraYamlConfig, string? apisixYaml = null, string? apisixJson = null)
    {
        if (PerlTrue(apisixYaml) && yamlConfig == null) FileBaseYaml = StandaloneYamlBase;
        if (PerlTrue(apisixJson) && yamlConfig == null) FileBaseYaml = StandaloneJsonBase;

        string text = yamlConfig ?? FileBaseYaml;
        if (!text.Contains("deployment:", StringComparison.Ordinal)) text = DefaultDeployment + text;
        if (PerlTrue(extraYamlConfig)) text += extraYamlConfig;
        return text;
    }

    /// <summary>Perl truthiness of a scalar: defined, not empty, not "0".</summary>
    private static bool PerlTrue(string? s) => !string.IsNullOrEmpty(s) && s != "0";
}
