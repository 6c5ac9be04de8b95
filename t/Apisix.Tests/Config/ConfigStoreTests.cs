using System.Text.Json.Nodes;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Config;

/// <summary>The in-memory etcd stand-in.</summary>
public class ConfigStoreTests
{
    [Fact]
    public void RevisionsCountEveryWrite()
    {
        var store = new ConfigStore();
        long start = store.Revision;
        var (first, prev) = store.Put("/apisix/routes/1", new JsonObject { ["uri"] = "/a" });
        prev.Should().BeNull();
        first.CreatedIndex.Should().Be(start + 1);
        first.ModifiedIndex.Should().Be(start + 1);

        var (second, prev2) = store.Put("/apisix/routes/1", new JsonObject { ["uri"] = "/b" });
        prev2!.Value!["uri"]!.GetValue<string>().Should().Be("/a");
        second.CreatedIndex.Should().Be(start + 1);
        second.ModifiedIndex.Should().Be(start + 2);
    }

    [Fact]
    public void ValuesAreCopiedInAndOut()
    {
        var store = new ConfigStore();
        var value = new JsonObject { ["uri"] = "/a" };
        store.Put("/k", value);
        value["uri"] = "/changed";
        store.Get("/k")!.Value!["uri"]!.GetValue<string>().Should().Be("/a");

        store.Get("/k")!.Value!["uri"] = "/also-changed";
        store.Get("/k")!.Value!["uri"]!.GetValue<string>().Should().Be("/a");
    }

    [Fact]
    public void ListingIsByKeyPrefixInByteOrder()
    {
        var store = new ConfigStore();
        store.Put("/apisix/routes/2", 2);
        store.Put("/apisix/routes/10", 10);
        store.Put("/apisix/routes/1", 1);
        store.Put("/apisix/services/1", 1);
        store.List("/apisix/routes/").Select(e => e.Key)
            .Should().Equal("/apisix/routes/1", "/apisix/routes/10", "/apisix/routes/2");
    }

    [Fact]
    public void CompareAndPutNeedsTheExpectedRevision()
    {
        var store = new ConfigStore();
        var (e, _) = store.Put("/k", 1);
        store.CompareAndPut("/k", 2, e.ModifiedIndex - 1).Should().BeNull();
        store.CompareAndPut("/k", 2, e.ModifiedIndex).Should().NotBeNull();
        store.CompareAndPut("/new", 1, 0).Should().NotBeNull();
    }

    [Fact]
    public void SubscribersSeePutsAndDeletesInOrder()
    {
        var store = new ConfigStore();
        var seen = new List<ConfigChange>();
        store.Changed += seen.Add;

        store.Put("/a/1", 1);
        store.Put("/a/2", 2);
        store.Delete("/a/1");
        store.Delete("/missing");
        store.DeletePrefix("/a/");

        seen.Select(c => (c.Kind, c.Entry.Key)).Should().Equal(
            (ChangeKind.Put, "/a/1"), (ChangeKind.Put, "/a/2"),
            (ChangeKind.Delete, "/a/1"), (ChangeKind.Delete, "/a/2"));
        seen.Select(c => c.Revision).Should().BeInAscendingOrder();
        seen[2].Previous!.Value!.GetValue<long>().Should().Be(1);
        store.Count.Should().Be(0);
    }

    [Fact]
    public void TheClockIsReplaceable()
    {
        var store = new ConfigStore(() => 42);
        store.Clock().Should().Be(42);
    }
}
