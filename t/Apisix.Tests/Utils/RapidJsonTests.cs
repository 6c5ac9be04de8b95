using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Utils;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class RapidJsonTests
{
    [Fact]
    public void Keys_are_sorted_bytewise_at_every_level()
    {
        var v = new JsonObject
        {
            ["b"] = 1, ["B"] = 2, ["a"] = new JsonObject { ["z"] = 1, ["_"] = 2 }, ["aa"] = new JsonArray(new JsonObject { ["y"] = 1, ["x"] = 2 }),
        };
        RapidJson.Encode(v).Should().Be("""{"B":2,"a":{"_":2,"z":1},"aa":[{"x":2,"y":1}],"b":1}""");
    }

    [Theory]
    [InlineData(0.5, "0.5")]
    [InlineData(10.0, "10")]
    [InlineData(-3.0, "-3")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(1.5e-7, "1.5e-7")]
    [InlineData(0.000123, "0.000123")]
    [InlineData(123.456, "123.456")]
    [InlineData(1e17, "100000000000000000")]
    [InlineData(1e22, "1e22")]
    [InlineData(2.5e30, "2.5e30")]
    [InlineData(-0.25, "-0.25")]
    public void Numbers_are_written_as_rapidjson_writes_them(double d, string expected)
    {
        var sb = new StringBuilder();
        RapidJson.WriteNumber(sb, d);
        sb.ToString().Should().Be(expected);
    }

    [Fact]
    public void Integral_numbers_beyond_int64_are_doubles()
    {
        var sb = new StringBuilder();
        RapidJson.WriteNumber(sb, 1e20);
        sb.ToString().Should().Be("100000000000000000000.0");
    }

    [Fact]
    public void Strings_escape_only_quotes_backslashes_and_controls()
    {
        // chars up to 0xFF are bytes and pass through; text beyond goes out as its UTF-8 bytes
        RapidJson.Encode(JsonValue.Create("a/b \"q\" \\ \n\t\u0001 \u00e9"))
            .Should().Be("\"a/b \\\"q\\\" \\\\ \\n\\t\\u0001 \u00e9\"");
        RapidJson.Encode(JsonValue.Create("\u20ac")).Should().Be("\"\u00e2\u0082\u00ac\"");
    }

    [Fact]
    public void Empty_containers_null_and_booleans()
    {
        RapidJson.Encode(new JsonObject { ["o"] = new JsonObject(), ["a"] = new JsonArray(), ["n"] = null, ["t"] = true, ["f"] = false })
            .Should().Be("""{"a":[],"f":false,"n":null,"o":{},"t":true}""");
        RapidJson.Encode(null).Should().Be("null");
    }

    [Fact]
    public void Non_finite_numbers_and_deep_nesting_fail()
    {
        var nan = () => RapidJson.Encode(new JsonObject { ["x"] = double.NaN });
        nan.Should().Throw<FormatException>();
        JsonNode deep = new JsonArray();
        for (var i = 0; i < RapidJson.MaxDepth; i++) deep = new JsonArray(deep);
        var tooDeep = () => RapidJson.Encode(deep);
        tooDeep.Should().Throw<FormatException>();
    }
}
