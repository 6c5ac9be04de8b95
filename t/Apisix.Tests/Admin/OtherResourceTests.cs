using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>Services, upstreams, consumers, plugin metadata, global rules and data encryption.</summary>
public class OtherResourceTests
{
    private const string Upstream = """{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}""";

    [Fact]
    public void ServicesAreCheckedAndProtectedByTheirRoutes()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/services/1", """{"plugins":{"counter":{"limit":1}},"upstream":""" + Upstream + "}")
            .Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/services/2", """{"uri":"/not-a-service-field"}""").Body
            .Should().Be("{\"error_msg\":\"invalid configuration: additional properties forbidden, found uri\"}\n");

        kit.Send("PUT", "/apisix/admin/routes/9", """{"uri":"/a","service_id":"1"}""").Status.Should().Be(201);
        kit.Send("DELETE", "/apisix/admin/services/1").Body
            .Should().Be("{\"error_msg\":\"can not delete this service directly, route [9] is still using it now\"}\n");
        kit.Send("DELETE", "/apisix/admin/services/1?force=true").Status.Should().Be(200);
    }

    [Fact]
    public void UpstreamsAreCheckedAndProtectedByTheirUsers()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/upstreams/1", Upstream).Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/upstreams/2", """{"type":"chash","nodes":{"127.0.0.1:1980":1}}""").Body
            .Should().Be("{\"error_msg\":\"missing key\"}\n");
        kit.Send("PUT", "/apisix/admin/upstreams/2", """{"nodes":{"127.0.0.1:0":1}}""").Body
            .Should().Be("{\"error_msg\":\"invalid port 0\"}\n");
        kit.Send("PUT", "/apisix/admin/upstreams/2", """{"nodes":[{"host":"::1","port":80,"weight":1}]}""").Body
            .Should().Be("{\"error_msg\":\"invalid configuration: IPv6 address must be enclosed with '[' and ']'\"}\n");
        kit.Send("PUT", "/apisix/admin/upstreams/2", """{"nodes":{"a:1":1},"pass_host":"rewrite"}""").Body
            .Should().Be("{\"error_msg\":\"`upstream_host` can't be empty when `pass_host` is `rewrite`\"}\n");

        kit.Send("PUT", "/apisix/admin/routes/3", """{"uri":"/a","upstream_id":1}""").Status.Should().Be(201);
        kit.Send("DELETE", "/apisix/admin/upstreams/1").Body
            .Should().Be("{\"error_msg\":\"can not delete this upstream, route [3] is still using it now\"}\n");
    }

    [Fact]
    public void ConsumersAreKeyedByUsername()
    {
        var kit = new AdminTestKit();
        var res = kit.Send("PUT", "/apisix/admin/consumers", """{"username":"jack","plugins":{"counter":{"limit":2}}}""");
        res.Status.Should().Be(201);
        JsonNode.Parse(res.Body)!["key"]!.GetValue<string>().Should().Be("/apisix/consumers/jack");

        kit.Send("PUT", "/apisix/admin/consumers/jim", """{"username":"jack"}""").Body
            .Should().Be("{\"error_msg\":\"wrong username\"}\n");
        kit.Send("PUT", "/apisix/admin/consumers", """{"username":"jack","plugins":{"counter":{}}}""").Body
            .Should().Be("{\"error_msg\":\"invalid plugins configuration: failed to check the configuration of plugin counter err: property \\\"limit\\\" is required\"}\n");
    }

    [Fact]
    public void PluginMetadataNeedsAKnownPlugin()
    {
        var kit = new AdminTestKit();
        var res = kit.Send("PUT", "/apisix/admin/plugin_metadata/counter", """{"any":"thing"}""");
        res.Status.Should().Be(201);
        res.Body.Should().Be("{\"key\":\"/apisix/plugin_metadata/counter\",\"value\":{\"any\":\"thing\",\"id\":\"counter\"}}\n");

        kit.Send("PUT", "/apisix/admin/plugin_metadata/unheard-of", "{}").Body
            .Should().Be("{\"error_msg\":\"invalid plugin name\"}\n");
    }

    [Fact]
    public void GlobalRulesMayNotShareAPlugin()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/global_rules/1", """{"plugins":{"counter":{"limit":1}}}""").Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/global_rules/1", """{"plugins":{"counter":{"limit":2}}}""").Status.Should().Be(200);
        kit.Send("PUT", "/apisix/admin/global_rules/2", """{"plugins":{"counter":{"limit":1}}}""").Body
            .Should().Be("{\"error_msg\":\"plugin 'counter' already exists in global rule with id '1'\"}\n");
    }

    [Fact]
    public void EncryptFieldsAreStoredEncryptedAndReadBackInClear()
    {
        var kit = new AdminTestKit(encryption: true);
        var put = kit.Send("PUT", "/apisix/admin/routes/1",
            """{"uri":"/a","plugins":{"secret-holder":{"token":"secret-token","auth":{"header":{"Authorization":"Bearer x"}}}}}""");
        put.Status.Should().Be(201);

        // The write answer shows what was stored: the ciphertext.
        var written = JsonNode.Parse(put.Body)!["value"]!["plugins"]!["secret-holder"]!;
        written["token"]!.GetValue<string>().Should().Be("6WAVx35wPVY/W0pi99ghHQ==");
        written["auth"]!["header"]!["Authorization"]!.GetValue<string>().Should().NotBe("Bearer x");

        var stored = kit.Store.Get("/apisix/routes/1")!.Value!["plugins"]!["secret-holder"]!;
        stored["token"]!.GetValue<string>().Should().Be("6WAVx35wPVY/W0pi99ghHQ==");

        var read = JsonNode.Parse(kit.Send("GET", "/apisix/admin/routes/1").Body)!["value"]!["plugins"]!["secret-holder"]!;
        read["token"]!.GetValue<string>().Should().Be("secret-token");
        read["auth"]!["header"]!["Authorization"]!.GetValue<string>().Should().Be("Bearer x");

        // A patch decrypts first, so nothing gets encrypted twice.
        kit.Send("PATCH", "/apisix/admin/routes/1", """{"desc":"d"}""").Status.Should().Be(200);
        var again = JsonNode.Parse(kit.Send("GET", "/apisix/admin/routes/1").Body)!["value"]!["plugins"]!["secret-holder"]!;
        again["token"]!.GetValue<string>().Should().Be("secret-token");
    }

    [Fact]
    public void EncryptionRoundTripsWithAnyKeyOfTheRing()
    {
        var enc = new DataEncryption(true, new[] { "qeddd145sfvddff3", "edd1c9f0985e76a2" });
        enc.Encrypt("secret-token").Should().Be("6WAVx35wPVY/W0pi99ghHQ==");
        enc.Decrypt("6WAVx35wPVY/W0pi99ghHQ==").Should().Be(("secret-token", (string?)null));

        var rotated = new DataEncryption(true, new[] { "edd1c9f0985e76a2", "qeddd145sfvddff3" });
        rotated.Decrypt("6WAVx35wPVY/W0pi99ghHQ==").Plain.Should().Be("secret-token");
        rotated.Decrypt("not base64!").Error.Should().Be("base64 decode ssl key failed");
    }

    [Fact]
    public void PluginsListAndSchemaEndpoints()
    {
        var kit = new AdminTestKit();
        kit.Send("GET", "/apisix/admin/plugins/list").Body.Should().Be("[\"counter\",\"secret-holder\",\"picky\"]\n");

        var schema = kit.Send("GET", "/apisix/admin/plugins/counter");
        schema.Status.Should().Be(200);
        JsonNode.Parse(schema.Body)!["properties"]!["_meta"].Should().NotBeNull();

        kit.Send("GET", "/apisix/admin/plugins/none").Body
            .Should().Be("{\"error_msg\":\"plugin not found in subsystem http\"}\n");
        kit.Send("GET", "/apisix/admin/schema/route").Status.Should().Be(200);
        kit.Send("POST", "/apisix/admin/schema/validate/routes", """{"uri":"/a","plugins":{}}""").Status.Should().Be(200);
        kit.Send("POST", "/apisix/admin/schema/validate/routes", """{"plugins":{}}""").Status.Should().Be(400);
    }
}

/// <summary>Plugin configs and consumer groups.</summary>
public class PluginHolderResourceTests
{
    [Fact]
    public void PluginConfigsAreReferencedByRoutes()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/plugin_configs/1", """{"plugins":{"counter":{"limit":1}}}""").Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/plugin_configs/2", """{"plugins":{"counter":{}}}""").Status.Should().Be(400);
        kit.Send("POST", "/apisix/admin/plugin_configs", """{"plugins":{}}""").Status.Should().Be(405);

        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugin_config_id":2,"plugins":{}}""").Body
            .Should().Be("{\"error_msg\":\"failed to fetch plugin config info by plugin config id [2], response code: 404\"}\n");
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugin_config_id":1,"plugins":{}}""").Status.Should().Be(201);
        kit.Send("DELETE", "/apisix/admin/plugin_configs/1").Body
            .Should().Be("{\"error_msg\":\"can not delete this plugin config, route [1] is still using it now\"}\n");
    }

    [Fact]
    public void ConsumerGroupsAreReferencedByConsumers()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/consumers", """{"username":"jack","group_id":"g"}""").Body
            .Should().Be("{\"error_msg\":\"failed to fetch consumer group info by consumer group id [g], response code: 404\"}\n");
        kit.Send("PUT", "/apisix/admin/consumer_groups/g", """{"plugins":{"counter":{"limit":1}}}""").Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/consumers", """{"username":"jack","group_id":"g"}""").Status.Should().Be(201);
        kit.Send("DELETE", "/apisix/admin/consumer_groups/g").Status.Should().Be(400);
        kit.Send("DELETE", "/apisix/admin/consumers/jack").Status.Should().Be(200);
        kit.Send("DELETE", "/apisix/admin/consumer_groups/g").Status.Should().Be(200);
    }
}
