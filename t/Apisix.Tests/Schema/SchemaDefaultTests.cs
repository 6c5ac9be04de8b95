using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Schema;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Schema;

/// <summary>Where and when defaults get written into the checked value.</summary>
public class SchemaDefaultTests
{
    private static (bool Ok, string? Error, string Value) Run(string schema, string value)
    {
        var node = JsonNode.Parse(value);
        var (ok, err) = JsonSchema.Check(JsonNode.Parse(schema)!, node);
        return (ok, err, CJson.Encode(node));
    }

    [Fact]
    public void MissingPropertiesGetTheirDefaults()
    {
        const string schema = """
            {"type":"object","properties":{
              "timeout":{"type":"integer","default":30000},
              "ssl":{"type":"boolean","default":true},
              "name":{"type":"string","default":"x"},
              "codes":{"type":"array","default":[200,302]},
              "opts":{"type":"object","default":{"a":"b"}},
              "nodef":{"type":"string"}}}
            """;
        Run(schema, "{}").Should().Be((true, null,
            """{"timeout":30000,"ssl":true,"name":"x","codes":[200,302],"opts":{"a":"b"}}"""));
    }

    [Fact]
    public void PresentValuesAreKept()
    {
        Run("""{"properties":{"a":{"default":1}}}""", """{"a":2}""").Value.Should().Be("""{"a":2}""");
        // JSON null is a value (cjson.null), so no default replaces it.
        Run("""{"properties":{"a":{"default":1}}}""", """{"a":null}""").Value.Should().Be("""{"a":null}""");
    }

    [Fact]
    public void DefaultsAreCopies()
    {
        var schema = JsonNode.Parse("""{"properties":{"o":{"default":{"k":[1]}}}}""")!;
        var first = new JsonObject();
        var second = new JsonObject();
        JsonSchema.Check(schema, first);
        JsonSchema.Check(schema, second);
        first["o"]!["k"]!.AsArray().Add(2);
        CJson.Encode(second).Should().Be("""{"o":{"k":[1]}}""");
        CJson.Encode(schema["properties"]!["o"]!["default"]).Should().Be("""{"k":[1]}""");
    }

    [Fact]
    public void NestedObjectsAreFilledWhenPresent()
    {
        const string schema = """
            {"properties":{"outer":{"type":"object","properties":{"inner":{"default":5}}}}}
            """;
        Run(schema, """{"outer":{}}""").Value.Should().Be("""{"outer":{"inner":5}}""");
        // The outer object has no default of its own, so nothing is created.
        Run(schema, "{}").Value.Should().Be("{}");
    }

    [Fact]
    public void InjectedDefaultIsNotValidatedNorFilled()
    {
        // The balancer-style default object does not get the inner default.
        const string schema = """
            {"properties":{"b":{"type":"object","default":{"algo":"rr"},
               "properties":{"hash_on":{"default":"vars"}}}}}
            """;
        Run(schema, "{}").Value.Should().Be("""{"b":{"algo":"rr"}}""");
        Run(schema, """{"b":{}}""").Value.Should().Be("""{"b":{"hash_on":"vars"}}""");
    }

    [Fact]
    public void FailureStopsInjectionAtThatPoint()
    {
        const string schema = """
            {"properties":{"a":{"default":1},"b":{"type":"string"},"c":{"default":3}}}
            """;
        var (ok, err, value) = Run(schema, """{"b":5}""");
        ok.Should().BeFalse();
        err.Should().Be("property \"b\" validation failed: wrong type: expected string, got number");
        value.Should().Be("""{"b":5,"a":1}""");
    }

    [Fact]
    public void RequiredWithDefaultStillFails()
    {
        Run("""{"properties":{"a":{"default":1}},"required":["a"]}""", "{}")
            .Should().Be((false, "property \"a\" is required", "{}"));
    }

    [Fact]
    public void AnyOfBranchesThatRunLeaveTheirDefaults()
    {
        // Branch 1 fails on "kind" after injecting "x"; branch 2 passes and
        // injects "y". anyOf stops at the first passing branch, so branch 3
        // never runs.
        const string schema = """
            {"anyOf":[
              {"properties":{"x":{"default":1},"kind":{"enum":["one"]}}},
              {"properties":{"y":{"default":2},"kind":{"enum":["two"]}}},
              {"properties":{"z":{"default":3}}}]}
            """;
        Run(schema, """{"kind":"two"}""").Should().Be((true, null, """{"kind":"two","x":1,"y":2}"""));
    }

    [Fact]
    public void OneOfRunsEveryBranch()
    {
        const string schema = """
            {"oneOf":[
              {"properties":{"x":{"default":1},"kind":{"enum":["one"]}}},
              {"properties":{"y":{"default":2},"kind":{"enum":["two"]}}},
              {"properties":{"z":{"default":3},"kind":{"enum":["three"]}}}]}
            """;
        Run(schema, """{"kind":"two"}""").Should().Be((true, null, """{"kind":"two","x":1,"y":2,"z":3}"""));
    }

    [Fact]
    public void DefaultsInsideArrayItems()
    {
        const string schema = """
            {"properties":{"list":{"type":"array","items":{"properties":{"w":{"default":0}}}}}}
            """;
        Run(schema, """{"list":[{},{"w":5}]}""").Value.Should().Be("""{"list":[{"w":0},{"w":5}]}""");
    }

    [Fact]
    public void NullDefaultIsIgnored()
    {
        Run("""{"properties":{"a":{"default":null}}}""", "{}").Value.Should().Be("{}");
    }
}
