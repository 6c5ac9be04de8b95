using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>Plugin confs on routes go through the enabled plugins' own checks.</summary>
public class PluginCheckTests
{
    [Fact]
    public void AValidPluginConfIsStoredWithoutItsDefaults()
    {
        var kit = new AdminTestKit();
        var res = kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{"counter":{"limit":3}}}""");
        res.Status.Should().Be(201);
        JsonNode.Parse(res.Body)!["value"]!["plugins"]!["counter"]!.ToJsonString().Should().Be("""{"limit":3}""");
    }

    [Fact]
    public void PluginSchemaFailuresNameThePlugin()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{"counter":{}}}""").Body
            .Should().Be("{\"error_msg\":\"failed to check the configuration of plugin counter err: property \\\"limit\\\" is required\"}\n");
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{"picky":{"bad":1}}}""").Body
            .Should().Be("{\"error_msg\":\"failed to check the configuration of plugin picky err: bad things happen\"}\n");
    }

    [Fact]
    public void UnknownAndDisabledPluginsAreRefused()
    {
        var kit = new AdminTestKit(extraYaml: "plugins:\n  - picky\n");
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{"nope":{}}}""").Body
            .Should().Be("{\"error_msg\":\"unknown plugin [nope]\"}\n");
        // Registered, but left out of the plugins list.
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{"counter":{"limit":1}}}""").Body
            .Should().Be("{\"error_msg\":\"unknown plugin [counter]\"}\n");
    }

    [Fact]
    public void NonTablePluginConfsAreRefused()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{"counter":"x"}}""").Body
            .Should().Be("{\"error_msg\":\"invalid plugin conf \\\"x\\\" for plugin [counter]\"}\n");
    }

    [Fact]
    public void MetaIsAcceptedOnEveryPlugin()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1",
                """{"uri":"/a","plugins":{"counter":{"limit":1,"_meta":{"disable":true,"priority":5,"error_response":{"m":1}}}}}""")
            .Status.Should().Be(201);

        kit.Send("PUT", "/apisix/admin/routes/1",
                """{"uri":"/a","plugins":{"counter":{"limit":1,"_meta":{"disable":"yes"}}}}""").Body
            .Should().Be("{\"error_msg\":\"failed to check the configuration of plugin counter err: property \\\"_meta\\\" validation failed: property \\\"disable\\\" validation failed: wrong type: expected boolean, got string\"}\n");

        kit.Send("PUT", "/apisix/admin/routes/1",
                """{"uri":"/a","plugins":{"counter":{"limit":1,"_meta":{"other":1}}}}""").Status
            .Should().Be(400);
    }

    [Fact]
    public void MetaFilterAndPreFunctionHooksAreConsulted()
    {
        var kit = new AdminTestKit();
        kit.Plugins.MetaFilterValidator = _ => "invalid operator '='";
        kit.Send("PUT", "/apisix/admin/routes/1",
                """{"uri":"/a","plugins":{"counter":{"limit":1,"_meta":{"filter":[["a","=","b"]]}}}}""").Body
            .Should().Be("{\"error_msg\":\"failed to validate the 'vars' expression: invalid operator '='\"}\n");

        kit.Plugins.MetaPreFunctionValidator = _ => "syntax error";
        kit.Send("PUT", "/apisix/admin/routes/1",
                """{"uri":"/a","plugins":{"counter":{"limit":1,"_meta":{"pre_function":"x"}}}}""").Body
            .Should().Be("{\"error_msg\":\"failed to load _meta.pre_function in plugin counter: syntax error\"}\n");
    }

    [Fact]
    public void RegistryLoadsOnlyEnabledPluginsByPriority()
    {
        var logs = new List<(string, string)>();
        var reg = new PluginRegistry((l, m) => logs.Add((l, m)));
        reg.Register(new PickyPlugin());
        reg.Register(new CounterPlugin());
        reg.Register(new SecretPlugin());
        reg.SilentlyMissing.Add("not-ported");

        reg.Load(new[] { "picky", "counter", "missing", "not-ported", "kafka-logger", "picky" });

        reg.Enabled.Select(p => p.Name).Should().Equal("counter", "picky");
        reg.Get("secret-holder").Should().BeNull();
        reg.GetAvailable("secret-holder").Should().NotBeNull();
        logs.Should().Contain(("error", "failed to load plugin [missing] err: module 'apisix.plugins.missing' not found"));
        logs.Should().NotContain(l => l.Item1 == "error" && l.Item2.Contains("not-ported"));
        logs.Should().NotContain(l => l.Item1 == "error" && l.Item2.Contains("kafka-logger"));
    }

    [Fact]
    public void LoadingInjectsMetaOnceAndRefusesSchemasThatDeclareIt()
    {
        var reg = new PluginRegistry();
        var counter = new CounterPlugin();
        reg.Register(counter);
        reg.Load(new[] { "counter" });
        reg.Load(new[] { "counter" });

        var schema = counter.Schema.AsObject();
        schema["$comment"]!.GetValue<string>().Should().Be(PluginSchemas.InjectedComment);
        schema["properties"]!["_meta"]!["additionalProperties"]!.GetValue<bool>().Should().BeFalse();

        var own = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["_meta"] = new JsonObject() } };
        PluginSchemas.InjectMeta(own).Should().Be("found forbidden '_meta' field in the schema");
    }

    [Fact]
    public void CheckSchemaWritesDefaultsIntoTheConf()
    {
        var reg = new PluginRegistry();
        reg.Register(new CounterPlugin());
        reg.Load(new[] { "counter" });
        var plugins = new JsonObject { ["counter"] = new JsonObject { ["limit"] = 2 } };
        reg.CheckSchema(plugins).Should().Be((true, (string?)null));
        plugins["counter"]!["label"]!.GetValue<string>().Should().Be("none");
    }
}
