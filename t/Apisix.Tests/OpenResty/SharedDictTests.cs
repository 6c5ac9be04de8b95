using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

/// <summary>lua_shared_dict expiry and nginx's location rules, as real nginx showed them (t/nginx/shdict.t, basics.t).</summary>
public class SharedDictTests
{
    [Fact]
    public async Task An_expired_entry_stays_stale_until_freed_from_the_lru_tail()
    {
        var d = new SharedDict("box", 1 << 20);
        d.Store("set", "keep", "k", 0, 0);
        d.Store("set", "a", "x", 0.05, 0);
        d.Store("set", "b", "y", 0.05, 7);
        await Task.Delay(120);

        d.Get("a").Value.Should().BeNull();                       // the tail is "keep": nothing freed
        d.Get("a", allowStale: true).Should().Be(("x", 0L, true));
        d.Get("b", allowStale: true).Should().Be(("y", 7L, true));
        d.Ttl("a").Ttl.Should().BeNegative();
        d.Store("add", "a", "again", 0, 0).Should().Be((true, (string?)null));
        d.FlushExpired(0).Should().Be(1);                         // only b was still expired
        d.Keys(0).Should().BeEquivalentTo(["a", "keep"]);
    }

    [Fact]
    public void Flush_all_leaves_entries_stale_beyond_the_three_it_frees()
    {
        var d = new SharedDict("box", 1 << 20);
        foreach (var k in new[] { "k1", "k2", "k3", "k4", "k5" }) d.Store("set", k, k, 0, 0);
        d.FlushAll();
        d.Keys(0).Should().BeEmpty();
        d.Get("k5", allowStale: true).Stale.Should().BeTrue();
        d.Get("k1", allowStale: true).Value.Should().BeNull();
        d.FlushExpired(0).Should().Be(2);
    }

    [Fact]
    public void Two_prefix_locations_with_one_uri_are_a_configuration_error()
    {
        var server = new ServerConf();
        server.AddLocation(new LocationConf { Modifier = "", Pattern = "/a" }, "nginx.conf:1");
        server.AddLocation(new LocationConf { Modifier = "=", Pattern = "/a" }, "nginx.conf:2");
        var again = () => server.AddLocation(new LocationConf { Modifier = "^~", Pattern = "/a" }, "nginx.conf:3");
        again.Should().Throw<NginxConfException>().WithMessage("duplicate location \"/a\" in nginx.conf:3");
    }
}
