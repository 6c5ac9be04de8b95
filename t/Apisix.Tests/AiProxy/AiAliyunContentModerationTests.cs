using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Utils;
using Apisix.Plugins.AiProxy;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProxy;

/// <summary>
/// The Aliyun request of ai-aliyun-content-moderation: the expected signatures and bodies were
/// computed apart from this code (Python's hmac, base64 and urllib.parse.quote with the
/// RFC 3986 unreserved set for signing, and with ngx_lua's set for the form body).
/// </summary>
public class AiAliyunContentModerationTests
{
    private const string SessionId = "0f6c2d1e-7a3b-4c5d-8e9f-a0b1c2d3e4f5";
    private const string Nonce = "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf";
    private const string Timestamp = "2026-01-02T03:04:05Z";

    private static JsonObject Conf(string secret) => new()
    {
        ["access_key_id"] = "testid",
        ["access_key_secret"] = secret,
        ["region_id"] = "cn-shanghai",
    };

    // a Lua string holding the UTF-8 bytes of a text
    private static string Utf8(string text) => ByteString.FromBytes(System.Text.Encoding.UTF8.GetBytes(text));

    private static string Param(List<KeyValuePair<string, string>> ps, string key) => ps.Single(p => p.Key == key).Value;

    [Fact]
    public void Signature_and_form_body_of_a_known_request()
    {
        var logs = new List<string>();
        var ps = AiAliyunContentModerationPlugin.BuildParams(Conf("testsecret"), SessionId,
            "Is it (really) *safe*? Don't ask! 50% off/now", "llm_query_moderation", Timestamp, Nonce,
            (_, m) => logs.Add(m));

        Param(ps, "ServiceParameters").Should().Be(
            "{\"sessionId\":\"0f6c2d1e-7a3b-4c5d-8e9f-a0b1c2d3e4f5\",\"content\":\"Is it (really) *safe*? Don't ask! 50% off/now\"}");
        Param(ps, "Signature").Should().Be("gAtL2f7Fp/InyPoaXSRlkEi8Bp0=");
        ps[^1].Key.Should().Be("Signature");

        // the string to sign is logged at debug level; the sub-delimiters are escaped in it
        logs.Should().ContainSingle().Which.Should().StartWith("string to calculate signature: POST&%2F&AccessKeyId%3Dtestid%26Action%3DTextModerationPlus")
            .And.Contain("%2528really%2529%2520%252Asafe%252A%253F%2520Don%2527t%2520ask%2521");

        // ngx.encode_args leaves !'()* alone in the body, as ngx_lua does
        AiAliyunContentModerationPlugin.EncodeArgs(ps).Should().Be(
            "AccessKeyId=testid&Action=TextModerationPlus&Format=JSON&RegionId=cn-shanghai&Service=llm_query_moderation"
            + "&ServiceParameters=%7B%22sessionId%22%3A%220f6c2d1e-7a3b-4c5d-8e9f-a0b1c2d3e4f5%22%2C%22content%22%3A%22Is%20it%20(really)%20*safe*%3F%20Don't%20ask!%2050%25%20off%2Fnow%22%7D"
            + "&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0"
            + "&Timestamp=2026-01-02T03%3A04%3A05Z&Version=2022-03-02&Signature=gAtL2f7Fp%2FInyPoaXSRlkEi8Bp0%3D");
    }

    [Fact]
    public void Signature_over_utf8_content_and_secret_signs_their_bytes()
    {
        var ps = AiAliyunContentModerationPlugin.BuildParams(Conf(Utf8("sëcret")), "s-1",
            Utf8("héllo wörld"), "llm_query_moderation", Timestamp, Nonce);
        ByteString.ToUtf8Text(Param(ps, "ServiceParameters")).Should().Be("{\"sessionId\":\"s-1\",\"content\":\"héllo wörld\"}");
        Param(ps, "Signature").Should().Be("dsu+4mtk3bTYhxafXo5xoK92mQM=");
    }

    [Fact]
    public void The_signature_does_not_depend_on_the_order_of_the_params()
    {
        var ps = AiAliyunContentModerationPlugin.BuildParams(Conf("testsecret"), SessionId, "x", "svc", Timestamp, Nonce);
        var unsigned = ps.Where(p => p.Key != "Signature").ToList();
        var reversed = Enumerable.Reverse(unsigned).ToList();
        AiAliyunContentModerationPlugin.CalculateSign(reversed, "testsecret&").Should().Be(Param(ps, "Signature"));
        AiAliyunContentModerationPlugin.CalculateSign(reversed, "othersecret&").Should().NotBe(Param(ps, "Signature"));
    }

    [Fact]
    public void Url_encoding_escapes_what_ngx_escape_uri_keeps()
    {
        NgxArgs.EscapeUri("a-b_c.d~e!f'g(h)i*j k/l").Should().Be("a-b_c.d~e!f'g(h)i*j%20k%2Fl");
        AiAliyunContentModerationPlugin.UrlEncoding("a-b_c.d~e!f'g(h)i*j k/l").Should().Be("a-b_c.d~e%21f%27g%28h%29i%2Aj%20k%2Fl");
        NgxEncodeArgs.Encode(new JsonObject { ["q"] = "it's (ok)!*" }).Should().Be("q=it's%20(ok)!*");
    }

    [Fact]
    public void Utf8_sub_counts_characters()
    {
        var s = Utf8("héllo wörld");
        ByteString.ToUtf8Text(AiAliyunContentModerationPlugin.Utf8Sub(s, 1, 5)).Should().Be("héllo");
        ByteString.ToUtf8Text(AiAliyunContentModerationPlugin.Utf8Sub(s, 7, 100)).Should().Be("wörld");
        ByteString.ToUtf8Text(AiAliyunContentModerationPlugin.Utf8Sub(s, -5, -1)).Should().Be("wörld");
        AiAliyunContentModerationPlugin.Utf8Sub(s, 12, 20).Should().Be("");
        AiAliyunContentModerationPlugin.Utf8Sub("", 1, 3).Should().Be("");
    }

    [Fact]
    public void Schema_defaults_and_required_fields()
    {
        var plugin = new AiAliyunContentModerationPlugin();
        var conf = new JsonObject { ["endpoint"] = "http://x", ["region_id"] = "r", ["access_key_id"] = "i", ["access_key_secret"] = "s" };
        plugin.CheckSchema(conf, Apisix.Core.Plugins.SchemaType.Plugin).Ok.Should().BeTrue();
        CJson.Encode(conf["stream_check_mode"]).Should().Be("\"final_packet\"");
        JsonScalars.TryGetNumber(conf["deny_code"], out var code).Should().BeTrue();
        code.Should().Be(200);
        conf["check_request"]!.GetValue<bool>().Should().BeTrue();
        conf["check_response"]!.GetValue<bool>().Should().BeFalse();
        conf["fail_mode"]!.GetValue<string>().Should().Be("skip");

        var (ok, err) = plugin.CheckSchema(new JsonObject { ["endpoint"] = "http://x" }, Apisix.Core.Plugins.SchemaType.Plugin);
        ok.Should().BeFalse();
        err.Should().Contain("region_id");
        plugin.Schema["encrypt_fields"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("access_key_secret");
    }
}
