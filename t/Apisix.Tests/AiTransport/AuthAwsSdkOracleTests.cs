using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;
using Amazon.Runtime.Signing;
using Amazon.Util;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProviders;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

/// <summary>
/// The official AWS SDK for .NET (AWSSDK.Core 4.1.0, test project only) as the oracle for the
/// SigV4 signature our Bedrock provider puts on a Converse / ConverseStream request.
/// <para>
/// The product side is built the way <c>ProviderBase.BuildRequest</c> builds it: the path comes from
/// the Bedrock provider's own <c>bedrock-converse</c> capability, the host from its host function,
/// the forwarded headers carry <c>content-type</c>, the body is the JSON table, and
/// <see cref="AuthAws.SignRequest"/> signs it (port of <c>ai-transport/auth-aws.lua</c>).
/// </para>
/// <para>
/// The SDK side is built the way the SDK's own <c>ConverseRequestMarshaller</c> builds it: resource
/// path <c>/model/{modelId}/converse</c> with the raw model id as a path resource, so the SDK does
/// its own (double) encoding of the model id for the canonical URI, independently of ours.
/// </para>
/// <para>
/// One known, deliberate difference: the SDK always adds and signs <c>x-amz-content-sha256</c>;
/// upstream APISIX (lua-resty-aws <c>request/signatures/v4.lua</c>) only does that for S3, so it
/// signs <c>host;x-amz-date[;x-amz-security-token]</c>, and so do we. Both are valid SigV4 for
/// Bedrock (the header is optional outside S3; the payload hash is in the canonical request either
/// way). The exact-equality test therefore runs the SDK's canonicalizer and signature code over the
/// header set the product signs; the facade test runs the SDK end to end and checks that ours gives
/// the SDK's signature when handed the SDK's header set.
/// </para>
/// </summary>
public class AuthAwsSdkOracleTests
{
    private const string Region = "us-east-1";
    private const string Host = "bedrock-runtime.us-east-1.amazonaws.com";
    private const string AccessKey = "AKIDEXAMPLE";
    private const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private const string SessionToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/session+token==";
    private const string ArnModel =
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0";
    private const string PlainModel = "anthropic.claude-3-5-sonnet-20241022-v2:0";

    private static readonly DateTimeOffset SignedAt = new(2024, 7, 1, 8, 9, 10, TimeSpan.Zero);

    public static TheoryData<string, bool, bool> Cases() => new()
    {
        { ArnModel, false, false },
        { ArnModel, false, true },
        { ArnModel, true, false },
        { ArnModel, true, true },
        { PlainModel, false, true },
        { PlainModel, true, false },
    };

    private static JsonObject Body(string text = "Hello, Bedrock") => new()
    {
        ["messages"] = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["text"] = text }),
        }),
        ["inferenceConfig"] = new JsonObject { ["maxTokens"] = 256 },
    };

    /// <summary>The request as <c>ProviderBase.BuildRequest</c> hands it to the signer, then signed by the product.</summary>
    private static AiHttpParams ProductSigned(string model, bool stream, bool withToken, JsonObject? body = null)
    {
        var conf = new JsonObject { ["region"] = Region };
        var cap = Bedrock.Instance.Capabilities["bedrock-converse"];
        var ctx = new ProtocolCtx
        {
            Var = name => name switch
            {
                "llm_model" => model,
                "request_type" => stream ? "ai_stream" : "ai_chat",
                _ => null,
            },
        };
        var p = new AiHttpParams
        {
            Method = "POST",
            Scheme = "https",
            Headers = new Dictionary<string, string>(StringComparer.Ordinal) { ["content-type"] = "application/json" },
            Path = cap.Path!(conf, ctx),
            Host = cap.Host!(conf, ctx),
            Port = 443,
            Body = body ?? Body(),
        };
        var aws = new JsonObject { ["access_key_id"] = AccessKey, ["secret_access_key"] = SecretKey };
        if (withToken) aws["session_token"] = SessionToken;

        AuthAws.SignRequest(p, aws, Region, SignedAt).Should().BeNull();
        p.Body.Should().BeOfType<string>("SignRequest leaves the exact body bytes it signed");
        return p;
    }

    private static string ResourcePath(bool stream) => stream ? "/model/{modelId}/converse-stream" : "/model/{modelId}/converse";

    /// <summary>The request as the SDK's ConverseRequestMarshaller builds it (minus the headers the product does not sign).</summary>
    private static DefaultRequest SdkRequest(string model, bool stream, bool withToken, byte[] body)
    {
        var request = new DefaultRequest(new OracleRequest(), "Amazon.BedrockRuntime")
        {
            HttpMethod = "POST",
            Endpoint = new Uri("https://" + Host),
            ResourcePath = ResourcePath(stream),
            Content = body,
        };
        request.AddPathResource("{modelId}", model);
        // what the SDK's Signer pipeline handler does for session credentials on a REST protocol
        if (withToken) request.Headers[HeaderKeys.XAmzSecurityTokenHeader] = SessionToken;
        return request;
    }

    private static (string Scope, string SignedHeaders, string Signature) ParseAuthorization(string authorization)
    {
        authorization.Should().StartWith("AWS4-HMAC-SHA256 ");
        var parts = authorization["AWS4-HMAC-SHA256 ".Length..].Split(", ")
            .Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        var credential = parts["Credential"];
        credential.Should().StartWith(AccessKey + "/");
        return (credential[(AccessKey.Length + 1)..], parts["SignedHeaders"], parts["Signature"]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Product_signature_equals_the_sdk_signer_over_the_same_request(string model, bool stream, bool withToken)
    {
        var p = ProductSigned(model, stream, withToken);
        var body = Encoding.UTF8.GetBytes((string)p.Body!);

        var sdkRequest = SdkRequest(model, stream, withToken, body);
        var (canonical, sdk) = SdkSigV4.Sign(sdkRequest, SignedAt.UtcDateTime, Region, "bedrock", AccessKey, SecretKey,
            signContentSha256: false);

        // the path on the wire: the SDK resolves the model id label into a once-encoded segment
        p.Path.Should().Be(AWSSDKUtils.ResolveResourcePathV2(ResourcePath(stream), sdkRequest.PathResources));

        p.Headers["authorization"].Should().Be(sdk.ForAuthorizationHeader,
            "the SDK's canonical request was:\n{0}", canonical);
        p.Headers["x-amz-date"].Should().Be(sdkRequest.Headers[HeaderKeys.XAmzDateHeader]).And.Be("20240701T080910Z");
        if (withToken)
        {
            p.Headers["x-amz-security-token"].Should().Be(sdkRequest.Headers[HeaderKeys.XAmzSecurityTokenHeader]);
        }
        else
        {
            p.Headers.Should().NotContainKey("x-amz-security-token");
        }
        p.Headers.Keys.Should().NotContain(k => k.Equals("x-amz-content-sha256", StringComparison.OrdinalIgnoreCase));
        p.Headers["Host"].Should().Be(sdkRequest.Headers[HeaderKeys.HostHeader]);

        var (scope, signedHeaders, _) = ParseAuthorization(p.Headers["authorization"]);
        scope.Should().Be("20240701/us-east-1/bedrock/aws4_request");
        signedHeaders.Should().Be(withToken ? "host;x-amz-date;x-amz-security-token" : "host;x-amz-date");

        // the canonical URI is the model id encoded twice, as SigV4 wants for every service but S3
        var canonicalUri = canonical.Split('\n')[1];
        canonicalUri.Should().Be(AuthAws.NormalizeAndEncodePath(p.Path!, 2));
        if (model == ArnModel)
        {
            canonicalUri.Should().Be("/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile"
                                     + "%252Fus.anthropic.claude-3-5-sonnet-20240620-v1%253A0/" + (stream ? "converse-stream" : "converse"));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sdk_end_to_end_signer_agrees_with_ours_given_its_header_set(string model, bool stream, bool withToken)
    {
        var p = ProductSigned(model, stream, withToken);
        var body = Encoding.UTF8.GetBytes((string)p.Body!);

        // the SDK's public SigV4 facade, fed the exact URL and body the product sends on the wire
        var sdkRequest = new AWSSigningRequest
        {
            HttpMethod = HttpMethod.Post,
            RequestUri = new Uri("https://" + Host + p.Path),
            Content = body,
        };
        AWSCredentials credentials = withToken
            ? new SessionAWSCredentials(AccessKey, SecretKey, SessionToken)
            : new BasicAWSCredentials(AccessKey, SecretKey);
        var sdk = AWSSigV4Signer.Sign(sdkRequest, new AWSSigV4Parameters
        {
            Credentials = credentials,
            Region = RegionEndpoint.USEast1,
            Service = "bedrock",
            SignedAt = SignedAt.UtcDateTime,
        });
        var sdkHeaders = new Dictionary<string, string>(sdk.Headers, StringComparer.OrdinalIgnoreCase);

        var bodySha = Convert.ToHexStringLower(SHA256.HashData(body));
        sdkHeaders[HeaderKeys.XAmzContentSha256Header].Should().Be(bodySha);
        sdkHeaders[HeaderKeys.XAmzDateHeader].Should().Be(p.Headers["x-amz-date"]);
        if (withToken) sdkHeaders[HeaderKeys.XAmzSecurityTokenHeader].Should().Be(p.Headers["x-amz-security-token"]);
        else sdkHeaders.Should().NotContainKey(HeaderKeys.XAmzSecurityTokenHeader);

        var ours = ParseAuthorization(p.Headers["authorization"]);
        var theirs = ParseAuthorization(sdkHeaders[HeaderKeys.AuthorizationHeader]);
        theirs.Scope.Should().Be(ours.Scope);
        // the documented difference: the SDK also signs x-amz-content-sha256, upstream APISIX does not
        theirs.SignedHeaders.Should().Be(withToken
            ? "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
            : "host;x-amz-content-sha256;x-amz-date");
        ours.SignedHeaders.Should().Be(theirs.SignedHeaders.Replace("x-amz-content-sha256;", ""));

        // our signer, over the product's wire path and the SDK's header set, gives the SDK's signature
        var toSign = new Dictionary<string, string>
        {
            ["host"] = p.Headers["Host"],
            ["x-amz-content-sha256"] = bodySha,
            ["x-amz-date"] = p.Headers["x-amz-date"],
        };
        if (withToken) toSign["x-amz-security-token"] = SessionToken;
        var again = AuthAws.Sign("POST", AuthAws.NormalizeAndEncodePath(p.Path!, 2), [], toSign, body,
            AccessKey, SecretKey, Region, "bedrock", SignedAt);
        again.Authorization.Should().Be(sdkHeaders[HeaderKeys.AuthorizationHeader],
            "our canonical request was:\n{0}", again.CanonicalRequest);
    }

    [Fact]
    public void A_different_body_gives_a_different_signature_on_both_sides()
    {
        var a = ProductSigned(ArnModel, false, true, Body("Hello, Bedrock"));
        var b = ProductSigned(ArnModel, false, true, Body("Hello, Bedrock!"));
        a.Path.Should().Be(b.Path);
        a.Headers["x-amz-date"].Should().Be(b.Headers["x-amz-date"]);
        a.Headers["authorization"].Should().NotBe(b.Headers["authorization"]);

        var sdkA = SdkSigV4.Sign(SdkRequest(ArnModel, false, true, Encoding.UTF8.GetBytes((string)a.Body!)),
            SignedAt.UtcDateTime, Region, "bedrock", AccessKey, SecretKey, signContentSha256: false).Result;
        var sdkB = SdkSigV4.Sign(SdkRequest(ArnModel, false, true, Encoding.UTF8.GetBytes((string)b.Body!)),
            SignedAt.UtcDateTime, Region, "bedrock", AccessKey, SecretKey, signContentSha256: false).Result;
        sdkA.ForAuthorizationHeader.Should().NotBe(sdkB.ForAuthorizationHeader);
        a.Headers["authorization"].Should().Be(sdkA.ForAuthorizationHeader);
        b.Headers["authorization"].Should().Be(sdkB.ForAuthorizationHeader);
    }

    [Fact]
    public void A_singly_encoded_canonical_uri_would_not_match_the_sdk()
    {
        // guards the oracle itself: the canonical URI matters, so a regression to single encoding is caught
        var p = ProductSigned(ArnModel, false, false);
        var body = Encoding.UTF8.GetBytes((string)p.Body!);
        var sdk = SdkSigV4.Sign(SdkRequest(ArnModel, false, false, body), SignedAt.UtcDateTime, Region, "bedrock",
            AccessKey, SecretKey, signContentSha256: false).Result;
        var headers = new Dictionary<string, string> { ["host"] = Host, ["x-amz-date"] = "20240701T080910Z" };

        AuthAws.Sign("POST", AuthAws.NormalizeAndEncodePath(p.Path!, 2), [], headers, body,
            AccessKey, SecretKey, Region, "bedrock", SignedAt).Authorization.Should().Be(sdk.ForAuthorizationHeader);
        AuthAws.Sign("POST", p.Path!, [], headers, body,
            AccessKey, SecretKey, Region, "bedrock", SignedAt).Authorization.Should().NotBe(sdk.ForAuthorizationHeader);
    }

    /// <summary>A stand-in for the SDK's ConverseRequest (DefaultRequest wants the originating request object).</summary>
    private sealed class OracleRequest : AmazonWebServiceRequest;

    /// <summary>
    /// <c>AWS4Signer.SignRequest</c> step by step, with the SDK's own helpers (some are protected, hence
    /// the subclass), minus the client config: a fixed signing time, and optionally without the
    /// <c>x-amz-content-sha256</c> header the SDK always adds (the payload hash stays in the canonical
    /// request either way).
    /// </summary>
    private sealed class SdkSigV4 : AWS4Signer
    {
        public static (string CanonicalRequest, AWS4SigningResult Result) Sign(
            IRequest request, DateTime signedAt, string region, string service, string accessKey, string secretKey,
            bool signContentSha256)
        {
            InitializeHeaders(request.Headers, request.Endpoint, signedAt);
            var canonicalQuery = CanonicalizeQueryParameters(GetParametersToCanonicalize(request));
            var bodyHash = SetRequestBodyHash(request, true, StreamingBodySha256, 64);
            if (!signContentSha256) request.Headers.Remove(HeaderKeys.XAmzContentSha256Header);
            var sortedHeaders = SortAndPruneHeaders(request.Headers);
            var canonicalRequest = CanonicalizeRequest(request.Endpoint, request.ResourcePath, request.HttpMethod,
                sortedHeaders, canonicalQuery, bodyHash, request.PathResources, request.UseDoubleEncoding);
            var result = ComputeSignature(accessKey, secretKey, region, signedAt, service,
                CanonicalizeHeaderNames(sortedHeaders), canonicalRequest);
            return (canonicalRequest, result);
        }
    }
}
