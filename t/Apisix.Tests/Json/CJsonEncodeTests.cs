using System.Text.Json.Nodes;
using Apisix.Core.Json;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Json;

public class CJsonEncodeTests
{
    [Fact]
    public void Scalars()
    {
        CJson.Encode(null).Should().Be("null");
        CJson.Encode(JsonValue.Create(true)).Should().Be("true");
        CJson.Encode(JsonValue.Create(false)).Should().Be("false");
        CJson.Encode(JsonValue.Create("x")).Should().Be("\"x\"");
    }

    [Theory]
    [InlineData(5.0, "5")]
    [InlineData(-3.0, "-3")]
    [InlineData(0.5, "0.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0 / 3, "0.33333333333333")]
    [InlineData(100000000000000.0, "1e+14")]
    [InlineData(12345678901234.0, "12345678901234")]
    [InlineData(1e20, "1e+20")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(123456.789, "123456.789")]
    [InlineData(99999999999999.9, "1e+14")]
    [InlineData(-0.0, "-0")]
    [InlineData(1e308, "1e+308")]
    public void NumbersUsePercent14g(double d, string expected)
    {
        CJson.Encode(JsonValue.Create(d)).Should().Be(expected);
    }

    [Fact]
    public void LongsAreDoublesToo()
    {
        CJson.Encode(JsonValue.Create(30000L)).Should().Be("30000");
        CJson.Encode(JsonValue.Create(123456789012345678L)).Should().Be("1.2345678901235e+17");
        CJson.Encode(JsonValue.Create(42)).Should().Be("42");
        CJson.Encode(JsonValue.Create(2.5m)).Should().Be("2.5");
    }

    [Fact]
    public void NumbersParsedBySystemTextJsonWork()
    {
        CJson.Encode(JsonNode.Parse("{\"a\":7,\"b\":1.25}")).Should().Be("{\"a\":7,\"b\":1.25}");
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void NanAndInfinityAreRefused(double d)
    {
        var act = () => CJson.Encode(new JsonArray(JsonValue.Create(d)));
        act.Should().Throw<CJsonException>().WithMessage("Cannot serialise number: must not be NaN or Infinity");
        CJson.TryEncode(JsonValue.Create(d)).Should().Be(((string?)null, "Cannot serialise number: must not be NaN or Infinity"));
    }

    [Fact]
    public void StringEscapes()
    {
        CJson.Encode(JsonValue.Create("a\"b\\c")).Should().Be("\"a\\\"b\\\\c\"");
        CJson.Encode(JsonValue.Create("\b\f\n\r\t")).Should().Be("\"\\b\\f\\n\\r\\t\"");
        CJson.Encode(JsonValue.Create("\u0000\u0001\u000b\u001f\u007f")).Should().Be("\"\\u0000\\u0001\\u000b\\u001f\\u007f\"");
        CJson.Encode(JsonValue.Create(" ~")).Should().Be("\" ~\"");
    }

    [Fact]
    public void ForwardSlash()
    {
        // core.json turns slash escaping off; stock cjson escapes it.
        CJson.Encode(JsonValue.Create("http://a/b")).Should().Be("\"http://a/b\"");
        CJson.Encode(JsonValue.Create("http://a/b"), escapeForwardSlash: true).Should().Be("\"http:\\/\\/a\\/b\"");
    }

    [Fact]
    public void HighBytesPassThrough()
    {
        // A byte string stays as is; a Unicode string is written as UTF-8 bytes.
        CJson.Encode(JsonValue.Create("\u00c3\u00a9")).Should().Be("\"\u00c3\u00a9\"");
        CJson.Encode(JsonValue.Create("\u20ac")).Should().Be("\"\u00e2\u0082\u00ac\"");
    }

    [Fact]
    public void Containers()
    {
        CJson.Encode(new JsonObject()).Should().Be("{}");
        CJson.Encode(new JsonArray()).Should().Be("[]");
        var obj = new JsonObject
        {
            ["b"] = 1,
            ["a"] = new JsonArray(1, null, "x"),
            ["c"] = new JsonObject { ["k/ey"] = false },
        };
        CJson.Encode(obj).Should().Be("{\"b\":1,\"a\":[1,null,\"x\"],\"c\":{\"k/ey\":false}}");
    }

    [Fact]
    public void NestingLimitIs1000()
    {
        JsonNode Nest(int n)
        {
            JsonNode node = new JsonArray();
            for (int i = 1; i < n; i++) node = new JsonArray(node);
            return node;
        }

        CJson.Encode(Nest(1000)).Should().StartWith("[[[");
        var act = () => CJson.Encode(Nest(1001));
        act.Should().Throw<CJsonException>().WithMessage("Cannot serialise, excessive nesting (1001)");
    }
}
