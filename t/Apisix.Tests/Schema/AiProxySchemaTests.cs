using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Schema;
using FluentAssertions;
using Xunit;
using AiProxySchema = Apisix.Plugins.AiProxy.AiProxy.Schema;

namespace Apisix.Tests.Schema;

/// <summary>
/// The ported ai-proxy / ai-proxy-multi schemas on configs like the ones the
/// upstream test files check, with the messages those files expect.
/// </summary>
public class AiProxySchemaTests
{
    private static readonly JsonObject Single = AiProxySchema.AiProxySchema();
    private static readonly JsonObject Multi = AiProxySchema.AiProxyMultiSchema();

    private static (bool Ok, string? Error) CheckSingle(JsonNode conf) => JsonSchema.Check(Single, conf);

    private static (bool Ok, string? Error) CheckMulti(JsonNode conf) => JsonSchema.Check(Multi, conf);

    private static JsonObject Conf(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void MinimalConfigPassesAndGetsDefaults()
    {
        var conf = Conf("""{"provider":"openai","auth":{"header":{"Authorization":"Bearer t"}},"options":{"model":"gpt-4"}}""");
        CheckSingle(conf).Should().Be((true, (string?)null));
        CJson.Encode(conf).Should().Be(
            """{"provider":"openai","auth":{"header":{"Authorization":"Bearer t"}},"options":{"model":"gpt-4"},"timeout":30000,"max_req_body_size":67108864,"keepalive":true,"keepalive_timeout":60000,"keepalive_pool":30,"streaming_flush_interval_ms":10,"ssl_verify":true}""");
    }

    [Fact]
    public void OverrideAndGcpDefaults()
    {
        var conf = Conf("""
            {"provider":"vertex-ai","auth":{"gcp":{"service_account_json":"{}"}},
             "override":{"endpoint":"http://127.0.0.1:1980"}}
            """);
        CheckSingle(conf).Ok.Should().BeTrue();
        conf["override"]!["request_body_force_override"]!.GetValue<bool>().Should().BeFalse();
        conf["auth"]!["gcp"]!["expire_early_secs"]!.GetValue<long>().Should().Be(60);
    }

    [Theory]
    [InlineData("""{"provider":"some-unique","auth":{"header":{"h":"v"}}}""",
        "property \"provider\" validation failed: matches none of the enum values")]
    [InlineData("""{"provider":"openai"}""",
        "property \"auth\" is required")]
    [InlineData("""{"provider":"openai","auth":{"bearer":"x"}}""",
        "property \"auth\" validation failed: additional properties forbidden, found bearer")]
    [InlineData("""{"provider":"openai","auth":{"header":{"Authorization":1}}}""",
        "property \"auth\" validation failed: failed to validate header (matching \"header\"): failed to validate Authorization (matching \"^[a-zA-Z0-9._-]+$\"): wrong type: expected string, got number")]
    [InlineData("""{"provider":"bedrock","auth":{"aws":{"access_key_id":"k"}}}""",
        "property \"auth\" validation failed: failed to validate aws (matching \"aws\"): property \"secret_access_key\" is required")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"override":{"endpoint":"http://x","llm_options":{"temperature":0.5}}}""",
        "property \"override\" validation failed: property \"llm_options\" validation failed: additional properties forbidden, found temperature")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"override":{"request_body":{"not-a-protocol":{"x":1}}}}""",
        "property \"override\" validation failed: property \"request_body\" validation failed: additional properties forbidden, found not-a-protocol")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"override":{"endpoint":""}}""",
        "property \"override\" validation failed: property \"endpoint\" validation failed: string too short, expected at least 1, got 0")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"streaming_flush_interval_ms":-1}""",
        "property \"streaming_flush_interval_ms\" validation failed: expected -1 to be at least 0")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"timeout":600001}""",
        "property \"timeout\" validation failed: expected 600001 to be at most 600000")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"keepalive_timeout":1.5}""",
        "property \"keepalive_timeout\" validation failed: wrong type: expected integer, got number")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"ssl_verify":"no"}""",
        "property \"ssl_verify\" validation failed: wrong type: expected boolean, got string")]
    [InlineData("""{"provider":"openai","auth":{"header":{"a":"b"}},"override":{"llm_options":{"max_tokens":0}}}""",
        "property \"override\" validation failed: property \"llm_options\" validation failed: property \"max_tokens\" validation failed: expected 0 to be at least 1")]
    public void SingleRejects(string json, string message)
    {
        CheckSingle(Conf(json)).Should().Be((false, message));
    }

    [Fact]
    public void RequestBodyOverrideAcceptsKnownProtocols()
    {
        var conf = Conf("""
            {"provider":"openai","auth":{"header":{"a":"b"}},
             "override":{"request_body":{"openai-chat":{"temperature":0.2},"anthropic-messages":{}}}}
            """);
        CheckSingle(conf).Should().Be((true, (string?)null));
    }

    [Fact]
    public void SecretRefsInAuthAreAccepted()
    {
        var conf = Conf("""{"provider":"openai","auth":{"header":{"Authorization":"$secret://vault/1/openai"}}}""");
        CheckSingle(conf).Should().Be((true, (string?)null));
        // An integer field does not take a reference.
        CheckSingle(Conf("""{"provider":"openai","auth":{"header":{"a":"b"}},"timeout":"$env://T"}"""))
            .Should().Be((false, "property \"timeout\" validation failed: wrong type: expected integer, got string"));
    }

    [Fact]
    public void MultiMinimalConfigGetsDefaults()
    {
        var conf = Conf("""
            {"instances":[{"name":"openai-official","provider":"openai","options":{"model":"gpt-4"},
                           "weight":1,"auth":{"header":{"some_header":"some_value"}}}]}
            """);
        CheckMulti(conf).Should().Be((true, (string?)null));
        CJson.Encode(conf["balancer"]).Should().Be("""{"algorithm":"roundrobin"}""");
        conf["instances"]![0]!["priority"]!.GetValue<long>().Should().Be(0);
        conf["timeout"]!.GetValue<long>().Should().Be(30000);
    }

    [Fact]
    public void MultiBalancerGivenGetsHashOnDefault()
    {
        var conf = Conf("""
            {"balancer":{"algorithm":"chash","key":"remote_addr"},
             "instances":[{"name":"a","provider":"deepseek","weight":0,"auth":{"query":{"key":"v"}}}]}
            """);
        CheckMulti(conf).Ok.Should().BeTrue();
        CJson.Encode(conf["balancer"]).Should().Be("""{"algorithm":"chash","key":"remote_addr","hash_on":"vars"}""");
    }

    [Fact]
    public void MultiHealthCheckDefaults()
    {
        var conf = Conf("""
            {"instances":[{"name":"a","provider":"openai","weight":1,"auth":{"header":{"k":"v"}},
                           "checks":{"active":{"healthy":{}}}}]}
            """);
        CheckMulti(conf).Ok.Should().BeTrue();
        CJson.Encode(conf["instances"]![0]!["checks"]!["active"]).Should().Be(
            """{"healthy":{"interval":1,"http_statuses":[200,302],"successes":2},"type":"http","timeout":1,"concurrency":10,"http_path":"/","https_verify_certificate":true}""");
    }

    [Theory]
    [InlineData("""{"instances":[{"name":"self-hosted","provider":"some-unique","weight":1,"auth":{"header":{"h":"v"}}}]}""",
        "property \"instances\" validation failed: failed to validate item 1: property \"provider\" validation failed: matches none of the enum values")]
    [InlineData("""{"instances":[]}""",
        "property \"instances\" validation failed: expect array to have at least 1 items")]
    [InlineData("""{}""",
        "property \"instances\" is required")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}},{"provider":"openai","weight":1,"auth":{}}]}""",
        "property \"instances\" validation failed: failed to validate item 2: property \"name\" is required")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","auth":{}}]}""",
        "property \"instances\" validation failed: failed to validate item 1: property \"weight\" is required")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","weight":-1,"auth":{}}]}""",
        "property \"instances\" validation failed: failed to validate item 1: property \"weight\" validation failed: expected -1 to be at least 0")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{},"checks":{}}]}""",
        "property \"instances\" validation failed: failed to validate item 1: property \"checks\" validation failed: property \"active\" is required")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{},"checks":{"active":{"healthy":{"http_statuses":[200,200]}}}}]}""",
        "property \"instances\" validation failed: failed to validate item 1: property \"checks\" validation failed: property \"active\" validation failed: property \"healthy\" validation failed: property \"http_statuses\" validation failed: expected unique items but items 1 and 2 are equal")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{},"checks":{"active":{"host":"a b"}}}]}""",
        "property \"instances\" validation failed: failed to validate item 1: property \"checks\" validation failed: property \"active\" validation failed: property \"host\" validation failed: failed to match pattern \"^\\\\*$|^\\\\*?[0-9a-zA-Z-._\\\\[\\\\]:]+$\" with \"a b\"")]
    [InlineData("""{"balancer":{"algorithm":"random"},"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}]}""",
        "property \"balancer\" validation failed: property \"algorithm\" validation failed: matches none of the enum values")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"fallback_strategy":"sometimes"}""",
        "property \"fallback_strategy\" validation failed: object matches none of the required")]
    [InlineData("""{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"fallback_strategy":["http_429","never"]}""",
        "property \"fallback_strategy\" validation failed: object matches none of the required")]
    public void MultiRejects(string json, string message)
    {
        CheckMulti(Conf(json)).Should().Be((false, message));
    }

    [Theory]
    [InlineData("\"http_429\"")]
    [InlineData("[\"rate_limiting\",\"http_5xx\"]")]
    [InlineData("[]")]
    public void MultiFallbackStrategyForms(string strategy)
    {
        var conf = Conf("""{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"fallback_strategy":""" + strategy + "}");
        CheckMulti(conf).Should().Be((true, (string?)null));
    }

    [Theory]
    [InlineData("""{"provider":"vertex-ai","auth":{}}""",
        "vertex-ai requires either provider_conf (project_id + region) or override.endpoint")]
    [InlineData("""{"provider":"vertex-ai","auth":{},"provider_conf":{"project_id":"p"}}""",
        "vertex-ai requires either provider_conf (project_id + region) or override.endpoint")]
    [InlineData("""{"provider":"bedrock","auth":{"aws":{"access_key_id":"a","secret_access_key":"s"}}}""",
        "bedrock requires provider_conf.region")]
    [InlineData("""{"provider":"bedrock","auth":{"header":{"a":"b"}},"provider_conf":{"region":"us-east-1"}}""",
        "bedrock requires auth.aws")]
    public void ProviderRequirementsRejects(string json, string message)
    {
        AiProxySchema.ValidateProviderRequirements(Conf(json)).Should().Be((false, message));
    }

    [Theory]
    [InlineData("""{"provider":"vertex-ai","auth":{},"provider_conf":{"project_id":"p","region":"r"}}""")]
    [InlineData("""{"provider":"vertex-ai","auth":{},"override":{"endpoint":"http://x"}}""")]
    [InlineData("""{"provider":"bedrock","auth":{"aws":{}},"provider_conf":{"region":"us-east-1"}}""")]
    [InlineData("""{"provider":"openai","auth":{}}""")]
    public void ProviderRequirementsPass(string json)
    {
        AiProxySchema.ValidateProviderRequirements(Conf(json)).Should().Be((true, (string?)null));
    }
}
