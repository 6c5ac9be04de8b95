using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Config;

/// <summary>Loading config.yaml onto the built-in defaults.</summary>
public class ApisixConfigTests
{
    private static readonly ConfigLoadOptions NoEnv = new() { GetEnv = _ => null, ResolveSystemCertificates = false };

    private static ApisixConfig Load(string? yaml, ConfigLoadOptions? options = null) =>
        ApisixConfig.Load(yaml, options ?? NoEnv);

    [Fact]
    public void DefaultsMatchTheCliDefaults()
    {
        var c = Load(null);
        c.NodeListenPorts.Should().Equal(9080);
        c.EnableAdmin.Should().BeTrue();
        c.DisableUpstreamHealthcheck.Should().BeFalse();
        c.Plugins.Should().HaveCount(104);
        c.Plugins[0].Should().Be("real-ip");
        c.Plugins.Should().ContainInOrder("ai-proxy-multi", "ai-proxy", "prometheus", "serverless-post-function");
        c.StreamPlugins.Should().Equal("ip-restriction", "limit-conn", "mqtt-proxy", "syslog", "traffic-split");
        c.AdminApiVersion.Should().Be("v3");
        c.AdminKeyRequired.Should().BeTrue();
        c.EtcdPrefix.Should().Be("/apisix");
        c.ConfigProvider.Should().Be("etcd");
        c.PluginAttr("prometheus")!["export_addr"]!["port"]!.GetValue<long>().Should().Be(9091);
        c.Get("nginx_config", "http", "lua_shared_dict", "upstream-healthcheck").Should().BeNull();
        c.Get("nginx_config", "meta", "lua_shared_dict", "upstream-healthcheck")!.GetValue<string>().Should().Be("10m");
        // Copied from the deployment by the loader.
        c.Get("etcd", "host")!.ToJsonString().Should().Be("[\"http://127.0.0.1:2379\"]");
    }

    [Fact]
    public void MapsMergeKeyByKey()
    {
        var c = Load("apisix:\n  node_listen: 1984\n  proxy_mode: http&stream\n");
        c.NodeListenPorts.Should().Equal(1984);
        c.ProxyMode.Should().Be("http&stream");
        c.EnableAdmin.Should().BeTrue("keys the file does not name keep their defaults");
        c.Get("apisix", "router", "http")!.GetValue<string>().Should().Be("radixtree_host_uri");
    }

    [Fact]
    public void ArraysReplaceRatherThanMerge()
    {
        var c = Load("plugins:\n  - ai-proxy\n  - prometheus\n");
        c.Plugins.Should().Equal("ai-proxy", "prometheus");
    }

    [Fact]
    public void NullDeletesTheKey()
    {
        var c = Load("deployment:\n  admin:\n    admin_key: null\n");
        c.HasAdminKeyList.Should().BeFalse();
        c.AdminKeys.Should().BeEmpty();
        c.Get("deployment", "admin", "admin_key_required")!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public void AScalarOfAnotherTypeIsAMergeError()
    {
        var act = () => Load("apisix:\n  enable_admin: \"yes\"\n");
        act.Should().Throw<ConfigException>()
            .WithMessage("failed to merge, path[apisix->enable_admin] expect: boolean, but got: string");

        // Some paths may change type.
        Load("nginx_config:\n  worker_processes: 2\n").Get("nginx_config", "worker_processes")!
            .GetValue<long>().Should().Be(2);
    }

    [Fact]
    public void PlainScalarsAreTypedLikeLyaml()
    {
        var c = Load("apisix:\n  enable_admin: off\n  extra_lua_path: \"on\"\nplugin_attr:\n  x:\n    a: 010\n    b: 1_000\n    c: 2.5\n    d: ~\n    e: '12'\n");
        c.EnableAdmin.Should().BeFalse();
        c.Get("apisix", "extra_lua_path")!.GetValue<string>().Should().Be("on");
        var x = c.PluginAttr("x")!;
        CJson.Encode(x).Should().Be("{\"a\":8,\"b\":1000,\"c\":2.5,\"e\":\"12\"}");
    }

    [Fact]
    public void EnvironmentVariablesAreSubstituted()
    {
        var env = new Dictionary<string, string> { ["PORT"] = "1990", ["NAME"] = "edge" };
        var options = new ConfigLoadOptions { GetEnv = k => env.GetValueOrDefault(k), ResolveSystemCertificates = false };
        var c = Load("apisix:\n  node_listen: ${{PORT}}\n  id: \"${{NAME}}-${{ZONE:=eu}}\"\n", options);
        c.NodeListenPorts.Should().Equal(1990);
        c.Get("apisix", "id")!.GetValue<string>().Should().Be("edge-eu");

        var act = () => Load("apisix:\n  id: ${{MISSING}}\n", options);
        act.Should().Throw<ConfigException>()
            .WithMessage("failed to handle configuration: can't find environment variable MISSING");
    }

    [Fact]
    public void SchemaFillsDefaultsAndRejectsBadValues()
    {
        var c = Load("apisix:\n  node_listen: 1984\n");
        c.Get("apisix", "disable_upstream_healthcheck")!.GetValue<bool>().Should().BeFalse();

        Load("apisix:\n  disable_upstream_healthcheck: true\n").DisableUpstreamHealthcheck.Should().BeTrue();

        var act = () => Load("apisix:\n  proxy_mode: tcp\n");
        act.Should().Throw<ConfigException>().Which.Message.Should().StartWith("failed to validate config: ");
    }

    [Fact]
    public void DeploymentRoleDecidesTheProvider()
    {
        var dp = Load("deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n");
        dp.ConfigProvider.Should().Be("yaml");
        dp.EnableAdmin.Should().BeFalse();
        dp.DataEncryption.Enabled.Should().BeFalse();

        Load(null).DataEncryption.Enabled.Should().BeTrue();
    }

    [Fact]
    public void AdjustedDefaultsApplyBeforeTheFile()
    {
        var c = Load(null, new ConfigLoadOptions
        {
            GetEnv = _ => null,
            AdjustDefaults = d => d["plugin_attr"]!["prometheus"]!["enable_export_server"] = false,
        });
        c.PluginAttr("prometheus")!["enable_export_server"]!.GetValue<bool>().Should().BeFalse();
    }

    [Fact]
    public void BlankOrCommentOnlyFilesChangeNothing()
    {
        Load("\n# nothing here\n   \n").NodeListenPorts.Should().Equal(9080);
    }
}

/// <summary>YAML reading details.</summary>
public class YamlLoaderTests
{
    [Fact]
    public void ARepeatedKeyKeepsItsLastValue()
    {
        CJson.Encode(YamlLoader.Load("a: 1\nb: 2\na: 3\n")).Should().Be("{\"a\":3,\"b\":2}");
    }

    [Fact]
    public void AnchorsAliasesAndMergeKeys()
    {
        var n = YamlLoader.Load("base: &b\n  x: 1\n  y: 2\nuse: *b\nmix:\n  <<: *b\n  y: 5\n");
        CJson.Encode(n).Should().Be("{\"base\":{\"x\":1,\"y\":2},\"use\":{\"x\":1,\"y\":2},\"mix\":{\"y\":5,\"x\":1}}");
    }

    [Fact]
    public void QuotedAndTaggedScalarsKeepTheirType()
    {
        CJson.Encode(YamlLoader.Load("a: \"true\"\nb: !!str 12\nc: !!int \"7\"\nd: yes\ne: 0x1F\nf: 1:30\n"))
            .Should().Be("{\"a\":\"true\",\"b\":\"12\",\"c\":7,\"d\":true,\"e\":31,\"f\":90}");
    }

    [Fact]
    public void EmptyTextIsNothing()
    {
        YamlLoader.Load("").Should().BeNull();
        var act = () => YamlLoader.Load("a: [1, 2");
        act.Should().Throw<ConfigException>();
    }
}
