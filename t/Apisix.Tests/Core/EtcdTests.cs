using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Core;

/// <summary>core.etcd's answers over the store (Core/Etcd.cs).</summary>
public class EtcdTests
{
    private static (Etcd Etcd, ConfigStore Store, List<string> Warnings) Make(string? yaml = null)
    {
        var store = new ConfigStore();
        Etcd.InitDirs(store, "/apisix");
        var config = ApisixConfig.Load(new ConfigYamlBuilder().Build(yaml, null), new ConfigLoadOptions { GetEnv = _ => null });
        var warnings = new List<string>();
        var etcd = new Etcd(store, config) { Log = (level, msg) => { if (level == LogLevel.Warn) warnings.Add(msg); } };
        return (etcd, store, warnings);
    }

    [Theory]
    [InlineData("https://127.0.0.1:12379")]
    [InlineData("http://127.0.0.1:7777")]
    [InlineData("https://127.0.0.1:2379")]
    public void EndpointsTheEmulatedClusterDoesNotServeFailEveryCall(string host)
    {
        var (etcd, _, _) = Make($"deployment:\n  etcd:\n    host:\n      - \"{host}\"\n");
        etcd.Set("/routes/1", new JsonObject { ["uri"] = "/a" }).Err.Should().Be(Etcd.ErrUnhealthyAll);
        etcd.Get("/routes/1").Err.Should().Be(Etcd.ErrUnhealthyAll);
        etcd.Delete("/routes/1").Err.Should().Be(Etcd.ErrUnhealthyAll);
    }

    [Fact]
    public void OneServedEndpointAmongOthersIsEnough()
    {
        var (etcd, _, _) = Make("deployment:\n  etcd:\n    host:\n      - \"http://127.0.0.1:7777\"\n      - \"http://127.0.0.1:2379\"\n");
        etcd.Set("/routes/1", new JsonObject { ["uri"] = "/a" }).Res!.Status.Should().Be(201);
    }

    [Fact]
    public void ASingleGetNeedsTheExactKey()
    {
        var (etcd, _, _) = Make();
        etcd.Set("/ab", "ab").Res!.Status.Should().Be(201);
        etcd.Set("/ab", "ab").Res!.Status.Should().Be(200);
        var (res, _) = etcd.Get("/a");
        res!.Status.Should().Be(404);
        res.Body["message"]!.GetValue<string>().Should().Be("Key not found");
        var (dir, _) = etcd.Get("/a", isDir: true);
        dir!.Body["list"]!.AsArray().Should().HaveCount(1);
        dir.Headers["X-Etcd-Index"].Should().NotBeNull();
    }

    [Fact]
    public void ADirectoryListingLeavesOutTheInitDirPlaceholder()
    {
        var (etcd, _, _) = Make();
        etcd.Get("/routes", isDir: true).Res!.Body["list"]!.AsArray().Should().BeEmpty();
        etcd.Set("/routes/1", new JsonObject { ["uri"] = "/a" });
        var list = etcd.Get("/routes", isDir: true).Res!.Body["list"]!.AsArray();
        list.Should().HaveCount(1);
        list[0]!["createdIndex"]!.GetValue<long>().Should().BeGreaterThan(0);

        // without the placeholder, the first item names the directory
        etcd.Delete("/routes/").Res!.Status.Should().Be(200);
        etcd.Get("/routes", isDir: true).Res!.Body["list"]!.AsArray().Should().HaveCount(1);
    }

    [Fact]
    public void PushTakesARevisionAsTheId()
    {
        var (etcd, store, _) = Make();
        var value = new JsonObject { ["uri"] = "/p" };
        var (res, _) = etcd.Push("/routes", value);
        string id = value["id"]!.GetValue<string>();
        id.Should().HaveLength(20);
        long.Parse(id).Should().Be(store.Revision - 1);
        res!.Body["node"]!["key"]!.GetValue<string>().Should().Be("/apisix/routes/" + id);
    }

    [Fact]
    public void AtomicSetFailsWhenTheKeyMovedOn()
    {
        var (etcd, _, _) = Make();
        etcd.Set("/k", 1);
        long rev = etcd.Get("/k").Res!.Body["node"]!["modifiedIndex"]!.GetValue<long>();
        etcd.AtomicSet("/k", 2, null, rev).Res.Should().NotBeNull();
        etcd.AtomicSet("/k", 3, null, rev).Err.Should().Be("value changed before overwritten");
    }

    [Fact]
    public void GetFormatNeedsTheHeaderRevision()
    {
        var res = new EtcdResponse { Body = new JsonObject { ["kvs"] = new JsonArray(new JsonObject { ["key"] = "/t" }) } };
        var (etcd, _, _) = Make();
        etcd.GetFormat(res, "/t", false).Err.Should().Be("etcd response missing header.revision");
    }

    [Fact]
    public void ADataPlaneIsWarnedWhenItWrites()
    {
        var (etcd, _, warnings) = Make("deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: etcd\n");
        etcd.Set("/x", 1);
        warnings.Should().Contain(Etcd.NotAllowWriteEtcdWarn);
        warnings.Clear();
        var (cli, _) = etcd.New();
        cli.Delete("/x");
        warnings.Should().Equal(Etcd.NotAllowWriteEtcdWarn);
    }
}
