using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using Apisix.Core.Plugins.Builtin.JwtAuthImpl;
using Apisix.Core.Plugins.Builtin.LimitConnImpl;
using Apisix.Core.Plugins.Builtin.LimitReqImpl;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Plugins;

/// <summary>The schema rules and the engines of the tool plugins APISIX's core tests lean on.</summary>
public class ToolPluginsTests
{
    private static JsonObject Obj(string json) => (JsonObject)JsonNode.Parse(json)!;

    [Fact]
    public void Cors_refuses_a_wildcard_with_credentials_and_bad_regexes()
    {
        var cors = new CorsPlugin();
        cors.CheckSchema(Obj("""{"allow_credential":true,"allow_origins":"*"}"""), SchemaType.Plugin).Error
            .Should().Be("you can not set '*' for other option when 'allow_credential' is true");
        cors.CheckSchema(Obj("""{"allow_credential":true,"allow_origins":"http://a.test","allow_methods":"GET","allow_headers":"X-A"}"""), SchemaType.Plugin)
            .Ok.Should().BeTrue();
        cors.CheckSchema(Obj("""{"allow_origins_by_regex":["(unclosed"]}"""), SchemaType.Plugin).Error
            .Should().StartWith("pcre_compile() failed: missing )");
        var conf = Obj("{}");
        cors.CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["max_age"]!.ToJsonString().Should().Be("5");
    }

    [Fact]
    public void Uri_blocker_compiles_each_rule()
    {
        new UriBlockerPlugin().CheckSchema(Obj("""{"block_rules":["^/ok", "x("]}"""), SchemaType.Plugin).Error
            .Should().Be("pcre_compile() failed: missing ) in \"x(\"");
        new UriBlockerPlugin().CheckSchema(Obj("""{"block_rules":["^/ok"]}"""), SchemaType.Plugin).Ok.Should().BeTrue();
    }

    [Fact]
    public void Openid_connect_checks_what_upstream_checks_before_its_schema()
    {
        var oidc = new OpenidConnectPlugin();
        oidc.CheckSchema(Obj("""{"client_id":"a","client_secret":"b","discovery":"d"}"""), SchemaType.Plugin).Error
            .Should().Be("property \"session.secret\" is required when \"bearer_only\" is false");
        oidc.CheckSchema(Obj("""{"client_id":"a","discovery":"d","bearer_only":true}"""), SchemaType.Plugin).Error
            .Should().Be("property \"client_secret\" is required");
        oidc.CheckSchema(Obj("""{"client_id":"a","discovery":"d","bearer_only":true,"use_jwks":true}"""), SchemaType.Plugin).Ok
            .Should().BeTrue();
        var legacy = Obj("""{"client_id":"a","client_secret":"b","discovery":"d","bearer_only":true,"ssl_verify":"no"}""");
        oidc.CheckSchema(legacy, SchemaType.Plugin).Ok.Should().BeTrue();
        legacy["ssl_verify"]!.GetValue<bool>().Should().BeFalse();
    }

    [Fact]
    public void Limit_conn_needs_one_of_its_two_shapes()
    {
        var lc = new LimitConnPlugin();
        lc.CheckSchema(Obj("""{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr"}"""), SchemaType.Plugin).Ok.Should().BeTrue();
        lc.CheckSchema(Obj("""{"default_conn_delay":0.1,"rules":[{"conn":1,"burst":0,"key":"a"}]}"""), SchemaType.Plugin).Ok.Should().BeTrue();
        lc.CheckSchema(Obj("""{"conn":1,"burst":0,"key":"remote_addr"}"""), SchemaType.Plugin).Ok.Should().BeFalse();
    }

    [Fact]
    public void Jwt_auth_consumer_rules()
    {
        var jwt = new JwtAuthPlugin();
        jwt.CheckSchema(Obj("""{"key":"k"}"""), SchemaType.Consumer).Error
            .Should().Be("property \"secret\" is required when using HS based algorithms");
        jwt.CheckSchema(Obj("""{"key":"k","secret":"not base64!","base64_secret":true}"""), SchemaType.Consumer).Error
            .Should().Be("base64_secret required but the secret is not in base64 format");
        var conf = Obj("""{"key":"k","secret":"s"}""");
        jwt.CheckSchema(conf, SchemaType.Consumer).Ok.Should().BeTrue();
        conf["algorithm"]!.GetValue<string>().Should().Be("HS256");
    }

    [Fact]
    public void Leaky_bucket_delays_then_rejects()
    {
        var dict = new SharedDict("plugin-limit-req", 1 << 20);
        double now = 1_000_000;
        // 1 request per second, 1 more may wait
        var lim = new RestyLimitReq(dict, 1, 1, () => now);
        lim.Incoming("k", true).Should().Be((0.0, 0.0, (string?)null));
        var second = lim.Incoming("k", true);
        second.Delay.Should().Be(1);          // one excess request: wait a second
        lim.Incoming("k", true).Error.Should().Be("rejected");
        now += 2000;                           // two seconds drain the bucket
        lim.Incoming("k", true).Delay.Should().Be(0);
    }

    [Fact]
    public void Connection_counter_delays_the_burst_and_counts_out()
    {
        var dict = new SharedDict("plugin-limit-conn", 1 << 20);
        var lim = new RestyLimitConn(dict, 1, 1, 0.5);
        lim.Incoming("k", true).Delay.Should().Be(0);
        lim.Committed.Should().BeTrue();
        lim.Incoming("k", true).Delay.Should().Be(0.5);
        lim.Incoming("k", true).Error.Should().Be("rejected");
        lim.Leaving("k", null).Conn.Should().Be(1);
        lim.Leaving("k", null).Conn.Should().Be(0);
    }

    [Fact]
    public void Jwt_round_trip_and_claims()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var (token, err) = JwtParser.Encode("HS256", "secret", null, Obj($$"""{"key":"user","exp":{{now + 60}}}"""));
        err.Should().BeNull();
        var (jwt, perr) = JwtParser.New(token!);
        perr.Should().BeNull();
        jwt!.Alg.Should().Be("HS256");
        jwt.VerifySignature("secret").Ok.Should().BeTrue();
        jwt.VerifySignature("other").Ok.Should().BeFalse();
        jwt.VerifyClaims(null, 0).Ok.Should().BeTrue();
        jwt.VerifyClaims(new JsonArray("nbf"), 0).Error.Should().Be("claim nbf is missing");

        var (expired, _) = JwtParser.Encode("HS256", "secret", null, Obj("""{"key":"user","exp":1563870501}"""));
        JwtParser.New(expired!).Jwt!.VerifyClaims(null, 0).Error.Should().Be("'exp' claim expired at Tue, 23 Jul 2019 08:28:21 GMT");
        JwtParser.New("invalid-eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.x").Error
            .Should().Be("invalid header: invalid-eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
        JwtParser.New("a.b").Error.Should().Be("invalid jwt string");
    }

    [Fact]
    public void Csrf_cookie_time_is_nginx_cookie_time()
    {
        CsrfPlugin.CookieTime(0).Should().Be("Thu, 01-Jan-70 00:00:00 GMT");
        CsrfPlugin.CookieTime(2643119624).Should().Be("Fri, 03-Oct-2053 15:53:44 GMT");
    }
}
