using System.Text.Json.Nodes;
using Apisix.Core.OpenResty.Libs;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

// The expected signatures below were computed with Python's hashlib/hmac from the SigV4
// definition (the same script reproduces AWS's published "get-vanilla" suite value), not
// with this code.
public class RestyAwsTests
{
    private static readonly DateTimeOffset At = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static RestyAws.Request ComprehendRequest() =>
        RestyAws.BuildJsonRequest("http://localhost", 2668, "Comprehend_20171127", "DetectToxicContent", "1.1",
            new JsonObject
            {
                ["LanguageCode"] = "en",
                ["TextSegments"] = new JsonArray(new JsonObject { ["Text"] = "a/b toxic?" }),
            });

    [Fact]
    public void Signs_the_aws_suite_get_vanilla_request()
    {
        var request = new RestyAws.Request { Method = "GET", Path = "/", Host = "example.amazonaws.com", Port = 443, Tls = true };
        var (signed, err) = RestyAws.SignV4(
            new RestyAws.SigningConfig("us-east-1", "service", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null),
            request, new DateTimeOffset(2015, 8, 30, 12, 36, 0, TimeSpan.Zero));

        err.Should().BeNull();
        signed!.Signature.Should().Be("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        signed.Request.Headers["Authorization"].Should().Be(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    }

    [Fact]
    public void Builds_a_json_protocol_request_as_lua_resty_aws_does()
    {
        var r = ComprehendRequest();

        r.Method.Should().Be("POST");
        r.Path.Should().Be("/");
        r.Host.Should().Be("localhost");
        r.Port.Should().Be(2668);
        r.Tls.Should().BeFalse();
        // a fresh cjson instance escapes the slash
        r.Body.Should().Be("{\"LanguageCode\":\"en\",\"TextSegments\":[{\"Text\":\"a\\/b toxic?\"}]}");
        r.Headers.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["Host"] = "localhost:2668",
            ["X-Amz-Target"] = "Comprehend_20171127.DetectToxicContent",
            ["Content-Type"] = "application/x-amz-json-1.1",
            ["Content-Length"] = "61",
        });
    }

    [Fact]
    public void Signs_every_header_of_a_comprehend_call()
    {
        var (signed, err) = RestyAws.SignV4(
            new RestyAws.SigningConfig("us-east-1", "comprehend", "access", "ea+secret", null), ComprehendRequest(), At);

        err.Should().BeNull();
        signed!.CanonicalRequest.Should().Be(
            "POST\n/\n\ncontent-length:61\ncontent-type:application/x-amz-json-1.1\nhost:localhost:2668\n"
            + "x-amz-date:20240102T030405Z\nx-amz-target:Comprehend_20171127.DetectToxicContent\n\n"
            + "content-length;content-type;host;x-amz-date;x-amz-target\n"
            + "031aeb461fbdbb416819e741e5dd31bc80b034b7dd84a0416e447fb15b0ef114");
        signed.Signature.Should().Be("10fb0db1ddff6294eae4785f8210a07c33bfee0c1d8ad028a67f6454747f1c4c");
        signed.Request.Headers["X-Amz-Date"].Should().Be("20240102T030405Z");
        signed.Request.Headers["Host"].Should().Be("localhost:2668");
        signed.Request.Headers["Authorization"].Should().StartWith(
            "AWS4-HMAC-SHA256 Credential=access/20240102/us-east-1/comprehend/aws4_request, ");
    }

    [Fact]
    public void A_session_token_is_sent_and_signed_trimmed()
    {
        var (signed, _) = RestyAws.SignV4(
            new RestyAws.SigningConfig("us-east-1", "comprehend", "access", "ea+secret", "tok en "), ComprehendRequest(), At);

        signed!.SignedHeaders.Should().Be("content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
        signed.Signature.Should().Be("937949fb69f5ba83963f8d8ba74d7cea6a62d2cd3626fffb159d67b3461fa590");
        signed.Request.Headers["X-Amz-Security-Token"].Should().Be("tok en ");
    }

    [Fact]
    public void A_given_authorization_header_is_kept_and_names_differing_in_case_collide()
    {
        var r = ComprehendRequest();
        r.Headers["authorization"] = "mine";
        var (signed, _) = RestyAws.SignV4(new RestyAws.SigningConfig("r", "s", "a", "k", null), r, At);
        signed!.Request.Headers["Authorization"].Should().Be("mine");

        var c = ComprehendRequest();
        c.Headers["X-AMZ-Target"] = "other";
        RestyAws.SignV4(new RestyAws.SigningConfig("r", "s", "a", "k", null), c, At).Error.Should().Be("header collision");
    }

    [Theory]
    [InlineData("https://comprehend.us-east-1.amazonaws.com", null, "comprehend.us-east-1.amazonaws.com", 443, true, "comprehend.us-east-1.amazonaws.com")]
    [InlineData("https://h", 8443, "h", 8443, true, "h:8443")]
    [InlineData("http://h", 80, "h", 80, false, "h")]
    [InlineData("h", null, "h", 443, true, "h")]
    public void Host_port_and_host_header(string endpoint, int? port, string host, int p, bool tls, string header)
    {
        RestyAws.GetHostPort(endpoint, port).Should().Be((host, p, tls, header));
    }

    [Theory]
    [InlineData("/", "/")]
    [InlineData("", "/")]
    [InlineData("/a//./b c/", "/a/b%20c/")]
    [InlineData("/a%2Fb/%7e", "/a%2Fb/~")]
    public void Canonical_path(string path, string expected) => RestyAws.CanonicalisePath(path).Should().Be(expected);

    [Fact]
    public void Canonical_query_and_title_case()
    {
        RestyAws.CanonicaliseQueryString(new Dictionary<string, string> { ["b"] = "x y", ["a"] = "1" })
            .Should().Be("a=1&b=x%20y");
        RestyAws.TitleCase("x-amz-security-token").Should().Be("X-Amz-Security-Token");
        RestyAws.TitleCase("content-TYPE").Should().Be("Content-TYPE");
    }
}
