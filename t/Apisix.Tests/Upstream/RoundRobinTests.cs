using Apisix.Core.Upstream;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Upstream;

public class RoundRobinTests
{
    /// <summary>A Random whose Next(n) always answers the same index, to fix where the walk starts.</summary>
    private sealed class FixedStart(int index) : Random
    {
        public override int Next(int maxValue) => Math.Min(index, maxValue - 1);
    }

    private static List<string> Picks(RoundRobin rr, int n) => Enumerable.Range(0, n).Select(_ => rr.Find()).ToList();

    [Fact]
    public void Heavy_node_is_taken_once_per_weight_step_and_light_ones_at_the_lowest_step()
    {
        // started after the last node: that first pass finds nothing, so the current weight
        // steps from 5 down to 4 before "a" is looked at
        var rr = new RoundRobin([("a", 5), ("b", 1), ("c", 1)], new FixedStart(2));
        Picks(rr, 14).Should().Equal("a", "a", "a", "a", "b", "c", "a", "a", "a", "a", "a", "b", "c", "a");
    }

    [Fact]
    public void Two_to_one_started_after_the_last_node()
    {
        var rr = new RoundRobin([("a", 2), ("b", 1)], new FixedStart(1));
        Picks(rr, 6).Should().Equal("a", "b", "a", "a", "b", "a");
    }

    [Fact]
    public void Random_start_shifts_the_cycle_but_keeps_the_proportions()
    {
        // started after "a": "b" is too light for the first pass, so "a" comes back first
        var rr = new RoundRobin([("a", 2), ("b", 1)], new FixedStart(0));
        var picks = Picks(rr, 6);
        picks.Should().Equal("a", "b", "a", "a", "b", "a");
        // equal weights started after "a" begin at "b"
        Picks(new RoundRobin([("a", 1), ("b", 1), ("c", 1)], new FixedStart(0)), 4).Should().Equal("b", "c", "a", "b");
        for (var seed = 0; seed < 20; seed++)
        {
            var counts = Picks(new RoundRobin([("a", 2), ("b", 1)], new Random(seed)), 300).GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
            counts["a"].Should().Be(200);
            counts["b"].Should().Be(100);
        }
    }

    [Fact]
    public void Equal_weights_alternate_in_node_order()
    {
        var rr = new RoundRobin([("a", 1), ("b", 1), ("c", 1)], new FixedStart(2));
        Picks(rr, 6).Should().Equal("a", "b", "c", "a", "b", "c");
    }

    [Fact]
    public void Gcd_steps_weights_that_share_a_factor()
    {
        // weights 4 and 2 step by 2 and so pick exactly like 2 and 1
        var rr = new RoundRobin([("a", 4), ("b", 2)], new FixedStart(1));
        var same = new RoundRobin([("a", 2), ("b", 1)], new FixedStart(1));
        Picks(rr, 9).Should().Equal(Picks(same, 9));
        // weights 3 and 2 (gcd 1) take "a" alone at step 3 and both at steps 2 and 1
        Picks(new RoundRobin([("a", 3), ("b", 2)], new FixedStart(0)), 5).Should().Equal("a", "b", "a", "b", "a");
    }

    [Fact]
    public void Zero_weight_node_is_never_taken_and_a_single_node_always_is()
    {
        Picks(new RoundRobin([("a", 3), ("b", 0)], new FixedStart(0)), 5).Should().OnlyContain(x => x == "a");
        Picks(new RoundRobin([("only", 7)]), 3).Should().Equal("only", "only", "only");
    }

    [Fact]
    public void Picker_skips_servers_the_request_already_tried_then_reports_all_tried()
    {
        var picker = new RoundRobinPicker([("a", 1), ("b", 1)], new FixedStart(1));
        var state = new BalancerState();
        var (first, _) = picker.Get(state);
        first.Should().Be("a");
        state.Server = first;
        picker.AfterBalance(state, beforeRetry: true);
        // the round robin would give "b" anyway; try again with "b" tried as well
        picker.Get(state).Server.Should().Be("b");
        state.Server = "b";
        picker.AfterBalance(state, beforeRetry: true);
        picker.Get(state).Should().Be(((string?)null, "all upstream servers tried"));
    }

    [Fact]
    public void Picker_draws_again_past_a_tried_server()
    {
        var picker = new RoundRobinPicker([("a", 2), ("b", 1)], new FixedStart(1));
        var state = new BalancerState { TriedServers = ["a"], TriedCount = 1 };
        picker.Get(state).Server.Should().Be("b");
    }
}

public class BalancerTests
{
    private static UpstreamConf Conf(params UpstreamNode[] nodes) =>
        new() { Key = "route#1", Version = "1", Nodes = nodes.ToList() };

    [Fact]
    public void Single_node_is_returned_with_the_host_header_pass_host_node_would_send()
    {
        var b = new Balancer();
        var (node, err) = b.PickServer(Conf(new UpstreamNode("127.0.0.1", 1980, 1, 0, "localhost")), new BalancerState(), 0, "http");
        err.Should().BeNull();
        node!.Address.Should().Be("127.0.0.1:1980");
        node.UpstreamHost.Should().Be("localhost:1980");
        Balancer.UpstreamHostOf("example.com", 80, null, "http").Should().Be("example.com");
        Balancer.UpstreamHostOf("example.com", 443, null, "https").Should().Be("example.com");
        Balancer.UpstreamHostOf("10.0.0.1", 8080, null, "http").Should().Be("10.0.0.1:8080");
    }

    [Fact]
    public void Retries_move_to_an_untried_node_until_none_is_left()
    {
        var b = new Balancer { Random = new Random(3) };
        var up = Conf(new UpstreamNode("127.0.0.1", 1, 1, 0), new UpstreamNode("127.0.0.1", 2, 1, 0));
        var state = new BalancerState();
        var first = b.PickServer(up, state, 0, "http").Node!;
        var second = b.PickServer(up, state, 0, "http").Node!;
        second.Address.Should().NotBe(first.Address);
        var (none, err) = b.PickServer(up, state, 0, "http");
        none.Should().BeNull();
        err.Should().Be("failed to find valid upstream server, all upstream servers tried");
    }

    [Fact]
    public void The_picker_is_kept_across_requests_so_the_cycle_goes_on()
    {
        var b = new Balancer();
        var up = Conf(new UpstreamNode("127.0.0.1", 1, 1, 0), new UpstreamNode("127.0.0.1", 2, 1, 0));
        var picks = Enumerable.Range(0, 4).Select(_ => b.PickServer(up, new BalancerState(), 0, "http").Node!.Port).ToList();
        picks[0].Should().NotBe(picks[1]);
        picks[2].Should().Be(picks[0]);
        picks[3].Should().Be(picks[1]);
    }

    [Fact]
    public void Higher_priority_nodes_go_first_and_lower_ones_only_on_retry()
    {
        var b = new Balancer();
        var up = Conf(new UpstreamNode("127.0.0.1", 1, 1, -1), new UpstreamNode("127.0.0.1", 2, 1, 5));
        for (var i = 0; i < 3; i++)
        {
            var state = new BalancerState();
            b.PickServer(up, state, 0, "http").Node!.Port.Should().Be(2);
            b.PickServer(up, state, 0, "http").Node!.Port.Should().Be(1);
        }
    }

    [Fact]
    public void Unknown_balancer_types_fail_the_pick()
    {
        var up = new UpstreamConf { Key = "k", Version = "1", Type = "fastest", Nodes = [new("127.0.0.1", 1, 1, 0), new("127.0.0.1", 2, 1, 0)] };
        var (node, err) = new Balancer().PickServer(up, new BalancerState(), 0, "http");
        node.Should().BeNull();
        err.Should().Be("invalid balancer type: fastest");
    }

    [Fact]
    public void Nodes_in_object_form_become_an_array_in_written_order_with_names_resolved()
    {
        var value = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(
            """{"nodes":{"127.0.0.1:1980":3,"localhost:1981":1,"nowhere.invalid:1":1,"[::1]:1982":2}}""")!;
        var errors = new List<string>();
        var up = UpstreamConf.Parse(value, "k", "1",
            h => h == "localhost" ? System.Net.IPAddress.Loopback : null, errors.Add);
        up.Nodes.Select(n => (n.Host, n.Port, n.Weight, n.Domain)).Should().Equal(
            ("127.0.0.1", 1980, 3, (string?)null), ("127.0.0.1", 1981, 1, "localhost"), ("[::1]", 1982, 2, null));
        errors.Should().Equal(
            "failed to parse domain: nowhere.invalid, error: failed to query the DNS server: dns client error: 3 name error",
            "dns resolver domain: nowhere.invalid error: failed to query the DNS server: dns client error: 3 name error");
    }

    [Fact]
    public void A_node_without_port_needs_the_scheme_configured()
    {
        var value = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(
            """{"nodes":[{"host":"127.0.0.1","weight":1}]}""")!;
        // no scheme is the schema's default, http: another scheme cannot fill the port
        UpstreamConf.Parse(value, "k", "1", _ => null).FillNodeInfo("https").Should().StartWith("Can't detect upstream's scheme");
        var plain = UpstreamConf.Parse(value, "k", "1", _ => null);
        plain.FillNodeInfo("http").Should().BeNull();
        plain.Nodes[0].Port.Should().Be(80);
        value["scheme"] = "https";
        var up = UpstreamConf.Parse(value, "k", "1", _ => null);
        up.FillNodeInfo("https").Should().BeNull();
        up.Nodes[0].Port.Should().Be(443);
    }
}
