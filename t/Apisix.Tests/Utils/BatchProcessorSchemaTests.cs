using System.Text.Json.Nodes;
using Apisix.Core.Utils;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class BatchProcessorSchemaTests
{
    [Fact]
    public void Missing_fields_are_appended_after_the_plugins_own_with_the_managers_name()
    {
        var schema = BatchProcessorSchema.WrapSchema(new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject { ["uri"] = new JsonObject { ["type"] = "string" } },
        }, "my logger");
        var props = (JsonObject)schema["properties"]!;
        props.Select(p => p.Key).Should().Equal(
            "uri", "name", "max_retry_count", "retry_delay", "buffer_duration", "inactive_timeout", "batch_max_size");
        props["name"]!.ToJsonString().Should().Be("""{"type":"string","default":"my logger"}""");
        props["batch_max_size"]!.ToJsonString().Should().Be("""{"type":"integer","minimum":1,"default":1000}""");
        props["retry_delay"]!.ToJsonString().Should().Be("""{"type":"integer","minimum":0,"default":1}""");
    }

    [Fact]
    public void A_field_the_plugin_defines_is_kept_in_its_place_but_name_still_defaults_to_the_manager()
    {
        var schema = BatchProcessorSchema.WrapSchema(new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject { ["type"] = "string", ["default"] = "own" },
                ["batch_max_size"] = new JsonObject { ["type"] = "integer", ["minimum"] = 5 },
                ["host"] = new JsonObject { ["type"] = "string" },
            },
        }, "the manager");
        var props = (JsonObject)schema["properties"]!;
        props.Select(p => p.Key).Should().Equal(
            "name", "batch_max_size", "host", "max_retry_count", "retry_delay", "buffer_duration", "inactive_timeout");
        props["batch_max_size"]!.ToJsonString().Should().Be("""{"type":"integer","minimum":5}""");
        props["name"]!["default"]!.GetValue<string>().Should().Be("the manager");
    }

    [Fact]
    public void Each_wrap_gets_its_own_copy()
    {
        var a = BatchProcessorSchema.WrapSchema(new JsonObject { ["properties"] = new JsonObject() }, "a");
        var b = BatchProcessorSchema.WrapSchema(new JsonObject { ["properties"] = new JsonObject() }, "b");
        a["properties"]!["name"]!["default"]!.GetValue<string>().Should().Be("a");
        b["properties"]!["name"]!["default"]!.GetValue<string>().Should().Be("b");
    }
}
