using Apisix.Core.Upstream;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Upstream;

public class LeastConnTests
{
    private const string A = "127.0.0.1:1980", B = "0.0.0.0:1980";

    [Fact]
    public void Picks_the_lowest_score_and_takes_it_back_after_balance()
    {
        // scores start at 1/weight: A 1/3, B 1/2
        var picker = new LeastConnPicker([(A, 3), (B, 2)]);
        var s1 = new BalancerState();
        picker.Get(s1).Server.Should().Be(A); // A -> 2/3
        s1.Server = A;
        var s2 = new BalancerState();
        picker.Get(s2).Server.Should().Be(B); // B -> 1
        s2.Server = B;
        var s3 = new BalancerState();
        picker.Get(s3).Server.Should().Be(A); // A -> 1
        s3.Server = A;

        picker.AfterBalance(s1, false);
        picker.ScoreOf(A).Should().BeApproximately(2.0 / 3, 1e-9);
        picker.AfterBalance(s3, false);
        picker.ScoreOf(A).Should().BeApproximately(1.0 / 3, 1e-9);
        picker.AfterBalance(s2, false);
        picker.ScoreOf(B).Should().BeApproximately(0.5, 1e-9);
    }

    [Fact]
    public void A_retry_skips_tried_servers_and_ends_when_all_were_tried()
    {
        var picker = new LeastConnPicker([(A, 2), (B, 1)]);
        var state = new BalancerState();
        picker.Get(state).Server.Should().Be(A);
        state.Server = A;
        picker.AfterBalance(state, true);
        picker.Get(state).Server.Should().Be(B);
        state.Server = B;
        picker.AfterBalance(state, true);
        picker.Get(state).Should().Be(((string?)null, "all upstream servers tried"));
        // the servers popped to look past them are back in the heap
        new[] { picker.ScoreOf(A), picker.ScoreOf(B) }.Should().Equal(0.5, 1.0);
    }

    [Fact]
    public void The_heap_keeps_binaryheap_order_for_ties_and_only_sinks_on_update()
    {
        var heap = new UniqueMinHeap<double[]>((a, b) => a[0] < b[0]);
        heap.Insert([1], "x");
        heap.Insert([1], "y");
        heap.Insert([0.5], "z");
        heap.Peek().Payload.Should().Be("z");
        // the same object updated in place with a lower value does not move up
        var y = heap.ValueByPayload("y")!;
        y[0] = 0.1;
        heap.Update("y", y);
        heap.Peek().Payload.Should().Be("z");
        heap.Pop().Payload.Should().Be("z");
        heap.Pop().Payload.Should().Be("y");
        heap.Pop().Payload.Should().Be("x");
        heap.Peek().Should().Be(((string?)null, (double[]?)null));
    }
}

public class BalancerTypesTests
{
    private static UpstreamConf Conf(string type, params UpstreamNode[] nodes) =>
        new() { Key = "route#" + type, Version = "1", Type = type, Nodes = nodes.ToList(), Raw = new System.Text.Json.Nodes.JsonObject { ["type"] = type, ["key"] = "remote_addr" } };

    [Fact]
    public void Each_type_gets_its_picker_and_several_priorities_a_priority_picker()
    {
        var b = new Balancer();
        var up = Conf("least_conn", new UpstreamNode("127.0.0.1", 1, 1, 1), new UpstreamNode("127.0.0.1", 2, 5, 0));
        var state = new BalancerState();
        b.PickServer(up, state, 0, "http").Node!.Port.Should().Be(1); // priority 1 first, despite the weight
        state.Picker.Should().BeOfType<PriorityPicker>();

        var chash = Conf("chash", new UpstreamNode("127.0.0.1", 1, 1, 0), new UpstreamNode("127.0.0.1", 2, 1, 0));
        var picks = Enumerable.Range(0, 5).Select(_ =>
            b.PickServer(chash, new BalancerState { Vars = n => n == "remote_addr" ? "10.0.0.7" : null }, 0, "http").Node!.Port).ToList();
        picks.Distinct().Should().HaveCount(1);

        var (none, err) = b.PickServer(Conf("fastest", new UpstreamNode("127.0.0.1", 1, 1, 0), new UpstreamNode("127.0.0.1", 2, 1, 0)),
            new BalancerState(), 0, "http");
        none.Should().BeNull();
        err.Should().Be("invalid balancer type: fastest");
    }

    [Fact]
    public void Weights_past_int_range_are_reduced_by_their_gcd()
    {
        var b = new Balancer();
        var up = Conf("chash", new UpstreamNode("127.0.0.1", 1, 1_000_000_000, 0), new UpstreamNode("127.0.0.1", 2, 0, 0),
            new UpstreamNode("127.0.0.1", 3, 4_000_000_000, 0));
        var (node, err) = b.PickServer(up, new BalancerState { Vars = _ => "1" }, 0, "http");
        err.Should().BeNull();
        node!.Port.Should().BeOneOf(1, 3);
    }
}
