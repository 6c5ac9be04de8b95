using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>A host double: one dict, and the configurations every worker was told to take.</summary>
internal sealed class FakeStandaloneHost : IStandaloneHost
{
    public SharedDict? ConfigDict { get; } = new("standalone-config", 1 << 20);
    public List<JsonObject> Broadcasts { get; } = new();
    public void Broadcast(JsonObject config) => Broadcasts.Add(config);
}

/// <summary>The standalone admin API (config provider yaml) and the registry pieces it and the Lua face use.</summary>
public class StandaloneTests
{
    private const string Yaml = """
        deployment:
            role: traditional
            role_traditional:
                config_provider: yaml
            admin:
                admin_key: null

        """;

    private static AdminResponse Put(AdminTestKit kit, IStandaloneHost host, string body, string? digest)
    {
        var h = new Dictionary<string, string>(StringComparer.Ordinal);
        if (digest != null) h["x-digest"] = digest;
        return kit.Api.Handle("PUT", "/apisix/admin/configs", body, h, standalone: host);
    }

    [Fact]
    public void PutKeepsTheConfigurationWithItsVersionsAndBroadcastsItWithoutMetadata()
    {
        var kit = new AdminTestKit(yamlConfig: Yaml);
        var host = new FakeStandaloneHost();

        Put(kit, host, "{}", null).Body.Should().Be("{\"error_msg\":\"missing digest header\"}\n");
        Put(kit, host, "", "a").Body.Should().Be("{\"error_msg\":\"invalid request body: empty request body\"}\n");

        var r = Put(kit, host, """{"upstreams_conf_version":5,"upstreams":[{"id":"u1","nodes":{"127.0.0.1:80":1}}]}""", "a");
        r.Status.Should().Be(202);
        r.Header("X-Digest").Should().Be("a");
        host.Broadcasts.Should().HaveCount(1);
        var sent = host.Broadcasts[0];
        sent.ContainsKey("X-Digest").Should().BeFalse();
        sent["upstreams_conf_version"]!.GetValue<double>().Should().Be(5);
        sent["routes_conf_version"]!.GetValue<double>().Should().Be(1);
        sent["upstreams"]!.AsArray().Should().HaveCount(1);

        // the same digest: accepted, nothing changes
        Put(kit, host, "{}", "a").Status.Should().Be(204);
        host.Broadcasts.Should().HaveCount(1);

        // an unchanged version keeps the old items; a version may not go down
        Put(kit, host, """{"upstreams_conf_version":5}""", "b").Status.Should().Be(202);
        host.Broadcasts[1]["upstreams"]!.AsArray().Should().HaveCount(1);
        Put(kit, host, """{"upstreams_conf_version":4}""", "c").Body
            .Should().Be("{\"error_msg\":\"upstreams_conf_version must be greater than or equal to (5)\"}\n");
        Put(kit, host, """{"routes_conf_version":"x"}""", "c").Body
            .Should().Be("{\"error_msg\":\"routes_conf_version must be a number\"}\n");

        var get = kit.Api.Handle("GET", "/apisix/admin/configs", null, new Dictionary<string, string>(), standalone: host);
        get.Status.Should().Be(200);
        var got = JsonNode.Parse(get.Body)!;
        got["X-Digest"]!.GetValue<string>().Should().Be("b");
        got["upstreams_conf_version"]!.GetValue<double>().Should().Be(5);
    }

    [Fact]
    public void DuplicatesAreRefusedWithTheFirstError()
    {
        var kit = new AdminTestKit(yamlConfig: Yaml, extraYaml: "plugins:\n  - key-auth\n");
        kit.Plugins.Register(new KeyAuthPlugin());
        kit.Plugins.Load(new[] { "key-auth" });
        var host = new FakeStandaloneHost();
        Put(kit, host, """{"consumers":[{"username":"c1"},{"username":"c1"}]}""", "d").Body
            .Should().Be("{\"error_msg\":\"found duplicate username c1 in consumers\"}\n");
        Put(kit, host, """{"consumers":[{"username":"j"},{"id":"j/credentials/a","plugins":{"key-auth":{"key":"k"}}},"""
                       + """{"id":"j/credentials/a","plugins":{"key-auth":{"key":"k"}}}]}""", "e").Body
            .Should().Be("{\"error_msg\":\"found duplicate credential id j/credentials/a in consumers\"}\n");
    }

    [Fact]
    public void OnlyTheConfigsPathsAreServedWithTheYamlProvider()
    {
        var kit = new AdminTestKit(yamlConfig: Yaml);
        var host = new FakeStandaloneHost();
        kit.Api.Handle("GET", "/apisix/admin/routes", null, new Dictionary<string, string>(), standalone: host)
            .Status.Should().Be(404);
        var empty = kit.Api.Handle("GET", "/apisix/admin/configs", null, new Dictionary<string, string>(), standalone: host);
        JsonNode.Parse(empty.Body)!["routes_conf_version"]!.GetValue<int>().Should().Be(0);
        kit.Api.Handle("HEAD", "/apisix/admin/configs", null, new Dictionary<string, string>(), standalone: host)
            .Status.Should().Be(200);
    }

    [Fact]
    public void GetAllListsTheLoadedPluginsFieldsAndEnableGdeIsDecidedOnFirstUse()
    {
        var registry = new PluginRegistry();
        registry.Register(new ExamplePlugin());
        registry.Register(new BasicAuthPlugin());
        registry.Load(new[] { "example-plugin", "basic-auth" });
        var (http, stream) = registry.GetAll();
        stream.Count.Should().Be(0);
        http["example-plugin"]!["metadata_schema"]!["required"]!.AsArray().Should().HaveCount(2);
        http["example-plugin"]!["schema"]!["properties"]!["_meta"]!["properties"]!["priority"]!["description"]!
            .GetValue<string>().Should().Be("priority of plugins by customized order");
        http["basic-auth"]!["type"]!.GetValue<string>().Should().Be("auth");
        http["basic-auth"]!.AsObject().ContainsKey("name").Should().BeFalse();

        registry.Encryption = new DataEncryption(true, new[] { "0123456789abcdef" });
        registry.EnableDataEncryption.Should().BeNull();
        var conf = new JsonObject { ["username"] = "u", ["password"] = "p" };
        registry.EncryptConf("basic-auth", conf, SchemaType.Consumer);
        registry.EnableDataEncryption.Should().BeTrue();
        conf["password"]!.GetValue<string>().Should().NotBe("p");
    }

    [Fact]
    public void ExamplePluginChecksMetadataAgainstItsMetadataSchema()
    {
        var p = new ExamplePlugin();
        p.CheckSchema(new JsonObject { ["skey"] = "v" }, SchemaType.Metadata).Error
            .Should().Be("property \"ikey\" is required");
        p.CheckSchema(new JsonObject { ["ikey"] = 1, ["skey"] = "v" }, SchemaType.Metadata).Ok.Should().BeTrue();
        p.CheckSchema(new JsonObject { ["ikey"] = 1, ["skey"] = "v" }, SchemaType.Plugin).Error
            .Should().Be("property \"i\" is required");
    }
}
