using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Admin;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Core;

/// <summary>The data plane's automatic config objects (Core/ConfigEtcdAutomatic.cs).</summary>
public class ConfigEtcdAutomaticTests
{
    private static (ConfigStore Store, AutomaticConfig Obj, List<string> Log) Make(
        Func<JsonObject, string, (bool, string?)>? checker = null)
    {
        var store = new ConfigStore();
        Etcd.InitDirs(store, "/apisix");
        var log = new List<string>();
        var obj = new AutomaticConfig(store, "/upstreams", "/apisix", SchemaDefs.Upstream, checker,
            (level, msg) => log.Add($"[{level}] {msg}"));
        return (store, obj, log);
    }

    private static JsonObject Up(string node) => new() { ["type"] = "roundrobin", ["nodes"] = new JsonObject { [node] = 1 } };

    [Fact]
    public void FullLoadKeepsValidItemsAndRefusesTheOthers()
    {
        var (store, obj, log) = Make();
        store.Put("/apisix/upstreams/good", Up("127.0.0.1:80"));
        var bad = store.Put("/apisix/upstreams/text", JsonValue.Create("words")).Entry;
        var wrong = store.Put("/apisix/upstreams/typo", new JsonObject { ["type"] = "roundrobin", ["nodes"] = new JsonObject(), ["retries"] = -1 }).Entry;

        obj.SyncData();

        obj.Keys.Should().BeEquivalentTo(["good"]);
        obj.ConfVersion.Should().Be(1);
        obj.PrevIndex.Should().Be(store.Revision);
        obj.Refused(bad.Key, bad.ModifiedIndex).Should().BeTrue();
        obj.Refused(wrong.Key, wrong.ModifiedIndex).Should().BeTrue();
        log.Should().Contain("[Error] invalid item data of [/apisix/upstreams/text], val: words, it should be an object");
        log.Should().Contain(l => l.StartsWith("[Error] failed to check item data of [/apisix/upstreams] err:property \"retries\""));
    }

    [Fact]
    public void IncrementalSyncInsertsUpdatesAndDeletes()
    {
        var (store, obj, log) = Make();
        obj.SyncData();
        store.Put("/apisix/upstreams/a", Up("127.0.0.1:80"));
        obj.SyncData();
        store.Put("/apisix/upstreams/a", Up("127.0.0.1:81"));
        store.Delete("/apisix/upstreams/a");
        obj.SyncData();

        log.Should().Equal("[Info] insert data by key: a", "[Info] update data by key: a", "[Info] delete data by key: a");
        obj.Keys.Should().BeEmpty();
        obj.PrevIndex.Should().Be(store.Revision);
    }

    [Fact]
    public void ARefusedValueIsRefusedOnlyAtItsRevision()
    {
        var (store, obj, _) = Make((item, _) => item["nodes"] is JsonObject n && n.ContainsKey("10.0.0.1:1") ? (false, "no") : (true, null));
        obj.SyncData();
        var refused = store.Put("/apisix/upstreams/a", Up("10.0.0.1:1")).Entry;
        obj.SyncData();
        obj.Refused(refused.Key, refused.ModifiedIndex).Should().BeTrue();
        var fixedEntry = store.Put("/apisix/upstreams/a", Up("10.0.0.2:1")).Entry;
        obj.SyncData();
        obj.Refused(fixedEntry.Key, fixedEntry.ModifiedIndex).Should().BeFalse();
        obj.Get("a")!.ModifiedIndex.Should().Be(fixedEntry.ModifiedIndex);
    }

    [Fact]
    public void ACompactedHistoryAsksForAFullReadAgain()
    {
        var (store, obj, log) = Make();
        obj.SyncData();
        store.Put("/apisix/upstreams/a", Up("127.0.0.1:80"));
        store.Put("/apisix/upstreams/b", Up("127.0.0.1:80"));
        store.Compact(store.Revision);
        obj.SyncData();
        obj.NeedReload.Should().BeTrue();
        log.Should().Contain("[Error] waitdir [/apisix/upstreams] err: compacted, will read the configuration again via readdir");
        obj.SyncData();
        obj.Keys.Should().BeEquivalentTo(["a", "b"]);
    }

    [Fact]
    public void LoadedConfigurationSplitsThePrefixByDirectory()
    {
        var store = new ConfigStore();
        Etcd.InitDirs(store, "/apisix");
        store.Put("/apisix/routes/1", new JsonObject { ["uri"] = "/x" });
        var loaded = AutomaticConfig.LoadedConfiguration(store, "/apisix");
        loaded["/routes"].Items.Select(e => e.Key).Should().Equal("/apisix/routes/1");
        loaded["/services"].Items.Should().BeEmpty();
        loaded["/routes"].Revision.Should().Be(store.Revision);
    }
}
