using System.Text.Json.Nodes;
using Apisix.Core.Utils;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class ExprV1Tests
{
    [Fact]
    public void Unknown_operators_are_refused_when_compiled()
    {
        ExprV1.New(JsonNode.Parse("""[["arg_a", "<>", "1"]]""")).Error.Should().Be("invalid operator '<>'");
        ExprV1.New(JsonNode.Parse("""[["arg_a", "!", "==", "1"]]""")).Error.Should().BeNull();
        ExprV1.New(JsonNode.Parse("""["OR", ["arg_a", "==", "1"], ["arg_b", "~~", "^x"]]""")).Error.Should().BeNull();
        ExprV1.New(JsonNode.Parse("""["arg_a", "==", "1"]""")).Error.Should().Be("rule should be wrapped inside brackets");
        ExprV1.New(JsonNode.Parse("""[["arg_a", "IN", ["1"]]]""")).Error.Should().BeNull();
        ExprV1.New(JsonNode.Parse("""[["arg_a", "?", "==", "1"]]""")).Error.Should().Be("bad 'not' expression");
        ExprV1.New(JsonNode.Parse("""["AND", ["arg_a", "==", "1"]]""")).Error.Should().Be("rule too short");
        ExprV1.New(JsonNode.Parse("""[["AND", ["arg_a", "==", "1"]]]""")).Error.Should().Be("rule too short");
        ExprV1.New(JsonNode.Parse("""[["arg_a"]]""")).Error.Should().Be("invalid expression");
        ExprV1.New(JsonNode.Parse("""[["remote_addr", "ipmatch", "1.2.3"]]""")).Error.Should().Be("invalid ip address: 1.2.3");
        ExprV1.New(null).Error.Should().Be("missing argument rule");
    }

    [Theory]
    [InlineData("""[]""", true)]
    [InlineData("""[["arg_a", "1"]]""", true)]
    [InlineData("""[["arg_a", "==", 1]]""", true)]
    [InlineData("""[["arg_a", "==", 2]]""", false)]
    [InlineData("""[["arg_a", "~=", 2]]""", true)]
    [InlineData("""[["arg_x", "~=", "v"]]""", true)]
    [InlineData("""[["arg_x", "==", null]]""", true)]
    [InlineData("""[["arg_x", "!", "==", "v"]]""", true)]
    [InlineData("""[["arg_b", ">", "0x0F"]]""", true)]
    [InlineData("""[["arg_b", "in", ["16", "17"]]]""", true)]
    [InlineData("""[["arg_b", "in", [16]]]""", false)]
    [InlineData("""[["arg_c", "~*", "^ABC"]]""", true)]
    [InlineData("""[["arg_c", "~~", "^ABC"]]""", false)]
    [InlineData("""["OR", ["arg_a", "==", "2"], ["arg_c", "~~", "c$"]]""", true)]
    [InlineData("""["!OR", ["arg_a", "==", "2"], ["arg_c", "~~", "c$"]]""", false)]
    [InlineData("""["!AND", ["arg_a", "==", "1"], ["AND", ["arg_b", "<=", 16], ["arg_c", "~~", "b"]]]""", false)]
    [InlineData("""[["ip", "ipmatch", ["10.0.0.0/8", "127.0.0.1"]]]""", true)]
    public void Evaluation_follows_lua_resty_expr(string rule, bool expected)
    {
        var vars = new Dictionary<string, object?> { ["arg_a"] = "1", ["arg_b"] = "16", ["arg_c"] = "abc", ["ip"] = "127.0.0.1" };
        var (ex, err) = ExprV1.New(JsonNode.Parse(rule));
        err.Should().BeNull();
        ex!.Eval(n => vars.GetValueOrDefault(n)).Should().Be(expected);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.0/24", true)]
    [InlineData("127.0.1.1", "127.0.0.0/24", false)]
    [InlineData("10.1.2.3", "10.1.2.3", true)]
    [InlineData("::1", "::1/128", true)]
    [InlineData("::1", "127.0.0.1", false)]
    public void Ip_matching(string ip, string cidr, bool expected) => IpMatcher.Matches(ip, cidr).Should().Be(expected);

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.1/33", false)]
    [InlineData("::ffff:1.2.3.4/120", true)]
    [InlineData("1.2.3", false)]
    [InlineData("not-an-ip", false)]
    public void Ip_validation(string cidr, bool expected) => IpMatcher.IsValid(cidr).Should().Be(expected);
}
