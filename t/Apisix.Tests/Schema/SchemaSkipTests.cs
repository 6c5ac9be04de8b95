using System.Text.Json.Nodes;
using Apisix.Core.Schema;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Schema;

/// <summary>core.schema's secret-reference bypass and the raw skip hook.</summary>
public class SchemaSkipTests
{
    private static readonly JsonNode Schema = JsonNode.Parse("""
        {"type":"object","properties":{
          "key":{"type":"string","minLength":40},
          "port":{"type":"integer"},
          "any":{"minLength":40},
          "either":{"type":["string","integer"],"minLength":40}}}
        """)!;

    [Theory]
    [InlineData("""{"key":"$secret://vault/1/key"}""")]
    [InlineData("""{"key":"$env://API_KEY"}""")]
    [InlineData("""{"key":"$ENV://API_KEY"}""")]
    [InlineData("""{"any":"$secret://x"}""")]
    public void SecretRefsSkipStringChecks(string value)
    {
        JsonSchema.Check(Schema, JsonNode.Parse(value)).Should().Be((true, (string?)null));
    }

    [Theory]
    [InlineData("""{"port":"$secret://vault/1/port"}""", "property \"port\" validation failed: wrong type: expected integer, got string")]
    [InlineData("""{"either":"$secret://x"}""", "property \"either\" validation failed: string too short, expected at least 40, got 11")]
    [InlineData("""{"key":"$other://x"}""", "property \"key\" validation failed: string too short, expected at least 40, got 10")]
    public void NotBypassed(string value, string message)
    {
        JsonSchema.Check(Schema, JsonNode.Parse(value)).Should().Be((false, message));
    }

    [Fact]
    public void ValidateWithoutHookChecksEverything()
    {
        JsonSchema.Validate(Schema, JsonNode.Parse("""{"key":"$secret://x"}"""))
            .Should().Be((false, "property \"key\" validation failed: string too short, expected at least 40, got 11"));
    }

    [Fact]
    public void CustomHookSeesValueAndSchema()
    {
        var seen = new List<string>();
        JsonSchema.Validate(Schema, JsonNode.Parse("""{"port":"skip-me"}"""), (value, schema) =>
        {
            seen.Add(schema["type"]?.ToJsonString() ?? "none");
            return value is JsonValue v && v.TryGetValue(out string? s) && s == "skip-me";
        }).Should().Be((true, (string?)null));
        seen.Should().Equal("\"object\"", "\"integer\"");
    }
}
