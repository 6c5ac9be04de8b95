using System.Text.Json.Nodes;
using Apisix.Core;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Core;

public class UtilsTlsChecksTests
{
    [Fact]
    public void Check_https_warns_for_plain_http_in_nested_fields_and_arrays()
    {
        var conf = JsonNode.Parse("""
            {"a": {"b": {"endpoint": "http://x"}}, "list": ["https://ok", "http://no"], "tls": {"endpoint": "https://y"}}
            """)!.AsObject();

        CoreUtils.CheckHttps(["a.b.endpoint", "list", "tls.endpoint", "missing.endpoint"], conf, "p")
            .Should().Equal(
                "Using p a.b.endpoint with no TLS is a security risk",
                "Using p list with no TLS is a security risk");
    }

    [Fact]
    public void Check_tls_bool_warns_for_anything_but_true_and_stops_at_an_unresolved_path()
    {
        var conf = JsonNode.Parse("""{"ssl_verify": false, "x": {"verify": true}}""")!.AsObject();

        CoreUtils.CheckTlsBool(["ssl_verify", "x.verify"], conf, "p")
            .Should().Equal("Keeping ssl_verify disabled in p configuration is a security risk");
        CoreUtils.CheckTlsBool(["nope.verify", "ssl_verify"], conf, "p").Should().BeEmpty();
        CoreUtils.CheckTlsBool(["unset"], conf, "p").Should().BeEmpty();
    }
}
