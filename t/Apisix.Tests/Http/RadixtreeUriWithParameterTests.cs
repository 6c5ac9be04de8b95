using System.Text.Json.Nodes;
using Apisix.Core.Http;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Http;

public class RadixtreeUriWithParameterTests
{
    [Fact]
    public void Named_segments_take_one_segment_and_a_named_wildcard_the_rest()
    {
        var m = RadixtreeUriWithParameter.MatchPath("/shop/:item/price/:cur", "/shop/lamp/price/eur");
        m.Should().NotBeNull();
        m!.Value.Params.Should().BeEquivalentTo(new Dictionary<string, string> { ["item"] = "lamp", ["cur"] = "eur" });
        RadixtreeUriWithParameter.MatchPath("/shop/:item", "/shop/lamp/extra").Should().BeNull();
        RadixtreeUriWithParameter.MatchPath("/shop/:item", "/shop/").Should().BeNull();
        RadixtreeUriWithParameter.MatchPath("/docs/*path", "/docs/a/b")!.Value.Params["path"].Should().Be("a/b");
        RadixtreeUriWithParameter.MatchPath("/docs/*", "/docs/a")!.Value.Params.Should().BeEmpty();
        RadixtreeUriWithParameter.MatchPath("/docs/*", "/other").Should().BeNull();
    }

    [Fact]
    public void An_exact_path_beats_a_parameter_path_and_the_params_come_with_the_match()
    {
        var store = new ConfigStore();
        store.Put("/apisix/routes/p", JsonNode.Parse("""{"uri":"/u/:name"}"""));
        store.Put("/apisix/routes/e", JsonNode.Parse("""{"uri":"/u/me"}"""));
        store.Put("/apisix/routes/m", JsonNode.Parse("""{"uri":"/v/:name","methods":["POST"]}"""));
        var router = new RadixtreeUriWithParameter(store);
        router.Find("GET", "/u/me", null)!.Match.Id.Should().Be("e");
        var p = router.Find("GET", "/u/ann", null)!;
        p.Match.Id.Should().Be("p");
        p.Params["name"].Should().Be("ann");
        router.Find("GET", "/v/ann", null).Should().BeNull();
    }
}
