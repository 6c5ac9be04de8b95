using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>The X-API-KEY check.</summary>
public class AdminKeyTests
{
    private const string Route = """{"uri":"/a","plugins":{}}""";

    private const string KeyedDeployment =
        "deployment:\n" +
        "  role: traditional\n" +
        "  role_traditional:\n" +
        "    config_provider: etcd\n" +
        "  admin:\n" +
        "    admin_key:\n" +
        "      - name: admin\n" +
        "        key: edd1c9f034335f136f87ad84b625c8f1\n" +
        "        role: admin\n" +
        "      - name: viewer\n" +
        "        key: 4054f7cf07e344346cd3f287985e76a2\n" +
        "        role: viewer\n" +
        "apisix:\n" +
        "  node_listen: 1984\n";

    [Fact]
    public void TheTestDeploymentNeedsNoKey()
    {
        var kit = new AdminTestKit();
        kit.Config.HasAdminKeyList.Should().BeFalse();
        kit.Send("PUT", "/apisix/admin/routes/1", Route).Status.Should().Be(201);
    }

    [Fact]
    public void MissingAndWrongKeysAnswer401()
    {
        var kit = new AdminTestKit(yamlConfig: KeyedDeployment);

        var missing = kit.Send("PUT", "/apisix/admin/routes/1", Route);
        missing.Status.Should().Be(401);
        missing.Body.Should().Be("{\"error_msg\":\"failed to check token\",\"description\":\"missing apikey\"}\n");
        kit.Logs.Should().Contain(("warn", "failed to check token: missing apikey"));

        kit.Send("PUT", "/apisix/admin/routes/1", Route, new Dictionary<string, string> { ["x-api-key"] = "nope" })
            .Body.Should().Be("{\"error_msg\":\"failed to check token\",\"description\":\"wrong apikey\"}\n");

        kit.Send("GET", "/apisix/admin/plugins/list").Status.Should().Be(401);
        kit.Send("PUT", "/apisix/admin/plugins/reload").Status.Should().Be(401);
    }

    [Fact]
    public void TheKeyMayComeFromHeaderArgumentOrCookie()
    {
        var kit = new AdminTestKit(yamlConfig: KeyedDeployment);
        const string key = "edd1c9f034335f136f87ad84b625c8f1";

        kit.Send("PUT", "/apisix/admin/routes/1", Route, new Dictionary<string, string> { ["x-api-key"] = key })
            .Status.Should().Be(201);
        kit.Send("GET", "/apisix/admin/routes/1?api_key=" + key).Status.Should().Be(200);
        kit.Send("GET", "/apisix/admin/routes/1", null,
            new Dictionary<string, string> { ["cookie"] = "a=b; x_api_key=" + key }).Status.Should().Be(200);
    }

    [Fact]
    public void ViewersMayOnlyRead()
    {
        var kit = new AdminTestKit(yamlConfig: KeyedDeployment);
        var viewer = new Dictionary<string, string> { ["x-api-key"] = "4054f7cf07e344346cd3f287985e76a2" };

        kit.Send("GET", "/apisix/admin/routes", null, viewer).Status.Should().Be(200);
        kit.Send("PUT", "/apisix/admin/routes/1", Route, viewer).Body
            .Should().Be("{\"error_msg\":\"failed to check token\",\"description\":\"invalid method for role viewer\"}\n");
    }

    [Fact]
    public void AdminKeyRequiredFalseSkipsTheCheck()
    {
        var kit = new AdminTestKit(yamlConfig: KeyedDeployment.Replace("  admin:\n", "  admin:\n    admin_key_required: false\n"));
        kit.Config.AdminKeyRequired.Should().BeFalse();
        kit.Send("PUT", "/apisix/admin/routes/1", Route).Status.Should().Be(201);
    }

    [Fact]
    public void TheDefaultEmptyKeyIsReplacedByAGeneratedOne()
    {
        var kit = new AdminTestKit(yamlConfig: "apisix:\n  node_listen: 1984\ndeployment:\n  role: traditional\n  role_traditional:\n    config_provider: etcd\n");
        var keys = kit.Config.AdminKeys;
        keys.Should().ContainSingle();
        keys[0].Key.Should().MatchRegex("^[A-Za-z]{32}$");
        kit.Send("GET", "/apisix/admin/routes").Status.Should().Be(401);
        kit.Send("GET", "/apisix/admin/routes", null, new Dictionary<string, string> { ["x-api-key"] = keys[0].Key })
            .Status.Should().Be(200);
    }
}
