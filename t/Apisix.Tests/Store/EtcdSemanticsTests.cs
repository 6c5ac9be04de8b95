using System.Text.Json.Nodes;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Store;

/// <summary>The etcd v3 semantics of the store and of the lua-resty-etcd client over it.</summary>
public class EtcdSemanticsTests
{
    [Fact]
    public void RangesArePrefixReadsInByteOrder()
    {
        var store = new ConfigStore();
        store.Put("/apisix/ab", "ab");
        store.Put("/apisix/abc", "abc");
        store.Put("/apisix/b", "b");
        store.Range("/apisix/a", ConfigStore.PrefixEnd("/apisix/a")).Select(e => e.Key)
            .Should().Equal("/apisix/ab", "/apisix/abc");
        store.Range("/apisix/a", null).Should().BeEmpty();
        ConfigStore.PrefixEnd("/a/").Should().Be("/a0");
    }

    [Fact]
    public void RawValuesAreNotJsonAndVersionsCount()
    {
        var store = new ConfigStore();
        var (dir, _) = store.PutRaw("/apisix/routes/", "init_dir");
        dir.Value.Should().BeNull();
        dir.Raw.Should().Be("init_dir");
        store.Put("/k", 1);
        store.Put("/k", 2).Entry.Version.Should().Be(2);
    }

    [Fact]
    public void LeasedKeysGoWhenTheLeaseRunsOut()
    {
        double now = 0;
        var store = new ConfigStore { LeaseClock = () => now };
        long lease = store.Grant(1);
        store.Put("/apisix/routes/1", new JsonObject(), lease);
        store.Get("/apisix/routes/1").Should().NotBeNull();
        now = 0.5;
        store.KeepAlive(lease).Should().Be(1);
        now = 1.2;
        store.Get("/apisix/routes/1").Should().NotBeNull();
        now = 1.6;
        store.Get("/apisix/routes/1").Should().BeNull();
        store.KeepAlive(lease).Should().BeNull();
    }

    [Fact]
    public void TheHistoryServesWatchesUntilCompacted()
    {
        var store = new ConfigStore();
        long start = store.Revision + 1;
        store.Put("/apisix/routes/1", 1);
        store.Delete("/apisix/routes/1");
        store.Changes(start)!.Select(c => c.Kind).Should().Equal(ChangeKind.Put, ChangeKind.Delete);

        var cli = new EtcdClient(store);
        var msg = cli.WatchMessage("/apisix/", ConfigStore.PrefixEnd("/apisix/"), start, out long next);
        msg!["result"]!["events"]!.AsArray().Should().HaveCount(1);
        next.Should().Be(start + 1);
        var del = cli.WatchMessage("/apisix/", ConfigStore.PrefixEnd("/apisix/"), next, out _);
        del!["result"]!["events"]![0]!["type"]!.GetValue<string>().Should().Be("DELETE");

        store.Compact(store.Revision);
        store.Changes(start).Should().BeNull();
        cli.WatchMessage("/apisix/", null, start, out _)!["result"]!["canceled"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public void TheClientAnswersInTheGatewayShape()
    {
        var store = new ConfigStore();
        var cli = new EtcdClient(store);
        var (set, _) = cli.Set("/apisix/ab", "ab", prevKv: true);
        set!.Body.ContainsKey("prev_kv").Should().BeFalse();
        (set, _) = cli.Set("/apisix/ab", "ab2", prevKv: true);
        set!.Body.ContainsKey("prev_kv").Should().BeTrue();

        var (dir, _) = cli.Readdir("/apisix/a");
        dir!.Body["count"]!.GetValue<string>().Should().Be("1");
        dir.Body["header"]!["revision"]!.GetValue<string>().Should().Be(store.Revision.ToString());
        dir.Body["kvs"]![0]!["value"]!.GetValue<string>().Should().Be("ab2");

        var (none, _) = cli.Readdir("/apisix/zz");
        none!.Body.ContainsKey("kvs").Should().BeFalse();

        var (nx, _) = cli.Setnx("/apisix/ab", "x");
        nx!.Body.ContainsKey("succeeded").Should().BeFalse();
        var (del, _) = cli.Delete("/apisix/ab");
        del!.Body["deleted"]!.GetValue<string>().Should().Be("1");
        var (del2, _) = cli.Delete("/apisix/ab");
        del2!.Body.ContainsKey("deleted").Should().BeFalse();
    }
}
