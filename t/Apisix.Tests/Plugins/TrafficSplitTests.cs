using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Plugins;

public class TrafficSplitTests
{
    private static (bool Ok, string? Error) Check(string json) =>
        new TrafficSplitPlugin().CheckSchema((JsonObject)JsonNode.Parse(json)!, SchemaType.Plugin);

    [Fact]
    public void Match_rules_are_compiled_when_checked()
    {
        Check("""{"rules":[{"match":[{"vars":[["arg_a","==","1"]]}],"weighted_upstreams":[{"upstream_id":"1"}]}]}""").Ok.Should().BeTrue();
        Check("""{"rules":[{"match":[{"vars":[["arg_a","is","1"]]}]}]}""").Error.Should()
            .Be("failed to validate the 'vars' expression: invalid operator 'is'");
        // a match entry without vars is expr.new(nil)
        Check("""{"rules":[{"match":[{}]}]}""").Error.Should().Be("failed to validate the 'vars' expression: missing argument rule");
    }

    [Fact]
    public void Weighted_upstreams_default_to_one_empty_entry()
    {
        var conf = (JsonObject)JsonNode.Parse("""{"rules":[{}]}""")!;
        new TrafficSplitPlugin().CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["rules"]![0]!["weighted_upstreams"]!.ToJsonString().Should().Be("""[{"weight":1}]""");
    }
}
