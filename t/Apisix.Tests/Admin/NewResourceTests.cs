using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>Secrets, protos, credentials and the batch validation endpoint.</summary>
public class NewResourceTests
{
    [Fact]
    public void SecretsAreKeyedByManagerAndId()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/secrets/vault/s1", """{"uri":"http://127.0.0.1:1/x","prefix":"p","token":"t"}""")
            .Status.Should().Be(201);
        kit.Store.Get("/apisix/secrets/vault/s1").Should().NotBeNull();
        kit.Send("PUT", "/apisix/admin/secrets/vault/s1", """{"uri":"/x","prefix":"p","token":"t"}""").Body
            .Should().Contain("invalid configuration: property \\\"uri\\\" validation failed: failed to match pattern");
        kit.Send("PUT", "/apisix/admin/secrets/nope/s1", "{}").Body
            .Should().Be("{\"error_msg\":\"invalid secret manager: nope\"}\n");
        kit.Send("PATCH", "/apisix/admin/secrets/vault", "{}").Body.Should().Be("{\"error_msg\":\"no secret id\"}\n");
        kit.Send("PATCH", "/apisix/admin/secrets/vault/s1/token", "\"t2\"").Status.Should().Be(200);
        kit.Store.Get("/apisix/secrets/vault/s1")!.Value!["token"]!.GetValue<string>().Should().Be("t2");
        var list = JsonNode.Parse(kit.Send("GET", "/apisix/admin/secrets").Body)!;
        list["total"]!.GetValue<int>().Should().Be(1);
        kit.Send("DELETE", "/apisix/admin/secrets/vault/s1").Status.Should().Be(200);
    }

    [Fact]
    public void ProtosMustBeWellFormed()
    {
        var kit = new AdminTestKit();
        const string good = "syntax = \\\"proto3\\\";\\npackage p;\\nmessage A { string name = 1; int32 n = 2; }\\nservice S { rpc Hi (A) returns (A) {} }";
        kit.Send("PUT", "/apisix/admin/protos/1", "{\"content\":\"" + good + "\"}").Status.Should().Be(201);
        const string dup = "syntax = \\\"proto3\\\";\\nmessage A { string name = 1; string msg = 1; }";
        kit.Send("PUT", "/apisix/admin/protos/2", "{\"content\":\"" + dup + "\"}").Body.Should().StartWith("{\"error_msg\":\"invalid content: ");
        ProtoText.Check("message A { string a = 1;").Should().NotBeNull();
        ProtoText.Check("message A { map<string, int32> m = 1; oneof x { string b = 2; } }").Should().BeNull();

        kit.Send("PUT", "/apisix/admin/routes/7", """{"uri":"/g","plugins":{},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1":1}}}""");
        kit.Store.Put("/apisix/routes/8", new JsonObject { ["id"] = "8", ["plugins"] = new JsonObject { ["grpc-transcode"] = new JsonObject { ["proto_id"] = "1" } } });
        kit.Send("DELETE", "/apisix/admin/protos/1").Body
            .Should().Be("{\"error_msg\":\"can not delete this proto, route [8] is still using it now\"}\n");
        kit.Send("DELETE", "/apisix/admin/protos/1?force=true").Status.Should().Be(200);
    }

    [Fact]
    public void CredentialsLiveUnderTheirConsumer()
    {
        Credentials.EtcdKey("c1", "jack/credentials/c1").Should().Be("/consumers/jack/credentials/c1");
        Credentials.EtcdKey(null, "jack/credentials").Should().Be("/consumers/jack/credentials");
        Credentials.ConsumerKey("/consumers/jack/credentials/c1").Should().Be("/consumers/jack");

        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/consumers/nobody/credentials/c1", "{}").Body
            .Should().Be("{\"error_msg\":\"consumer not found\"}\n");
        kit.Send("PUT", "/apisix/admin/consumers", """{"username":"jack"}""").Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/consumers/jack/credentials/c1", "{}").Status.Should().Be(201);
        kit.Store.Get("/apisix/consumers/jack/credentials/c1").Should().NotBeNull();
        JsonNode.Parse(kit.Send("GET", "/apisix/admin/consumers").Body)!["total"]!.GetValue<int>().Should().Be(1);
        JsonNode.Parse(kit.Send("GET", "/apisix/admin/consumers/jack/credentials").Body)!["total"]!.GetValue<int>().Should().Be(1);
        kit.Send("DELETE", "/apisix/admin/consumers/jack").Status.Should().Be(200);
        kit.Store.Get("/apisix/consumers/jack/credentials/c1").Should().BeNull();
    }

    [Fact]
    public void ConfigsValidateChecksWithoutStoring()
    {
        var kit = new AdminTestKit();
        kit.Send("POST", "/apisix/admin/configs/validate", "").Body
            .Should().Be("{\"error_msg\":\"invalid request body: empty request body\"}\n");
        kit.Send("POST", "/apisix/admin/configs/validate", """{"routes":[{"id":"r1","uri":"/a","upstream_id":"missing"}]}""")
            .Status.Should().Be(200);
        var bad = JsonNode.Parse(kit.Send("POST", "/apisix/admin/configs/validate",
            """{"routes":[{"id":"r1","uri":1},{"id":"r1","uri":"/b"}],"upstreams_conf_version":"x"}""").Body)!;
        bad["error_msg"]!.GetValue<string>().Should().Be("Configuration validation failed");
        var errors = bad["errors"]!.AsArray();
        errors.Select(e => e!["error"]!.GetValue<string>()).Should().Contain("found duplicate id r1 in routes")
            .And.Contain("upstreams_conf_version must be a number, got string");
        kit.Store.Get("/apisix/routes/r1").Should().BeNull();
    }

    [Fact]
    public void AnUnrequiredAdminKeyIsReportedAtWorkerStart()
    {
        var kit = new AdminTestKit(yamlConfig: "deployment:\n  admin:\n    admin_key_required: false\n");
        var logs = new List<string>();
        kit.Api.InitWorker(0, (level, msg) => logs.Add(level + " " + msg), work => work());
        logs.Should().ContainSingle(l => l.StartsWith("warn Admin key is bypassed!"));
    }
}
