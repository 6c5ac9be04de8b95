using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProxy;

public class ConstructUpstreamTests
{
    private static JsonObject Instance(string endpoint, string checks) => (JsonObject)CJson.Decode(
        "{\"name\":\"a\",\"provider\":\"openai-compatible\",\"weight\":1,"
        + "\"auth\":{\"header\":{\"X-Key\":\"k1\"},\"query\":{\"token\":\"t 1\"}},"
        + "\"override\":{\"endpoint\":\"" + endpoint + "\"},\"checks\":" + checks + "}").Value!;

    private static IReadOnlyList<string>? Resolver(string host) =>
        host == "llm.internal" ? ["10.0.0.9", "10.0.0.2"] : null;

    [Fact]
    public void Auth_goes_into_a_copy_of_the_checks_every_time()
    {
        var ins = Instance("http://127.0.0.1:8080/v1", """{"active":{"http_path":"/health"}}""");
        for (var i = 0; i < 2; i++)
        {
            var (up, err) = AiProxyMultiPlugin.ConstructUpstream(ins, Resolver);
            err.Should().BeNull();
            up!["checks"]!["active"]!["http_path"]!.GetValue<string>().Should().Be("/health?token=t%201");
            CJson.Encode(up["checks"]!["active"]!["req_headers"]).Should().Be("[\"X-Key: k1\"]");
        }
        ins["checks"]!["active"]!["http_path"]!.GetValue<string>().Should().Be("/health");
        ins["checks"]!["active"]!["req_headers"].Should().BeNull();
    }

    [Fact]
    public void A_path_with_a_query_gets_the_auth_query_after_an_ampersand()
    {
        var ins = Instance("http://127.0.0.1:8080", """{"active":{"http_path":"/health?deep=1"}}""");
        var (up, _) = AiProxyMultiPlugin.ConstructUpstream(ins, Resolver);
        up!["checks"]!["active"]!["http_path"]!.GetValue<string>().Should().Be("/health?deep=1&token=t%201");
    }

    [Fact]
    public void A_named_endpoint_becomes_one_sorted_node_per_address_and_keeps_its_name()
    {
        var ins = Instance("https://llm.internal:8443/v1", """{"active":{}}""");
        var (up, _) = AiProxyMultiPlugin.ConstructUpstream(ins, Resolver);
        CJson.Encode(up!["nodes"]).Should().Be(
            """[{"host":"10.0.0.2","port":8443,"weight":1,"priority":0,"domain":"llm.internal"},{"host":"10.0.0.9","port":8443,"weight":1,"priority":0,"domain":"llm.internal"}]""");
        ins["_nodes_ver"]!.GetValue<long>().Should().Be(1);
        ins["_resolved_host_header"]!.GetValue<string>().Should().Be("llm.internal:8443");
    }

    [Fact]
    public void An_unresolvable_name_is_reported()
    {
        var ins = Instance("http://nowhere.invalid/v1", "null");
        var (up, _) = AiProxyMultiPlugin.ConstructUpstream(ins, Resolver);
        // parse_domain_for_nodes keeps the unresolved node, as the Lua does
        CJson.Encode(up!["nodes"]).Should().Be("""[{"host":"nowhere.invalid","port":80,"weight":1,"priority":0}]""");
    }
}
