using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Admin;
using Apisix.Core.Utils;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class JsonPathTests
{
    private static readonly JsonNode Shop = JsonNode.Parse("""
        {"crates": [
            {"label": "pears", "items": [{"kind": "fruit"}, {"kind": "box"}]},
            {"label": "nails", "items": [{"kind": "metal"}]}
        ], "owner": {"label": "sam"}}
        """)!;

    private static List<string?> Strings(string path) =>
        JsonPath.Query(Shop, path).Results!.Select(n => n?.GetValue<string>()).ToList();

    [Fact]
    public void Wildcards_indexes_and_descendants_select_in_document_order()
    {
        Strings("$.crates[*].items[*].kind").Should().Equal("fruit", "box", "metal");
        Strings("$.crates[1].label").Should().Equal("nails");
        Strings("$.crates[-1].label").Should().Equal("nails");
        Strings("$..label").Should().Equal("pears", "nails", "sam");
        Strings("$['owner'].label").Should().Equal("sam");
        Strings("$.crates[0:1].label").Should().Equal("pears");
        Strings("$.missing[*]").Should().BeEmpty();
    }

    [Fact]
    public void Malformed_paths_are_invalid_expressions_and_filters_are_refused_by_name()
    {
        JsonPath.Parse("$.crates[.items[*].kind").Should().Be("invalid expression");
        JsonPath.Parse("$.crates[").Should().Be("invalid expression");
        JsonPath.Parse("crates").Should().Be("invalid expression");
        JsonPath.Parse("$.crates[*].items").Should().BeNull();
        JsonPath.Parse("$.crates[?(@.label)]").Should().Contain("not supported by this port");
    }

    [Fact]
    public void Admin_refuses_a_post_arg_name_that_is_no_jsonpath()
    {
        PostArgCheck.ValidatePostArg(JsonNode.Parse("""[["post_arg.a[.b", "==", "x"]]""")).Should().Be("invalid expression");
        PostArgCheck.ValidatePostArg(JsonNode.Parse("""[["post_arg.a[*].b", "has", "x"], ["arg_x", "==", "y["]]""")).Should().BeNull();
    }

    [Fact]
    public void Form_and_multipart_bodies_parse_into_tables()
    {
        var form = CoreRequest.ParseForm("tool=saw&size=10%20cm&tool=drill&flag");
        form.ToJsonString().Should().Be("""{"tool":["saw","drill"],"size":"10 cm","flag":true}""");

        var body = "--zz\r\nContent-Disposition: form-data; name=\"tool\"\r\n\r\nhammer\r\n--zz\nContent-Disposition: form-data; name=\"note\"\n\nline one\nline two\n--zz--\r\n";
        CoreRequest.ParseMultipart(body, "multipart/form-data; boundary=zz")!.ToJsonString()
            .Should().Be("""{"tool":"hammer","note":"line one\nline two"}""");
        CoreRequest.ParseMultipart(body, "multipart/form-data").Should().BeNull();
    }
}
