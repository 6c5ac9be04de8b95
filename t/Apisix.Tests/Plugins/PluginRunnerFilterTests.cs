using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Plugins;

public class PluginRunnerFilterTests
{
    private sealed class Named(string name, int priority) : IPlugin
    {
        public string Name => name;
        public int Priority => priority;
        public double Version => 0.1;
        public JsonNode Schema { get; } = new JsonObject { ["type"] = "object" };
    }

    private static (PluginRunner Runner, PluginRegistry Registry) Runner(params (string Name, int Priority)[] plugins)
    {
        var reg = new PluginRegistry();
        foreach (var (name, priority) in plugins) reg.Register(new Named(name, priority));
        reg.Load(plugins.Select(p => p.Name));
        return (new PluginRunner(reg), reg);
    }

    private static string[] Names(List<(IPlugin Plugin, JsonObject Conf)> list) => list.Select(p => p.Plugin.Name).ToArray();

    [Fact]
    public void A_route_s_plugins_come_in_priority_order_whatever_order_the_route_lists_them()
    {
        var (runner, _) = Runner(("low", 1), ("high", 3000), ("mid", 500), ("unused", 100), ("equal-a", 500));
        var route = JsonNode.Parse("""{"plugins":{"low":{},"nope":{},"mid":{"x":1},"high":{},"equal-a":{}}}""")!.AsObject();
        var list = runner.Filter(route);
        Names(list).Should().Equal("high", "mid", "equal-a", "low");
        list[1].Conf["x"]!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public void Disabled_confs_and_non_object_confs_are_left_out_and_a_reload_changes_the_order()
    {
        var (runner, reg) = Runner(("a", 10), ("b", 20), ("c", 30));
        var route = JsonNode.Parse("""{"plugins":{"a":{},"b":{"_meta":{"disable":true}},"c":true}}""")!.AsObject();
        Names(runner.Filter(route)).Should().Equal("a");

        reg.Load(["c", "a"]);
        var both = JsonNode.Parse("""{"plugins":{"a":{},"b":{},"c":{}}}""")!.AsObject();
        Names(runner.Filter(both)).Should().Equal("c", "a");
    }
}
