using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Plugins;

public class KafkaLoggerTests
{
    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void Registered_with_upstream_name_and_priority()
    {
        var reg = new PluginRegistry();
        CorePlugins.Register(reg);
        var p = reg.GetAvailable("kafka-logger");
        p.Should().NotBeNull();
        p!.Priority.Should().Be(403);
        p.Version.Should().Be(0.1);
        p.MetadataSchema.Should().NotBeNull();
    }

    [Fact]
    public void Check_fills_every_default_including_the_batch_processor_ones()
    {
        var conf = Parse("""{"broker_list":{"10.0.0.5":9093},"kafka_topic":"logs"}""");
        var (ok, err) = new KafkaLoggerPlugin().CheckSchema(conf, SchemaType.Plugin);
        ok.Should().BeTrue(err);
        var expected = new Dictionary<string, object>
        {
            ["meta_format"] = "default", ["producer_type"] = "async", ["required_acks"] = 1L,
            ["timeout"] = 3L, ["include_req_body"] = false, ["include_resp_body"] = false,
            ["max_req_body_bytes"] = 524288L, ["max_resp_body_bytes"] = 524288L, ["cluster_name"] = 1L,
            ["producer_batch_num"] = 200L, ["producer_batch_size"] = 1048576L,
            ["producer_max_buffering"] = 50000L, ["producer_time_linger"] = 1L,
            ["meta_refresh_interval"] = 30L, ["api_version"] = 1L,
            ["name"] = "kafka logger", ["max_retry_count"] = 0L, ["retry_delay"] = 1L,
            ["buffer_duration"] = 60L, ["inactive_timeout"] = 5L, ["batch_max_size"] = 1000L,
        };
        foreach (var (key, value) in expected)
        {
            var node = conf[key];
            node.Should().NotBeNull(key);
            if (value is string s) node!.GetValue<string>().Should().Be(s, key);
            else if (value is bool b) node!.GetValue<bool>().Should().Be(b, key);
            else { Apisix.Core.Json.JsonScalars.TryGetNumber(node, out var d).Should().BeTrue(key); ((long)d).Should().Be((long)value, key); }
        }
        conf.ContainsKey("key").Should().BeFalse();
        conf.ContainsKey("log_format").Should().BeFalse();
    }

    [Fact]
    public void Sasl_mechanism_defaults_to_plain_inside_brokers()
    {
        var conf = Parse("""{"brokers":[{"host":"k","port":9092,"sasl_config":{"user":"u","password":"p"}}],"kafka_topic":"t"}""");
        new KafkaLoggerPlugin().CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["brokers"]![0]!["sasl_config"]!["mechanism"]!.GetValue<string>().Should().Be("PLAIN");
    }

    [Theory]
    [InlineData("""{"broker_list":{"h":9092}}""")] // no topic
    [InlineData("""{"kafka_topic":"t"}""")] // no brokers at all
    [InlineData("""{"broker_list":{"h":9092},"brokers":[{"host":"h","port":9092}],"kafka_topic":"t"}""")] // both: oneOf
    [InlineData("""{"broker_list":{"h":70000},"kafka_topic":"t"}""")] // port out of range
    [InlineData("""{"broker_list":{},"kafka_topic":"t"}""")] // minProperties
    [InlineData("""{"broker_list":{"h":9092},"kafka_topic":"t","required_acks":0}""")]
    [InlineData("""{"broker_list":{"h":9092},"kafka_topic":"t","batch_max_size":0}""")]
    [InlineData("""{"brokers":[{"host":"h","port":1,"sasl_config":{"user":"u"}}],"kafka_topic":"t"}""")]
    public void Rejects_invalid_confs(string json)
    {
        new KafkaLoggerPlugin().CheckSchema(Parse(json), SchemaType.Plugin).Ok.Should().BeFalse();
    }

    [Fact]
    public void Metadata_accepts_max_pending_entries_of_one_or_more()
    {
        var p = new KafkaLoggerPlugin();
        p.CheckSchema(Parse("""{"max_pending_entries":10}"""), SchemaType.Metadata).Ok.Should().BeTrue();
        p.CheckSchema(Parse("""{"max_pending_entries":0}"""), SchemaType.Metadata).Ok.Should().BeFalse();
    }

    [Fact]
    public void Sasl_password_is_an_encrypted_field()
    {
        KafkaLoggerPlugin.BuildSchema()["encrypt_fields"]!.AsArray().Select(n => n!.GetValue<string>())
            .Should().Equal("brokers.sasl_config.password");
    }
}
