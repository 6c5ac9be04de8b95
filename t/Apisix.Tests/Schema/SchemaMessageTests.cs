using System.Text.Json.Nodes;
using Apisix.Core.Schema;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Schema;

/// <summary>One failing case per message the validator can produce.</summary>
public class SchemaMessageTests
{
    internal static string? Error(string schema, string value)
    {
        var (ok, err) = JsonSchema.Check(JsonNode.Parse(schema)!, JsonNode.Parse(value));
        ok.Should().Be(err == null);
        return err;
    }

    [Theory]
    [InlineData("""{"type":"string"}""", "5", "wrong type: expected string, got number")]
    [InlineData("""{"type":"string"}""", "true", "wrong type: expected string, got boolean")]
    [InlineData("""{"type":"string"}""", "{}", "wrong type: expected string, got table")]
    [InlineData("""{"type":"number"}""", "\"5\"", "wrong type: expected number, got string")]
    [InlineData("""{"type":"integer"}""", "1.5", "wrong type: expected integer, got number")]
    [InlineData("""{"type":"boolean"}""", "[1]", "wrong type: expected boolean, got table")]
    [InlineData("""{"type":"object"}""", "[1]", "wrong type: expected object, got table")]
    [InlineData("""{"type":"array"}""", """{"a":1}""", "wrong type: expected array, got table")]
    [InlineData("""{"type":["string","integer"]}""", "1.5", "wrong type: expected one of string, integer, got number")]
    [InlineData("""{"properties":{"a":{"type":"string"}}}""", """{"a":null}""", "property \"a\" validation failed: wrong type: expected string, got userdata")]
    public void WrongType(string schema, string value, string message)
    {
        Error(schema, value).Should().Be(message);
    }

    [Fact]
    public void NilAtTopLevel()
    {
        JsonSchema.Check(JsonNode.Parse("""{"type":"object"}""")!, null)
            .Should().Be((false, "wrong type: expected object, got nil"));
    }

    [Theory]
    [InlineData("""{"type":"integer"}""", "2.0")]
    [InlineData("""{"type":"number"}""", "3")]
    [InlineData("""{"type":"object"}""", "[]")]   // an empty table is both
    [InlineData("""{"type":"array"}""", "{}")]
    [InlineData("""{"type":"null"}""", "[null]")] // checked via items below
    public void AcceptedTypes(string schema, string value)
    {
        if (schema.Contains("null"))
        {
            Error("""{"items":{"type":"null"}}""", value).Should().BeNull();
            return;
        }
        Error(schema, value).Should().BeNull();
    }

    [Theory]
    [InlineData("""{"properties":{"p":{"enum":["a","b"]}}}""", """{"p":"c"}""", "property \"p\" validation failed: matches none of the enum values")]
    [InlineData("""{"enum":[1,2]}""", "\"1\"", "matches none of the enum values")]
    [InlineData("""{"enum":[true]}""", "false", "matches none of the enum values")]
    [InlineData("""{"enum":[{"a":1}]}""", """{"a":2}""", "matches none of the enum values")]
    [InlineData("""{"const":"x"}""", "\"y\"", "failed to check const value")]
    public void EnumAndConst(string schema, string value, string message)
    {
        Error(schema, value).Should().Be(message);
    }

    [Theory]
    [InlineData("""{"enum":[1,2]}""", "2")]
    [InlineData("""{"enum":[{"a":[1]}]}""", """{"a":[1]}""")]
    [InlineData("""{"const":{"k":true}}""", """{"k":true}""")]
    public void EnumAndConstPass(string schema, string value)
    {
        Error(schema, value).Should().BeNull();
    }

    [Theory]
    [InlineData("""{"minimum":1}""", "0", "expected 0 to be at least 1")]
    [InlineData("""{"maximum":10}""", "10.5", "expected 10.5 to be at most 10")]
    [InlineData("""{"exclusiveMinimum":0}""", "0", "expected 0 to be greater than 0")]
    [InlineData("""{"exclusiveMaximum":1.5}""", "1.5", "expected 1.5 to be smaller than 1.5")]
    [InlineData("""{"multipleOf":3}""", "7", "expected 7 to be a multiple of 3")]
    [InlineData("""{"multipleOf":0.01}""", "1.005", "expected 1.005 to be a multiple of 0.01")]
    [InlineData("""{"minimum":1e15}""", "5", "expected 5 to be at least 1e+15")]
    [InlineData("""{"minimum":200}""", "199", "expected 199 to be at least 200")]
    public void NumberRanges(string schema, string value, string message)
    {
        Error(schema, value).Should().Be(message);
    }

    [Theory]
    [InlineData("""{"multipleOf":0.01}""", "1.13")] // float rounding is tolerated
    [InlineData("""{"minimum":1}""", "\"0\"")]     // only numbers are range-checked
    public void NumberRangesPass(string schema, string value)
    {
        Error(schema, value).Should().BeNull();
    }

    [Theory]
    [InlineData("""{"minLength":1}""", "\"\"", "string too short, expected at least 1, got 0")]
    [InlineData("""{"maxLength":3}""", "\"abcd\"", "string too long, expected at most 3, got 4")]
    [InlineData("""{"pattern":"^[a-z]+$"}""", "\"ab1\"", "failed to match pattern \"^[a-z]+$\" with \"ab1\"")]
    [InlineData("""{"pattern":"^\\d+$"}""", "\"x\"", "failed to match pattern \"^\\\\d+$\" with \"x\"")]
    [InlineData("""{"pattern":"^a"}""", "\"b\\\"c\\nd\"", "failed to match pattern \"^a\" with \"b\\\"c\\\nd\"")]
    [InlineData("""{"pattern":"^a"}""", "\"\\u00011\\u0002\"", "failed to match pattern \"^a\" with \"\\0011\\2\"")]
    public void Strings(string schema, string value, string message)
    {
        Error(schema, value).Should().Be(message);
    }

    [Fact]
    public void LengthCountsUtf8Characters()
    {
        // "é" arrives as two bytes but is one character.
        Error("""{"maxLength":1}""", "\"\\u00e9\"").Should().BeNull();
        Error("""{"minLength":2}""", "\"\\u00e9\"").Should().Be("string too short, expected at least 2, got 1");
    }

    [Theory]
    [InlineData("""{"required":["auth"]}""", "{}", "property \"auth\" is required")]
    [InlineData("""{"properties":{"auth":{}},"required":["auth"]}""", """{"x":1}""", "property \"auth\" is required")]
    [InlineData("""{"properties":{"a":{}},"additionalProperties":false}""", """{"a":1,"b":2}""", "additional properties forbidden, found b")]
    [InlineData("""{"additionalProperties":{"type":"string"}}""", """{"b":2}""", "failed to validate additional property b: wrong type: expected string, got number")]
    [InlineData("""{"patternProperties":{"^x-":{"type":"string"}}}""", """{"x-a":1}""", "failed to validate x-a (matching \"^x-\"): wrong type: expected string, got number")]
    [InlineData("""{"patternProperties":{"^x-":{}},"additionalProperties":false}""", """{"x-a":1,"y":1}""", "additional properties forbidden, found y")]
    [InlineData("""{"minProperties":1}""", "{}", "expect object to have at least 1 properties")]
    [InlineData("""{"maxProperties":1}""", """{"a":1,"b":2}""", "expect object to have at most 1 properties")]
    [InlineData("""{"properties":{"a":{}},"dependencies":{"a":["b"]}}""", """{"a":1}""", "property \"b\" is required when \"a\" is set")]
    [InlineData("""{"dependencies":{"a":["b"]}}""", """{"a":1}""", "property \"b\" is required when \"a\" is set")]
    [InlineData("""{"dependencies":{"a":{"required":["c"]}}}""", """{"a":1}""", "failed to validate dependent schema for \"a\": property \"c\" is required")]
    [InlineData("""{"required":[]}""", """{"a":1}""", "the input data should be an empty table")]
    public void Objects(string schema, string value, string message)
    {
        Error(schema, value).Should().Be(message);
    }

    [Theory]
    [InlineData("""{"minItems":1}""", "[]", "expect array to have at least 1 items")]
    [InlineData("""{"minItems":1}""", "{}", "expect array to have at least 1 items")]
    [InlineData("""{"maxItems":1}""", "[1,2]", "expect array to have at most 1 items")]
    [InlineData("""{"items":{"type":"integer"}}""", "[1,\"a\"]", "failed to validate item 2: wrong type: expected integer, got string")]
    [InlineData("""{"items":[{"type":"string"},{"type":"integer"}]}""", "[\"a\",\"b\"]", "failed to validate item 2: wrong type: expected integer, got string")]
    [InlineData("""{"items":[{}],"additionalItems":false}""", "[1,2]", "found unexpected extra items in array")]
    [InlineData("""{"items":[{}],"additionalItems":{"type":"string"}}""", "[1,\"a\",3]", "failed to validate additional item 3: wrong type: expected string, got number")]
    [InlineData("""{"uniqueItems":true}""", "[1,2,1]", "expected unique items but items 1 and 3 are equal")]
    [InlineData("""{"uniqueItems":true}""", """[{"a":1},2,{"a":1}]""", "expected unique items but items 1 and 3 are equal")]
    [InlineData("""{"items":false}""", "[1]", "expect false always")]
    [InlineData("""{"properties":{"t":{"type":"array","minItems":1}}}""", """{"t":[]}""", "property \"t\" validation failed: expect array to have at least 1 items")]
    public void Arrays(string schema, string value, string message)
    {
        Error(schema, value).Should().Be(message);
    }

    [Fact]
    public void ShortTupleSkipsAdditionalItems()
    {
        Error("""{"items":[{},{}],"additionalItems":false}""", "[1]").Should().BeNull();
    }

    [Theory]
    [InlineData("""{"anyOf":[{"type":"string"},{"type":"integer"}]}""", "1.5", "object matches none of the required")]
    [InlineData("""{"anyOf":[{"required":["a"]},{"required":["b","c"]}]}""", "{}", "object matches none of the required: [\"a\"] or [\"b\",\"c\"]")]
    [InlineData("""{"anyOf":[{"required":["a/b"]}]}""", "{}", "object matches none of the required: [\"a/b\"]")]
    [InlineData("""{"oneOf":[{"type":"integer"},{"type":"number"}]}""", "1", "value should match only one schema, but matches both schemas 1 and 2")]
    [InlineData("""{"oneOf":[{"type":"string"},{"type":"boolean"}]}""", "1", "value should match only one schema, but matches none")]
    [InlineData("""{"allOf":[{},{"type":"string"}]}""", "1", "allOf 2 failed: wrong type: expected string, got number")]
    [InlineData("""{"not":{"type":"string"}}""", "\"s\"", "value wasn't supposed to match schema")]
    [InlineData("""{"if":{"required":["a"]},"then":{"required":["b"]}}""", """{"a":1}""", "then clause did not match")]
    [InlineData("""{"if":{"required":["a"]},"else":{"required":["b"]}}""", """{"c":1}""", "else clause did not match")]
    [InlineData("""{"allOf":[{"if":{"required":["a"]},"then":{"required":["b"]}}]}""", """{"a":1}""", "allOf 1 failed: then clause did not match")]
    [InlineData("""{"properties":{"id":{"anyOf":[{"type":"string"},{"type":"integer","minimum":1}]}}}""", """{"id":0}""", "property \"id\" validation failed: object matches none of the required")]
    public void Combinators(string schema, string value, string message)
    {
        Error(schema, value).Should().Be(message);
    }

    [Theory]
    [InlineData("ipv4", "\"1.2.3\"")]
    [InlineData("ipv4", "\"01.2.3.4\"")]
    [InlineData("ipv6", "\"1::2::3\"")]
    [InlineData("email", "\"a@b\"")]
    [InlineData("uuid", "\"123\"")]
    [InlineData("date", "\"2024-13-01\"")]
    [InlineData("date-time", "\"2024-01-01 10:00:00\"")]
    [InlineData("uri", "\"no-scheme\"")]
    [InlineData("hostname", "\"a b\"")]
    public void Formats(string format, string value)
    {
        string shown = JsonNode.Parse(value)!.GetValue<string>();
        Error($$"""{"format":"{{format}}"}""", value).Should().Be($"expect valid {format} format but got: {shown}");
    }

    [Theory]
    [InlineData("ipv4", "\"10.0.0.1\"")]
    [InlineData("ipv6", "\"::1\"")]
    [InlineData("ipv6", "\"fe80::1:2\"")]
    [InlineData("ipv6", "\"::ffff:1.2.3.4\"")]
    [InlineData("ipv6", "\"1:2:3:4:5:6:7:8\"")]
    [InlineData("email", "\"a.b@c-d.org\"")]
    [InlineData("uuid", "\"123e4567-e89b-12d3-a456-426614174000\"")]
    [InlineData("date-time", "\"2024-01-01T10:00:00.5+08:00\"")]
    [InlineData("uri", "\"http://x/y\"")]
    [InlineData("unknown-format", "\"anything\"")]
    [InlineData("ipv4", "5")]
    public void FormatsPass(string format, string value)
    {
        Error($$"""{"format":"{{format}}"}""", value).Should().BeNull();
    }

    [Theory]
    [InlineData("""{"type":"strnig"}""", "invalid JSON type: strnig")]
    [InlineData("""{"type":5}""", "invalid \"type\" type: got number")]
    [InlineData("""{"enum":["a",null]}""", "unsupported enum type: userdata")]
    [InlineData("""{"definitions":{},"properties":{"a":{"$ref":"#/definitions/missing"}}}""", "reference not found: root:#/definitions/missing (at \"missing\")")]
    [InlineData("""{"properties":{"a":{"$ref":"#/definitions/missing"}}}""", "reference not found: root:#/definitions/missing (at \"definitions\")")]
    public void BrokenSchemasFailEveryCheck(string schema, string message)
    {
        // The value never reaches the broken part, yet the check fails.
        Error(schema, "{}").Should().Be(message);
    }

    [Fact]
    public void BooleanSchemas()
    {
        Error("""{"properties":{"a":false}}""", """{"a":1}""").Should().Be("property \"a\" validation failed: expect false always");
        Error("""{"properties":{"a":true}}""", """{"a":1}""").Should().BeNull();
    }

    [Fact]
    public void Refs()
    {
        const string schema = """
            {"definitions":{"port":{"type":"integer","maximum":65535}},
             "properties":{"p":{"$ref":"#/definitions/port"},"q":{"items":{"$ref":"#/definitions/port"}}}}
            """;
        Error(schema, """{"p":70000}""").Should().Be("property \"p\" validation failed: expected 70000 to be at most 65535");
        Error(schema, """{"q":[1,"x"]}""").Should().Be("property \"q\" validation failed: failed to validate item 2: wrong type: expected integer, got string");
    }

    [Fact]
    public void RecursiveRef()
    {
        const string schema = """{"type":"object","properties":{"child":{"$ref":"#"},"n":{"type":"integer"}}}""";
        Error(schema, """{"child":{"child":{"n":"x"}}}""")
            .Should().Be("property \"child\" validation failed: property \"child\" validation failed: property \"n\" validation failed: wrong type: expected integer, got string");
    }

    [Fact]
    public void ContainsAndPropertyNames()
    {
        Error("""{"contains":{"type":"string"}}""", "[1,2]").Should().Be("failed to check contains");
        Error("""{"contains":{"type":"string"}}""", "[]").Should().Be("check contains: empty array is invalid");
        Error("""{"contains":{"type":"string"}}""", "[1,\"a\"]").Should().BeNull();
        Error("""{"propertyNames":false}""", """{"a":1}""").Should().Be("expect false always");
    }
}
