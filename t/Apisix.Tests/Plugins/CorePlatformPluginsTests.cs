using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Apisix.Tests.Plugins;

/// <summary>
/// clickhouse-logger, udp-logger, node-status, kafka-proxy and grpc-transcode: what upstream's
/// own test files do not pin down (defaults, endpoint parsing, the datagram, the status text).
/// </summary>
public class CorePlatformPluginsTests
{
    private static JsonObject Obj(string json) => (JsonObject)JsonNode.Parse(json)!;

    private static ApiCtx NewCtx()
    {
        var nginx = new Nginx(new HttpConf(), new LoopbackNetwork(), new ErrorLog(LogLevel.Debug), new LuaModules(), Path.GetTempPath());
        var req = new NgxRequest(new DefaultHttpContext(), new ServerConf(), new LocationConf { Modifier = "", Pattern = "/" }, 9) { Nginx = nginx };
        return new ApiCtx(req);
    }

    [Theory]
    [InlineData("clickhouse-logger", 398)]
    [InlineData("udp-logger", 400)]
    [InlineData("node-status", 1000)]
    [InlineData("kafka-proxy", 508)]
    [InlineData("grpc-transcode", 506)]
    public void Registered_under_the_upstream_name_and_priority(string name, int priority)
    {
        var reg = new PluginRegistry();
        CorePlugins.Register(reg);
        var p = reg.GetAvailable(name);
        p.Should().NotBeNull();
        p!.Priority.Should().Be(priority);
        p.Version.Should().Be(0.1);
    }

    [Fact]
    public void Clickhouse_needs_exactly_one_address_form_and_fills_defaults()
    {
        var ch = new ClickhouseLoggerPlugin();
        var conf = Obj("""{"endpoint_addr":"http://10.1.2.3:8123","user":"u","password":"p","database":"d","logtable":"t"}""");
        ch.CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["name"]!.GetValue<string>().Should().Be("clickhouse logger");
        conf["ssl_verify"]!.GetValue<bool>().Should().BeTrue();
        conf["timeout"]!.ToJsonString().Should().Be("3");
        conf["batch_max_size"]!.ToJsonString().Should().Be("1000");

        ch.CheckSchema(Obj("""{"endpoint_addr":"http://a:1","endpoint_addrs":["http://b:2"],"user":"u","password":"p","database":"d","logtable":"t"}"""), SchemaType.Plugin)
            .Error.Should().Be("value should match only one schema, but matches both schemas 1 and 2");
        ch.CheckSchema(Obj("""{"endpoint_addrs":[],"user":"u","password":"p","database":"d","logtable":"t"}"""), SchemaType.Plugin)
            .Ok.Should().BeFalse();
        ch.CheckSchema(Obj("""{"max_pending_entries":0}"""), SchemaType.Metadata).Ok.Should().BeFalse();
        ch.Schema["encrypt_fields"]!.ToJsonString().Should().Be("""["password"]""");
    }

    [Theory]
    [InlineData("http://127.0.0.1:8123", "127.0.0.1", 8123, "/", null)]
    [InlineData("https://ch.example.test/ingest?async=1", "ch.example.test", 443, "/ingest", "async=1")]
    [InlineData("http://ch.example.test", "ch.example.test", 80, "/", null)]
    [InlineData("http://[::1]:9000/x", "::1", 9000, "/x", null)]
    public void Clickhouse_endpoint_parsing_gives_what_send_needs(string addr, string host, int port, string path, string? query)
    {
        var ep = ClickhouseLoggerPlugin.ParseEndpoint(addr)!;
        ep["host"]!.GetValue<string>().Should().Be(host);
        ep["port"]!.GetValue<int>().Should().Be(port);
        ep["path"]!.GetValue<string>().Should().Be(path);
        ep["query"]?.GetValue<string>().Should().Be(query);
        if (query == null) ep.ContainsKey("query").Should().BeFalse();
        ep["addr"]!.GetValue<string>().Should().Be(addr);
    }

    [Fact]
    public void Udp_logger_requires_host_and_port_and_names_its_batch_processor()
    {
        var udp = new UdpLoggerPlugin();
        udp.CheckSchema(Obj("""{"port":3000}"""), SchemaType.Plugin).Error.Should().Be("property \"host\" is required");
        var conf = Obj("""{"host":"127.0.0.1","port":3000}""");
        udp.CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["name"]!.GetValue<string>().Should().Be("udp logger");
        conf["timeout"]!.ToJsonString().Should().Be("3");
    }

    [Fact]
    public void Udp_sender_delivers_one_datagram_with_the_bytes_given()
    {
        using var listener = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)listener.Client.LocalEndPoint!).Port;
        var payload = "{\"route_id\":\"1\",\"note\":\"caf\u00c3\u00a9\"}"; // UTF-8 bytes as a Lua string carries them
        new UdpSender(null).Send("127.0.0.1", port, 1000, payload, out var stage, out var err).Should().BeTrue(err);
        stage.Should().BeNull();
        listener.Client.ReceiveTimeout = 5000;
        IPEndPoint? from = null;
        var got = listener.Receive(ref from);
        got.Should().Equal(Encoding.Latin1.GetBytes(payload));
        Encoding.UTF8.GetString(got).Should().Contain("café");
    }

    [Fact]
    public void Udp_sender_fails_at_connect_for_a_name_nobody_resolves()
    {
        new UdpSender(null).Send("312.0.0.1", 2000, 1000, "x", out var stage, out var err).Should().BeFalse();
        stage.Should().Be("connect");
        err.Should().Be("312.0.0.1 could not be resolved (3: Host not found)");
    }

    [Fact]
    public void Loggers_keep_the_response_body_up_to_the_limit_when_asked()
    {
        var ctx = NewCtx();
        var conf = Obj("""{"include_resp_body":true,"max_resp_body_bytes":8}""");
        KafkaLoggerPlugin.CollectBody(conf, ctx, "hello ", false);
        ctx.Items.ContainsKey("resp_body").Should().BeFalse();
        KafkaLoggerPlugin.CollectBody(conf, ctx, "world\n", true);
        ctx.Items["resp_body"].Should().Be("hello wo");

        var off = NewCtx();
        KafkaLoggerPlugin.CollectBody(Obj("""{"include_resp_body":false}"""), off, "x", true);
        off.Items.ContainsKey("resp_body").Should().BeFalse();
    }

    [Fact]
    public void Node_status_reads_the_seven_counters_as_strings_in_stub_status_order()
    {
        var ctx = NewCtx();
        NodeStatusPlugin.StubStatus(ctx).Should().StartWith("Active connections: 1 \nserver accepts handled requests\n 9 9 9 \n");
        var (code, body) = NodeStatusPlugin.Collect(ctx);
        code.Should().Be(200);
        var status = Obj((string)body!)["status"]!.AsObject();
        status.Select(p => p.Key).Should().Equal("active", "accepted", "handled", "total", "reading", "writing", "waiting");
        status["accepted"]!.GetValue<string>().Should().Be("9");
        status["writing"]!.GetValue<string>().Should().Be("1");
        new NodeStatusPlugin().Scope.Should().Be("global");
    }

    [Fact]
    public async Task Kafka_proxy_leaves_the_sasl_credentials_on_the_context()
    {
        var kp = new KafkaProxyPlugin();
        kp.CheckSchema(Obj("""{"sasl":{"username":"u"}}"""), SchemaType.Plugin).Error
            .Should().Be("property \"sasl\" validation failed: property \"password\" is required");
        var ctx = NewCtx();
        (await kp.AccessAsync(Obj("""{"sasl":{"username":"admin","password":"s3cret"}}"""), ctx)).Exits.Should().BeFalse();
        ctx.Items["kafka_consumer_enable_sasl"].Should().Be(true);
        ctx.Items["kafka_consumer_sasl_username"].Should().Be("admin");
        ctx.Items["kafka_consumer_sasl_password"].Should().Be("s3cret");

        var none = NewCtx();
        await kp.AccessAsync(Obj("{}"), none);
        none.Items.ContainsKey("kafka_consumer_enable_sasl").Should().BeFalse();
    }

    [Fact]
    public void Grpc_transcode_defaults_its_options_and_rejects_unknown_ones()
    {
        var gt = new GrpcTranscodePlugin();
        var conf = Obj("""{"proto_id":"1","service":"helloworld.Greeter","method":"SayHello"}""");
        gt.CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["pb_option"]!.ToJsonString().Should().Be("""["enum_as_name","int64_as_number","auto_default_values","disable_hooks"]""");
        conf["deadline"]!.ToJsonString().Should().Be("0");
        conf["show_status_in_body"]!.GetValue<bool>().Should().BeFalse();
        gt.CheckSchema(Obj("""{"proto_id":"1","service":"s"}"""), SchemaType.Plugin).Error
            .Should().Be("property \"method\" is required");
        gt.CheckSchema(Obj("""{"proto_id":"1","service":"s","method":"m","pb_option":["enum_as_words"]}"""), SchemaType.Plugin)
            .Ok.Should().BeFalse();
        gt.CheckSchema(Obj("""{"proto_id":"1","service":"s","method":"m","anything":"else"}"""), SchemaType.Plugin)
            .Ok.Should().BeTrue();
    }
}
