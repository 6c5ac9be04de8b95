using Apisix.Core.Config;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Config;

/// <summary>The config.yaml text t::APISIX writes per block.</summary>
public class ConfigYamlBuilderTests
{
    private static readonly ConfigLoadOptions NoEnv = new() { GetEnv = _ => null, ResolveSystemCertificates = false };

    [Fact]
    public void ABlockWithoutYamlGetsTheDefaultDeploymentAndTheBase()
    {
        string text = new ConfigYamlBuilder().Build(null, null);
        text.Should().Be(ConfigYamlBuilder.DefaultDeployment + ConfigYamlBuilder.BaseYaml);

        var c = ApisixConfig.Load(text, NoEnv);
        c.NodeListenPorts.Should().Equal(1984);
        c.ProxyMode.Should().Be("http&stream");
        c.HasAdminKeyList.Should().BeFalse();
        c.Plugins.Should().HaveCount(104);
        c.Get("apisix", "trusted_addresses")!.ToJsonString().Should().Be("[\"127.0.0.1\"]");
    }

    [Fact]
    public void ExtraYamlIsAppended()
    {
        string text = new ConfigYamlBuilder().Build(null, "plugins:\n  - ai-proxy-multi\n  - prometheus\n");
        text.Should().EndWith(ConfigYamlBuilder.BaseYaml + "plugins:\n  - ai-proxy-multi\n  - prometheus\n");
        ApisixConfig.Load(text, NoEnv).Plugins.Should().Equal("ai-proxy-multi", "prometheus");
    }

    [Fact]
    public void YamlConfigReplacesTheBase()
    {
        string yaml = "apisix:\n  disable_upstream_healthcheck: true\n";
        string text = new ConfigYamlBuilder().Build(yaml, "plugins:\n  - ai-proxy-multi\n");
        text.Should().Be(ConfigYamlBuilder.DefaultDeployment + yaml + "plugins:\n  - ai-proxy-multi\n");

        var c = ApisixConfig.Load(text, NoEnv);
        c.DisableUpstreamHealthcheck.Should().BeTrue();
        c.NodeListenPorts.Should().Equal(new[] { 9080 }, "the base keys are gone with the base text");
    }

    [Fact]
    public void AnyDeploymentWordKeepsTheDefaultOut()
    {
        string yaml = "apisix:\n  node_listen: 1984\n# deployment: is mentioned only here\n";
        new ConfigYamlBuilder().Build(yaml, null).Should().Be(yaml);
    }

    [Fact]
    public void StandaloneBlocksSwitchTheBaseForTheRestOfTheFile()
    {
        var builder = new ConfigYamlBuilder();
        builder.Build(null, null, apisixYaml: "routes: []\n#END\n").Should().Be(ConfigYamlBuilder.StandaloneYamlBase);
        builder.Build(null, null).Should().Be(ConfigYamlBuilder.StandaloneYamlBase);
        builder.Build("apisix:\n  node_listen: 1984\n", null, apisixJson: "{}")
            .Should().StartWith(ConfigYamlBuilder.DefaultDeployment);
    }

    [Fact]
    public void EtcdAuthAddsItsDeployment()
    {
        string text = new ConfigYamlBuilder(etcdEnableAuth: true).Build(null, null);
        text.Should().Be(ConfigYamlBuilder.BaseYaml + ConfigYamlBuilder.EtcdAuthYaml);
        ApisixConfig.Load(text, NoEnv).Get("etcd", "user")!.GetValue<string>().Should().Be("root");
    }
}
