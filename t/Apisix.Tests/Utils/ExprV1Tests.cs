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
        ExprV1.New(JsonNode.Parse("""{"a":1}""")).Error.Should().Be("rule should be wrapped inside brackets");
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
