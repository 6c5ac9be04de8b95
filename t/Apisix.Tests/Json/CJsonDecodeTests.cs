using System.Text.Json.Nodes;
using Apisix.Core.Json;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Json;

public class CJsonDecodeTests
{
    private static string Error(string text)
    {
        var (value, error) = CJson.Decode(text);
        value.Should().BeNull();
        error.Should().NotBeNull();
        return error!;
    }

    [Theory]
    // Trailing garbage after a complete value.
    [InlineData("{} \"x\"", "Expected the end but found T_STRING at character 4")]
    [InlineData("{}\"messages\": [ { \"role\": \"system\", \"cont", "Expected the end but found T_STRING at character 3")]
    [InlineData("1 2", "Expected the end but found T_INTEGER at character 3")]
    [InlineData("[] x", "Expected the end but found invalid token at character 4")]
    [InlineData("true false", "Expected the end but found T_BOOLEAN at character 6")]
    [InlineData("null ]", "Expected the end but found T_ARR_END at character 6")]
    [InlineData("1.5 ,", "Expected the end but found T_COMMA at character 5")]
    [InlineData("\"a\":", "Expected the end but found T_COLON at character 4")]
    // Value position.
    [InlineData("", "Expected value but found T_END at character 1")]
    [InlineData("   ", "Expected value but found T_END at character 4")]
    [InlineData("x", "Expected value but found invalid token at character 1")]
    [InlineData("tru", "Expected value but found invalid token at character 1")]
    [InlineData("nul", "Expected value but found invalid token at character 1")]
    [InlineData("}", "Expected value but found T_OBJ_END at character 1")]
    [InlineData("[1,]", "Expected value but found T_ARR_END at character 4")]
    [InlineData("[", "Expected value but found T_END at character 2")]
    [InlineData("[:", "Expected value but found T_COLON at character 2")]
    [InlineData("{\"k\":}", "Expected value but found T_OBJ_END at character 6")]
    [InlineData(".5", "Expected value but found invalid token at character 1")]
    // Objects.
    [InlineData("{", "Expected object key string but found T_END at character 2")]
    [InlineData("{1:2}", "Expected object key string but found T_INTEGER at character 2")]
    [InlineData("{\"a\":1,}", "Expected object key string but found T_OBJ_END at character 8")]
    [InlineData("{\"a\" 1}", "Expected colon but found T_INTEGER at character 6")]
    [InlineData("{\"a\"", "Expected colon but found T_END at character 5")]
    [InlineData("{\"a\":1 \"b\":2}", "Expected comma or object end but found T_STRING at character 8")]
    [InlineData("{\"a\":1", "Expected comma or object end but found T_END at character 7")]
    // Arrays.
    [InlineData("[1 2]", "Expected comma or array end but found T_INTEGER at character 4")]
    [InlineData("[1", "Expected comma or array end but found T_END at character 3")]
    [InlineData("[1}", "Expected comma or array end but found T_OBJ_END at character 3")]
    public void SyntaxErrors(string text, string message)
    {
        Error(text).Should().Be(message);
    }

    [Theory]
    [InlineData("\"abc", "Expected value but found unexpected end of string at character 5")]
    [InlineData("[\"ab", "Expected value but found unexpected end of string at character 5")]
    [InlineData("{\"ab", "Expected object key string but found unexpected end of string at character 5")]
    [InlineData("\"a\\qb\"", "Expected value but found invalid escape code at character 3")]
    [InlineData("\"\\u12\"", "Expected value but found invalid unicode escape code at character 2")]
    [InlineData("\"\\uZZZZ\"", "Expected value but found invalid unicode escape code at character 2")]
    // A low surrogate alone, a high one without its partner.
    [InlineData("\"x\\udc00\"", "Expected value but found invalid unicode escape code at character 3")]
    [InlineData("\"\\ud800x\"", "Expected value but found invalid unicode escape code at character 2")]
    [InlineData("\"\\ud800\\u0041\"", "Expected value but found invalid unicode escape code at character 2")]
    public void StringErrors(string text, string message)
    {
        Error(text).Should().Be(message);
    }

    [Theory]
    [InlineData("-", "Expected value but found invalid number at character 1")]
    [InlineData("[-x]", "Expected value but found invalid number at character 2")]
    [InlineData("+", "Expected value but found invalid number at character 1")]
    [InlineData("1e", "Expected the end but found invalid token at character 2")]
    [InlineData("0X10", "Expected the end but found invalid token at character 2")]
    [InlineData("1.5.2", "Expected the end but found invalid token at character 4")]
    [InlineData("infinit", "Expected the end but found invalid token at character 4")]
    public void NumberErrors(string text, string message)
    {
        Error(text).Should().Be(message);
    }

    [Fact]
    public void NestingLimitIs1000()
    {
        string ok = new string('[', 1000) + new string(']', 1000);
        CJson.Decode(ok).Error.Should().BeNull();

        Error(new string('[', 1001) + new string(']', 1001))
            .Should().Be("Found too many nested data structures (1001) at character 1001");
        Error("{\"a\":" + new string('[', 1000))
            .Should().Be("Found too many nested data structures (1001) at character 1005");
    }

    [Fact]
    public void Utf16IsRefused()
    {
        Error("\0{").Should().Be("JSON parser does not support UTF-16 or UTF-32");
        Error("{\0").Should().Be("JSON parser does not support UTF-16 or UTF-32");
    }

    [Fact]
    public void NulEndsTheText()
    {
        // The C parser stops at the first NUL byte.
        CJson.Decode("[1]\0garbage").Value!.ToJsonString().Should().Be("[1]");
        Error("\"ab\0cd\"").Should().Be("Expected value but found unexpected end of string at character 4");
    }

    [Fact]
    public void Scalars()
    {
        CJson.Decode("true").Value!.GetValue<bool>().Should().BeTrue();
        CJson.Decode(" false ").Value!.GetValue<bool>().Should().BeFalse();
        var (v, e) = CJson.Decode("null");
        v.Should().BeNull();
        e.Should().BeNull();
        CJson.Decode("\"hi\"").Value!.GetValue<string>().Should().Be("hi");
    }

    [Theory]
    [InlineData("5", 5L)]
    [InlineData("-12", -12L)]
    [InlineData("1.0", 1L)]
    [InlineData("2e3", 2000L)]
    [InlineData("01", 1L)]            // strtoll accepts leading zeros
    [InlineData("+7", 7L)]            // and a plus sign
    [InlineData("0x1f", 31L)]         // strtod reads hex
    [InlineData("9007199254740992", 9007199254740992L)]
    public void IntegralNumbersBecomeLong(string text, long expected)
    {
        var node = CJson.Decode(text).Value!;
        node.GetValue<long>().Should().Be(expected);
    }

    [Theory]
    [InlineData("1.5", 1.5)]
    [InlineData("-0.25", -0.25)]
    [InlineData("1e300", 1e300)]
    [InlineData("9007199254740993", 9007199254740992d)]
    [InlineData("99999999999999999999", 9223372036854775807d)] // strtoll saturates
    [InlineData("1.", 1.0)]
    public void OtherNumbersBecomeDouble(string text, double expected)
    {
        var node = CJson.Decode(text).Value!;
        if (node.GetValueKind() == System.Text.Json.JsonValueKind.Number && node is JsonValue jv && jv.TryGetValue(out long l))
            ((double)l).Should().Be(expected);
        else
            node.GetValue<double>().Should().Be(expected);
    }

    [Fact]
    public void InfinityAndNanAreAccepted()
    {
        CJson.Decode("Infinity").Value!.GetValue<double>().Should().Be(double.PositiveInfinity);
        CJson.Decode("-inf").Value!.GetValue<double>().Should().Be(double.NegativeInfinity);
        double.IsNaN(CJson.Decode("nan").Value!.GetValue<double>()).Should().BeTrue();
        double.IsNaN(CJson.Decode("[NaN]").Value![0]!.GetValue<double>()).Should().BeTrue();
    }

    [Fact]
    public void EscapesAndUnicode()
    {
        var s = CJson.Decode("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"").Value!.GetValue<string>();
        s.Should().Be("a\"b\\c/d\b\f\n\r\t");

        // \u escapes become UTF-8 bytes, one char per byte.
        CJson.Decode("\"\\u00e9\"").Value!.GetValue<string>().Should().Be("\u00c3\u00a9");
        CJson.Decode("\"\\u20ac\"").Value!.GetValue<string>().Should().Be("\u00e2\u0082\u00ac");
        CJson.Decode("\"\\ud83d\\ude00\"").Value!.GetValue<string>().Should().Be("\u00f0\u009f\u0098\u0080");
        // Raw bytes are kept as they are.
        CJson.Decode("\"\u00c3\u00a9\"").Value!.GetValue<string>().Should().Be("\u00c3\u00a9");
    }

    [Fact]
    public void Containers()
    {
        var node = CJson.Decode("{\"a\":[1,null,{\"b\":\"c\"}],\"d\":{},\"e\":[]}").Value!;
        var obj = node.AsObject();
        obj["a"]!.AsArray().Count.Should().Be(3);
        obj["a"]![1].Should().BeNull();
        obj["d"].Should().BeOfType<JsonObject>();
        obj["e"].Should().BeOfType<JsonArray>();
    }

    [Fact]
    public void DuplicateKeyKeepsLastValue()
    {
        var obj = CJson.Decode("{\"a\":1,\"a\":2}").Value!.AsObject();
        obj.Count.Should().Be(1);
        obj["a"]!.GetValue<long>().Should().Be(2);
    }

    [Theory]
    [InlineData("9223372036854775807", 9223372036854775807d)]
    [InlineData("9223372036854775808", 9223372036854775807d)]     // one past: saturates
    [InlineData("-9223372036854775808", -9223372036854775808d)]
    [InlineData("-9223372036854775809", -9223372036854775808d)]
    [InlineData("-99999999999999999999999", -9223372036854775808d)]
    [InlineData("18446744073709551616", 9223372036854775807d)]
    public void IntegersBeyondLongSaturateAsStrtollDoes(string text, double expected)
    {
        var node = (JsonValue)CJson.Decode(text).Value!;
        (node.TryGetValue(out long l) ? l : node.GetValue<double>()).Should().Be(expected);
    }

    [Fact]
    public void NullAsNilDropsObjectNullsAtEveryDepthAndKeepsArrayNulls()
    {
        var (v, e) = CJson.DecodeNullAsNil("{\"a\":null,\"b\":[null,{\"c\":null,\"d\":1}],\"e\":{\"f\":null}}");
        e.Should().BeNull();
        CJson.Encode(v).Should().Be("{\"b\":[null,{\"d\":1}],\"e\":{}}");
        // a key given null then a value keeps its first place, as when the nulls go after decoding
        CJson.Encode(CJson.DecodeNullAsNil("{\"a\":null,\"b\":1,\"a\":2}").Value).Should().Be("{\"a\":2,\"b\":1}");
        CJson.Encode(CJson.DecodeNullAsNil("{\"a\":1,\"b\":2,\"a\":null}").Value).Should().Be("{\"b\":2}");
        CJson.DecodeNullAsNil("null").Should().Be(((JsonNode?)null, (string?)null));
        CJson.DecodeNullAsNil("{\"a\":").Error.Should().Be("Expected value but found T_END at character 6");
    }

    [Fact]
    public void RoundTrip()
    {
        const string text = "{\"model\":\"gpt-4\",\"messages\":[{\"role\":\"user\",\"content\":\"hi/there\"}],\"n\":1.5,\"empty\":[]}";
        CJson.Encode(CJson.Decode(text).Value).Should().Be(text);
    }
    [Fact]
    public void CloneNormalizedUsesTheNumberConvention()
    {
        var source = new JsonObject { ["i"] = 60, ["d"] = 2.0, ["f"] = 0.5, ["a"] = new JsonArray(1, "x", null) };
        var copy = CJson.CloneNormalized(source)!;
        copy["i"]!.GetValue<long>().Should().Be(60);
        copy["d"]!.GetValue<long>().Should().Be(2);
        copy["f"]!.GetValue<double>().Should().Be(0.5);
        CJson.Encode(copy).Should().Be("{\"i\":60,\"d\":2,\"f\":0.5,\"a\":[1,\"x\",null]}");
        copy.Should().NotBeSameAs(source);
    }
}
