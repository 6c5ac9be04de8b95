using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Plugins;

public class ConsumerTests
{
    private static (ConfigStore Store, Consumer Consumers) Setup()
    {
        var store = new ConfigStore();
        var reg = new PluginRegistry();
        CorePlugins.Register(reg);
        reg.Load(["key-auth", "basic-auth", "limit-count"]);
        return (store, new Consumer(store, reg));
    }

    [Fact]
    public void Finds_a_consumer_by_its_key_and_through_a_credential()
    {
        var (store, consumers) = Setup();
        store.Put("/apisix/consumers/jack", JsonNode.Parse("""{"username":"jack","group_id":"g1","labels":{"custom_id":"c-1"},"plugins":{"key-auth":{"key":"k1"},"limit-count":{"count":1,"time_window":60}}}"""));
        store.Put("/apisix/consumers/jack/credentials/cred-a", JsonNode.Parse("""{"id":"cred-a","plugins":{"key-auth":{"key":"k2"}}}"""));

        var (byKey, conf, err) = consumers.FindConsumer("key-auth", "key", "k1");
        err.Should().BeNull();
        byKey!.ConsumerName.Should().Be("jack");
        byKey.CredentialId.Should().BeNull();
        byKey.CustomId.Should().Be("c-1");
        byKey.GroupId.Should().Be("g1");
        byKey.Key.Should().Be("/apisix/consumers/jack");
        conf!.Nodes.Should().HaveCount(2);

        var (byCredential, _, _) = consumers.FindConsumer("key-auth", "key", "k2");
        byCredential!.ConsumerName.Should().Be("jack");
        byCredential.CredentialId.Should().Be("cred-a");
        // the plugins are the consumer's, not the credential's
        byCredential.Plugins!.ContainsKey("limit-count").Should().BeTrue();

        consumers.FindConsumer("key-auth", "key", "nope").Consumer.Should().BeNull();
        consumers.FindConsumer("basic-auth", "username", "jack").Error.Should().Be("Missing related consumer");
    }

    [Fact]
    public void A_change_in_the_store_is_seen_at_once()
    {
        var (store, consumers) = Setup();
        store.Put("/apisix/consumers/rose", JsonNode.Parse("""{"username":"rose","plugins":{"key-auth":{"key":"old"}}}"""));
        consumers.FindConsumer("key-auth", "key", "old").Consumer.Should().NotBeNull();
        store.Put("/apisix/consumers/rose", JsonNode.Parse("""{"username":"rose","plugins":{"key-auth":{"key":"new"}}}"""));
        consumers.FindConsumer("key-auth", "key", "old").Consumer.Should().BeNull();
        consumers.FindConsumer("key-auth", "key", "new").Consumer!.ConsumerName.Should().Be("rose");
    }

    [Fact]
    public void An_anonymous_consumer_is_read_by_name()
    {
        var (store, consumers) = Setup();
        consumers.GetAnonymousConsumer("ghost").Error.Should().Be("failed to get anonymous consumer ghost");
        store.Put("/apisix/consumers/anon", JsonNode.Parse("""{"username":"anon"}"""));
        consumers.GetAnonymousConsumer("anon").Consumer!.ConsumerName.Should().Be("anon");
    }

    [Fact]
    public void Basic_auth_header_is_split_and_stripped_of_whitespace()
    {
        BasicAuthPlugin.ExtractAuthHeader("Basic Zm9vOmJhcg==").Should().Be(("foo", "bar", null));
        BasicAuthPlugin.ExtractAuthHeader("Bearer x").Error.Should().Be("Invalid authorization header format");
        BasicAuthPlugin.ExtractAuthHeader("Basic Zm9v").Error.Should().Be("Split authorization err: invalid decoded data: foo");
    }

    [Fact]
    public void Limit_count_and_rules_exclude_each_other()
    {
        var lc = new LimitCountPlugin();
        var (ok, err) = lc.CheckSchema(JsonNode.Parse("""{"count":1,"time_window":1,"rules":[{"count":1,"time_window":1,"key":"a"}]}""")!.AsObject(), SchemaType.Plugin);
        ok.Should().BeFalse();
        err.Should().Be("count/time_window and rules cannot be specified at the same time");
        var conf = JsonNode.Parse("""{"count":2,"time_window":60}""")!.AsObject();
        lc.CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["key"]!.GetValue<string>().Should().Be("remote_addr");
        conf["policy"]!.GetValue<string>().Should().Be("local");
        conf["rejected_code"]!.GetValue<long>().Should().Be(503);
    }

    [Fact]
    public void Conf_version_ignores_key_order()
    {
        var a = PluginMeta.ConfVersion(JsonNode.Parse("""{"count":2,"time_window":60}""")!.AsObject());
        var b = PluginMeta.ConfVersion(JsonNode.Parse("""{"time_window":60,"count":2}""")!.AsObject());
        var c = PluginMeta.ConfVersion(JsonNode.Parse("""{"time_window":60,"count":3}""")!.AsObject());
        a.Should().Be(b);
        a.Should().NotBe(c);
    }
}
