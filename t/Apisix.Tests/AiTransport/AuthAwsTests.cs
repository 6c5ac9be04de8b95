using System.Text.Json.Nodes;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

public class AuthAwsTests
{
    private static readonly DateTimeOffset Fixed = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    [Fact]
    public void Sign_matches_the_documented_iam_list_users_example()
    {
        // the worked example in AWS's "Signature Version 4" documentation (IAM ListUsers)
        var headers = new Dictionary<string, string>
        {
            ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8",
            ["Host"] = "iam.amazonaws.com",
            ["X-Amz-Date"] = "20150830T123600Z",
        };
        var query = new[] { new KeyValuePair<string, string>("Version", "2010-05-08"), new("Action", "ListUsers") };
        var sig = AuthAws.Sign("GET", "/", query, headers, [], "AKIDEXAMPLE", Secret, "us-east-1", "iam", Fixed);

        sig.CanonicalRequest.Should().Be(
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            + "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            + "content-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sig.StringToSign.Should().EndWith("\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
        sig.Signature_.Should().Be("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
        sig.Authorization.Should().Be("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                                      + "SignedHeaders=content-type;host;x-amz-date, "
                                      + "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    }

    [Fact]
    public void Sign_changes_with_the_body()
    {
        var headers = new Dictionary<string, string> { ["host"] = "h", ["x-amz-date"] = "20150830T123600Z" };
        var a = AuthAws.Sign("POST", "/", [], headers, "{}"u8.ToArray(), "AK", Secret, "us-east-1", "bedrock", Fixed);
        var b = AuthAws.Sign("POST", "/", [], headers, "{ }"u8.ToArray(), "AK", Secret, "us-east-1", "bedrock", Fixed);
        a.Signature_.Should().NotBe(b.Signature_);
    }

    [Theory]
    [InlineData("/model/arn:aws:bedrock:us-east-1:1:application-inference-profile/x/converse", 1,
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile/x/converse")]
    [InlineData("/model/a.b-v2%3A0/converse", 1, "/model/a.b-v2%3A0/converse")]
    [InlineData("/model/a.b-v2:0/converse", 2, "/model/a.b-v2%253A0/converse")]
    [InlineData("/model/a%2Fb/converse", 1, "/model/a%2Fb/converse")]
    [InlineData("//x//", 1, "//x//")]
    public void Path_is_escaped_per_segment_and_idempotent(string path, int times, string expected)
    {
        AuthAws.NormalizeAndEncodePath(path, times).Should().Be(expected);
    }

    [Fact]
    public void SignRequest_adds_headers_encodes_body_and_escapes_path()
    {
        var p = new AiHttpParams
        {
            Method = "POST",
            Host = "bedrock-runtime.us-east-1.amazonaws.com",
            Port = 443,
            Path = "/model/anthropic.claude-3-5-sonnet-20241022-v2:0/converse",
            Body = new JsonObject { ["messages"] = new JsonArray() },
        };
        p.Headers["host"] = "bedrock-runtime.us-east-1.amazonaws.com";
        var aws = new JsonObject { ["access_key_id"] = "AKIDEXAMPLE", ["secret_access_key"] = Secret, ["session_token"] = "tok" };

        AuthAws.SignRequest(p, aws, "us-east-1", Fixed).Should().BeNull();

        p.Path.Should().Be("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse");
        p.Body.Should().Be("{\"messages\":[]}");
        p.Headers["x-amz-date"].Should().Be("20150830T123600Z");
        p.Headers["x-amz-security-token"].Should().Be("tok");
        p.Headers.Should().ContainKey("Host").And.NotContainKey("host");
        p.Headers["authorization"].Should().StartWith(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=");
        p.Headers["authorization"].Should().MatchRegex("Signature=[0-9a-f]{64}$");

        // the same request signed by hand gives the same signature
        var expected = AuthAws.Sign("POST", "/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse", [],
            new Dictionary<string, string>
            {
                ["host"] = "bedrock-runtime.us-east-1.amazonaws.com",
                ["x-amz-date"] = "20150830T123600Z",
                ["x-amz-security-token"] = "tok",
            },
            "{\"messages\":[]}"u8.ToArray(), "AKIDEXAMPLE", Secret, "us-east-1", "bedrock", Fixed);
        p.Headers["authorization"].Should().Be(expected.Authorization);
    }

    [Fact]
    public void SignRequest_signs_and_sends_the_host_without_the_port_as_lua_resty_aws_does()
    {
        var p = new AiHttpParams { Method = "POST", Host = "127.0.0.1", Port = 1980, Path = "/model/m/converse", Body = new JsonObject() };
        var aws = new JsonObject { ["access_key_id"] = "AKIDEXAMPLE", ["secret_access_key"] = Secret };

        AuthAws.SignRequest(p, aws, "us-east-1", Fixed).Should().BeNull();

        p.Headers["Host"].Should().Be("127.0.0.1", "Lua APISIX's mock upstream sees host: \"127.0.0.1\" for a bedrock endpoint on :1980");
        var expected = AuthAws.Sign("POST", "/model/m/converse", [],
            new Dictionary<string, string> { ["host"] = "127.0.0.1", ["x-amz-date"] = "20150830T123600Z" },
            "{}"u8.ToArray(), "AKIDEXAMPLE", Secret, "us-east-1", "bedrock", Fixed);
        p.Headers["authorization"].Should().Be(expected.Authorization);
    }

    [Fact]
    public void SignRequest_rejects_bad_input_with_a_message()
    {
        var p = new AiHttpParams { Path = "/x", Host = "h" };
        AuthAws.SignRequest(p, null, "us-east-1").Should().Contain("aws_conf");
        AuthAws.SignRequest(p, new JsonObject(), "").Should().Contain("region");
        AuthAws.SignRequest(new AiHttpParams { Host = "h" }, new JsonObject(), "us-east-1").Should().Contain("path");
    }
}
