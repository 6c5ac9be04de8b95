using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Apisix.Core.Healthcheck;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Healthcheck;

public class HealthcheckManagerTests
{
    private const string Path0 = "/apisix/routes/1#plugins['ai-proxy-multi'].instances[0]";

    /// <summary>What the plugin side would hand the manager: instance confs with resolved nodes, and resource versions.</summary>
    private sealed class Source
    {
        public ConcurrentDictionary<string, JsonObject> Instances { get; } = new();
        public ConcurrentDictionary<string, long> Indexes { get; } = new();
        public JsonObject? Resolve(string path) => Instances.TryGetValue(path, out var o) ? o : null;
        public long? Index(string key) => Indexes.TryGetValue(key, out var i) ? i : null;
    }

    private static JsonObject Instance(int nodesVer, int failures = 2) => new()
    {
        ["name"] = "openai-a",
        ["auth"] = new JsonObject { ["header"] = new JsonObject { ["Authorization"] = "Bearer token" } },
        ["checks"] = new JsonObject
        {
            ["active"] = new JsonObject
            {
                ["http_path"] = "/status",
                ["healthy"] = new JsonObject { ["interval"] = 0.1, ["successes"] = 1 },
                ["unhealthy"] = new JsonObject { ["interval"] = 0.1, ["http_failures"] = failures },
            },
        },
        ["_dns_nodes"] = new JsonArray(new JsonObject { ["host"] = "127.0.0.1", ["port"] = 1980 }),
        ["_nodes_ver"] = nodesVer,
    };

    private static async Task<(HealthcheckWorld W, Source S, HealthcheckManager M)> Start()
    {
        var w = await HealthcheckWorld.StartAsync();
        var s = new Source();
        var m = HealthcheckManager.InitWorker(w.Worker(), s.Resolve, s.Index, timerInterval: 0.2);
        return (w, s, m);
    }

    [Fact]
    public async Task A_checker_is_created_by_the_timer_after_the_first_fetch()
    {
        var (w, s, m) = await Start();
        await using var _ = w;
        s.Indexes["/apisix/routes/1"] = 5;
        s.Instances[Path0] = Instance(1);
        HealthcheckManager.Of(w.Worker()).Should().BeSameAs(m);

        (await w.On(() => m.FetchChecker(Path0, "51"))).Should().BeNull();
        w.Logged($"adding {Path0} to waiting pool with version: 51").Should().BeTrue();
        (await w.On(() => m.FetchChecker(Path0, "51"))).Should().BeNull();
        w.Log.Lines.Count(l => l.Contains("to waiting pool")).Should().Be(1, "an already waiting version is not added twice");

        Healthchecker? c = null;
        await w.Until(async () => (c = await w.On(() => m.FetchChecker(Path0, "51"))) != null, "checker created");
        w.Logged($"creating healthchecker for upstream: {Path0}").Should().BeTrue();
        w.Logged($"checking waiting pool for resource: {Path0} current version: 51 requested version: 51").Should().BeTrue();
        w.Logged($"create new checker: {c} for resource: {Path0} and version: 51").Should().BeTrue(w.Dump());
        c!.Name.Should().Be("upstream#" + Path0);
        c.ToString().Should().StartWith("table: 0x");

        // the probe carries the instance's auth header, and the node is healthy
        await w.Until(() => w.Probes.Any(p => p.Path == "/status" && p.Authorization == "Bearer token"), "probe with auth header");
        await w.Until(async () => await w.On(() => HealthcheckManager.FetchNodeStatus(c, "127.0.0.1", 1980, null).Ok), "node healthy");
        await w.Until(() => w.Logged($"checking working pool for resource: {Path0} current version: 51 item version: 51"), "working pool check");

        // an unknown node is treated as usable, with a warning
        (await w.On(() => HealthcheckManager.FetchNodeStatus(c, "127.0.0.9", 1980, "h"))).Should().Be((true, (string?)null));
        w.Logged("health check target status not available yet, treat as unknown, addr: 127.0.0.9:1980, host: h").Should().BeTrue();
        (await w.On(() => HealthcheckManager.FetchNodeStatus(null, "127.0.0.1", 1980, null))).Ok.Should().BeTrue();
    }

    [Fact]
    public async Task Node_status_follows_the_probes()
    {
        var (w, s, m) = await Start();
        await using var _ = w;
        s.Indexes["/apisix/routes/1"] = 5;
        s.Instances[Path0] = Instance(1);
        w.Status = 502;
        await w.On(() => m.FetchChecker(Path0, "51"));
        Healthchecker? c = null;
        await w.Until(async () => (c = await w.On(() => m.FetchChecker(Path0, "51"))) != null, "checker created");
        await w.Until(async () => !(await w.On(() => HealthcheckManager.FetchNodeStatus(c, "127.0.0.1", 1980, null))).Ok, "node unhealthy");
        (await w.On(() => c!.StatusVer)).Should().Be(2);
        w.Status = 200;
        await w.Until(async () => (await w.On(() => HealthcheckManager.FetchNodeStatus(c, "127.0.0.1", 1980, null))).Ok, "node healthy again");
        (await w.On(() => c!.StatusVer)).Should().Be(3);
    }

    [Fact]
    public async Task A_new_version_replaces_the_checker_and_stops_the_old_one()
    {
        var (w, s, m) = await Start();
        await using var _ = w;
        s.Indexes["/apisix/routes/1"] = 5;
        s.Instances[Path0] = Instance(1);
        await w.On(() => m.FetchChecker(Path0, "51"));
        Healthchecker? old = null;
        await w.Until(async () => (old = await w.On(() => m.FetchChecker(Path0, "51"))) != null, "first checker");

        // the route changes: the old version no longer matches once the timer looks again
        s.Indexes["/apisix/routes/1"] = 8;
        s.Instances[Path0] = Instance(2);
        (await w.On(() => m.FetchChecker(Path0, "82"))).Should().BeNull();
        Healthchecker? fresh = null;
        await w.Until(async () => (fresh = await w.On(() => m.FetchChecker(Path0, "82"))) != null, "second checker");
        fresh.Should().NotBeSameAs(old);
        old!.Stopped.Should().BeTrue();
        // either the creating timer replaced it, or the pool check released it first (both timers run every interval)
        (w.Logged($"releasing existing checker: {old} for resource: {Path0} and version: 51")
         || w.Logged($"try to release checker: {old} for resource: {Path0} and version : 51")).Should().BeTrue(w.Dump());
        w.Logged($"create new checker: {fresh} for resource: {Path0} and version: 82").Should().BeTrue();
        (await w.On(() => m.FetchChecker(Path0, "51"))).Should().BeNull("the old version is gone from the working pool");
        // the successor took over the target (same name, state kept in the shm)
        await w.Until(async () => (await w.On(() => fresh!.GetTargetStatus("127.0.0.1", 1980))).Status == true, "target in the new checker");
    }

    [Fact]
    public async Task A_stale_waiting_version_creates_nothing()
    {
        var (w, s, m) = await Start();
        await using var _ = w;
        s.Indexes["/apisix/routes/1"] = 9;
        s.Instances[Path0] = Instance(1);
        await w.On(() => m.FetchChecker(Path0, "51"));
        await w.Until(() => w.Logged($"checking waiting pool for resource: {Path0} current version: 91 requested version: 51"), "timer looked");
        await Task.Delay(300);
        m.Working.Should().BeEmpty();
        w.Logged("creating healthchecker").Should().BeFalse();
    }

    [Fact]
    public async Task A_deleted_resource_releases_its_checker()
    {
        var (w, s, m) = await Start();
        await using var _ = w;
        s.Indexes["/apisix/routes/1"] = 5;
        s.Instances[Path0] = Instance(1);
        await w.On(() => m.FetchChecker(Path0, "51"));
        Healthchecker? c = null;
        await w.Until(async () => (c = await w.On(() => m.FetchChecker(Path0, "51"))) != null, "checker created");

        s.Indexes.TryRemove("/apisix/routes/1", out long _);
        await w.Until(() => w.Logged($"try to release checker: {c} for resource: {Path0} and version : 51"), "release");
        c!.Dead.Should().BeTrue();
        c.Stopped.Should().BeTrue();
        w.Logged("resource not found: 1 in /routesthis can happen if the resource was deleted").Should().BeTrue();
        (await w.On(() => HealthcheckManager.FetchNodeStatus(c, "127.0.0.1", 1980, null))).Ok.Should().BeTrue();
    }

    [Fact]
    public async Task Disposing_the_nginx_stops_managed_checkers()
    {
        var (w, s, m) = await Start();
        await using var _ = w;
        s.Indexes["/apisix/routes/1"] = 5;
        s.Instances[Path0] = Instance(1);
        await w.On(() => m.FetchChecker(Path0, "51"));
        await w.Until(() => w.Connects >= 3, "probes running");
        await w.StopNginxAsync();
        var after = w.Connects;
        await Task.Delay(700);
        w.Connects.Should().Be(after);
    }

    [Fact]
    public async Task Store_backed_manager_reads_versions_and_plain_upstreams_from_the_store()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        var store = new ConfigStore();
        store.Put("/apisix/upstreams/u1", JsonNode.Parse("""
            {"nodes": [{"host": "127.0.0.1", "port": 1980, "weight": 1}],
             "checks": {"active": {"http_path": "/up", "healthy": {"interval": 0.1}, "unhealthy": {"interval": 0.1}}}}
            """));
        var m = HealthcheckManager.InitWorker(w.Worker(), store, timerInterval: 0.2);
        var ver = store.Get("/apisix/upstreams/u1")!.ModifiedIndex.ToString();
        (await w.On(() => m.FetchChecker("/apisix/upstreams/u1", ver))).Should().BeNull();
        Healthchecker? c = null;
        await w.Until(async () => (c = await w.On(() => m.FetchChecker("/apisix/upstreams/u1", ver))) != null, "checker from store");
        c!.Name.Should().Be("upstream#/apisix/upstreams/u1");
        await w.Until(() => w.Probes.Any(p => p.Path == "/up"), "probe");
    }

    [Theory]
    [InlineData("/apisix/routes/1#plugins['ai-proxy-multi'].instances[0]", "ai-proxy-multi")]
    [InlineData("/apisix/routes/1#plugins[\"ai-proxy-multi\"].instances[1]", "ai-proxy-multi")]
    [InlineData("/apisix/routes/1#plugins.foo.instances[0]", "foo")]
    [InlineData("/apisix/upstreams/1", null)]
    public void Plugin_names_come_from_the_json_path(string path, string? plugin) =>
        HealthcheckManager.GetPluginName(path).Should().Be(plugin);

    [Fact]
    public void Json_paths_index_from_zero()
    {
        var root = JsonNode.Parse("""{"plugins": {"ai-proxy-multi": {"instances": [{"name": "a"}, {"name": "b"}]}}}""");
        HealthcheckManager.JsonPathValue(root, "plugins['ai-proxy-multi'].instances[1]")!["name"]!.GetValue<string>().Should().Be("b");
        HealthcheckManager.JsonPathValue(root, "$.plugins['ai-proxy-multi'].instances[2]").Should().BeNull();
    }

    [Fact]
    public void The_default_upstream_adds_auth_to_a_copy_of_the_probe()
    {
        var ins = Instance(3);
        ins["auth"]!["query"] = new JsonObject { ["key"] = "v" };
        var up = HealthcheckManager.DefaultConstructUpstream("ai-proxy-multi", ins)!;
        up["nodes"]![0]!["host"]!.GetValue<string>().Should().Be("127.0.0.1");
        up["_nodes_ver"]!.GetValue<int>().Should().Be(3);
        up["checks"]!["active"]!["req_headers"]![0]!.GetValue<string>().Should().Be("Authorization: Bearer token");
        up["checks"]!["active"]!["http_path"]!.GetValue<string>().Should().Be("/status?key=v");
        ins["checks"]!["active"]!["req_headers"].Should().BeNull("the instance conf is not changed");
        HealthcheckManager.DefaultConstructUpstream("ai-proxy-multi", new JsonObject()).Should().BeNull();
        HealthcheckManager.Version(12, JsonValue.Create(3)).Should().Be("123");
        HealthcheckManager.Version(12, null).Should().Be("12");
    }
}
