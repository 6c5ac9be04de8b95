using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Utils;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class LogSanitizeTests
{
    private static AiHttpParams Sample() => new()
    {
        Method = "POST",
        Scheme = "https",
        Host = "llm.example",
        Port = 443,
        Path = "/v1/messages",
        SslServerName = "llm.example",
        Query = new JsonObject { ["key"] = "secret-in-query" },
        Headers = new()
        {
            ["Authorization"] = "Bearer sk-1",
            ["x-api-key"] = "k2",
            ["API-KEY"] = "k3",
            ["cookie"] = "session=1",
            ["Proxy-Authorization"] = "Basic x",
            ["x-amz-security-token"] = "tok",
            ["content-type"] = "application/json",
            ["x-trace"] = "t-1",
        },
        Body = new JsonObject { ["prompt"] = "private words" },
    };

    [Fact]
    public void Params_keep_routing_fields_and_hide_credentials()
    {
        var r = LogSanitize.RedactParams(Sample().ToLuaTable());
        r["method"]!.GetValue<string>().Should().Be("POST");
        r["scheme"]!.GetValue<string>().Should().Be("https");
        r["host"]!.GetValue<string>().Should().Be("llm.example");
        r["port"]!.GetValue<int>().Should().Be(443);
        r["path"]!.GetValue<string>().Should().Be("/v1/messages");
        r["ssl_server_name"]!.GetValue<string>().Should().Be("llm.example");
        var h = r["headers"]!.AsObject();
        foreach (var name in new[] { "Authorization", "x-api-key", "API-KEY", "cookie", "Proxy-Authorization", "x-amz-security-token" })
            h[name]!.GetValue<string>().Should().Be("[REDACTED]", name);
        h["content-type"]!.GetValue<string>().Should().Be("application/json");
        h["x-trace"]!.GetValue<string>().Should().Be("t-1");
        r.ContainsKey("query").Should().BeFalse();
        r.ContainsKey("body").Should().BeFalse();
        CJson.Encode(r).Should().NotContain("sk-1").And.NotContain("private words").And.NotContain("secret-in-query");
    }

    [Fact]
    public void Params_without_headers_have_no_headers_field()
    {
        var r = LogSanitize.RedactParams(new JsonObject { ["host"] = "h" });
        r.ContainsKey("headers").Should().BeFalse();
        r.ContainsKey("port").Should().BeFalse();
    }

    [Fact]
    public void Extra_opts_lose_auth_only_and_the_original_is_untouched()
    {
        var opts = new JsonObject
        {
            ["name"] = "inst-a",
            ["auth"] = new JsonObject { ["header"] = new JsonObject { ["Authorization"] = "Bearer sk-2" } },
            ["conf"] = new JsonObject { ["region"] = "r1" },
        };
        var r = LogSanitize.RedactExtraOpts(opts);
        r.ContainsKey("auth").Should().BeFalse();
        r["name"]!.GetValue<string>().Should().Be("inst-a");
        r["conf"]!["region"]!.GetValue<string>().Should().Be("r1");
        opts.ContainsKey("auth").Should().BeTrue();
        r["conf"]!.AsObject()["region"] = "changed";
        opts["conf"]!["region"]!.GetValue<string>().Should().Be("r1");
    }

    [Fact]
    public void Log_text_is_the_double_wrapped_delay_encode()
    {
        LogSanitize.LogText(new JsonObject { ["host"] = "h" })
            .Should().Be("""{"data":{"host":"h"},"force":true}""");
    }
}
