using System.Text.Json.Nodes;
using Apisix.Core.Utils;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class NgxEncodeArgsTests
{
    [Fact]
    public void Pairs_are_escaped_as_uri_components()
    {
        NgxEncodeArgs.Encode(new JsonObject { ["api-version"] = "2024-01-01", ["q"] = "a b&c=d/e", ["n"] = 1.5 })
            .Should().Be("api-version=2024-01-01&q=a%20b%26c%3Dd%2Fe&n=1.5");
    }

    [Fact]
    public void Booleans_and_lists()
    {
        NgxEncodeArgs.Encode(new JsonObject { ["on"] = true, ["off"] = false, ["k"] = new JsonArray("1", "2", true, false) })
            .Should().Be("on&k=1&k=2&k");
    }

    [Fact]
    public void Empty_table_is_empty_and_bytes_above_ascii_are_escaped()
    {
        NgxEncodeArgs.Encode(new JsonObject()).Should().Be("");
        NgxEncodeArgs.Encode(new JsonObject { ["\u00e9"] = "~ok_.", ["\u20ac"] = "x" }).Should().Be("%E9=~ok_.&%E2%82%AC=x");
    }
}
