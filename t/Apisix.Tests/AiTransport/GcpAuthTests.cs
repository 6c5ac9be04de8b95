using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Apisix.Plugins.AiProxy;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Apisix.Tests.AiTransport;

/// <summary>The TTL cache of ai-transport/auth.lua, on a clock the test moves by hand.</summary>
public class GcpTokenCacheTests
{
    private sealed class Clock
    {
        public double Now = 1_000_000;
    }

    private sealed class Issuer
    {
        public int Calls;
        public double? Ttl = 30;
        public JsonObject? LastConf;

        public Task<(string?, double?)> Generate(JsonObject conf)
        {
            Calls++;
            LastConf = conf;
            return Task.FromResult<(string?, double?)>(($"token-{Calls}", Ttl));
        }
    }

    private static JsonObject Gcp(string json) => (JsonObject)JsonNode.Parse(json)!;

    [Fact]
    public async Task A_token_is_reused_while_its_ttl_lasts_and_fetched_again_after()
    {
        var clock = new Clock();
        var cache = new GcpTokenCache(() => clock.Now);
        var issuer = new Issuer { Ttl = 30 };
        var logs = new List<string>();

        for (var i = 0; i < 4; i++)
        {
            var (tok, err) = await cache.FetchAsync("route#7#inst#3", Gcp("{}"), issuer.Generate, logs.Add);
            err.Should().BeNull();
            tok.Should().Be("token-1");
            clock.Now += 7; // 0, 7, 14, 21 seconds in: all inside 30
        }
        issuer.Calls.Should().Be(1);

        clock.Now += 10; // 38 seconds after the set
        (await cache.FetchAsync("route#7#inst#3", Gcp("{}"), issuer.Generate)).Token.Should().Be("token-2");
        issuer.Calls.Should().Be(2);
        logs.Should().ContainSingle().Which.Should().Be("set gcp access token in cache with ttl: 30, key: route#7#inst#3");
    }

    [Theory]
    [InlineData("{\"max_ttl\": 8}", 20.0, 8.0)]           // capped by max_ttl
    [InlineData("{\"expire_early_secs\": 5}", 20.0, 15.0)] // taken off a longer ttl
    [InlineData("{\"expire_early_secs\": 60}", 20.0, 20.0)] // not when the ttl is shorter
    [InlineData("{\"expire_early_secs\": 60}", null, 3540.0)] // 3600 when the issuer gives none
    [InlineData("{\"expire_early_secs\": 10, \"max_ttl\": 12}", 40.0, 12.0)]
    public async Task The_cached_ttl_follows_expire_early_secs_and_max_ttl(string gcp, double? given, double expected)
    {
        var clock = new Clock();
        var cache = new GcpTokenCache(() => clock.Now);
        var issuer = new Issuer { Ttl = given };
        await cache.FetchAsync("k", Gcp(gcp), issuer.Generate);

        clock.Now += expected - 0.01;
        cache.Get("k").Should().Be("token-1");
        clock.Now += 0.02;
        cache.Get("k").Should().BeNull();
    }

    [Fact]
    public async Task Each_key_has_its_own_token()
    {
        var cache = new GcpTokenCache(() => 50);
        var issuer = new Issuer();
        (await cache.FetchAsync("route#1#alpha#1", null, issuer.Generate)).Token.Should().Be("token-1");
        (await cache.FetchAsync("route#1#beta#1", null, issuer.Generate)).Token.Should().Be("token-2");
        (await cache.FetchAsync("route#1#alpha#2", null, issuer.Generate)).Token.Should().Be("token-3");
        (await cache.FetchAsync("route#1#alpha#1", null, issuer.Generate)).Token.Should().Be("token-1");
        issuer.Calls.Should().Be(3);
    }

    [Fact]
    public async Task The_least_recently_used_key_goes_when_the_cache_is_full()
    {
        var cache = new GcpTokenCache(() => 50, capacity: 2);
        var issuer = new Issuer();
        await cache.FetchAsync("a", null, issuer.Generate);
        await cache.FetchAsync("b", null, issuer.Generate);
        cache.Get("a").Should().Be("token-1"); // a is now the most recent
        await cache.FetchAsync("c", null, issuer.Generate);
        cache.Get("b").Should().BeNull();
        cache.Get("a").Should().Be("token-1");
        cache.Get("c").Should().Be("token-3");
    }

    [Fact]
    public async Task The_service_account_json_is_decoded_for_the_issuer()
    {
        var cache = new GcpTokenCache(() => 50);
        var issuer = new Issuer();
        var gcp = new JsonObject { ["service_account_json"] = "{\"client_email\":\"robot@example.iam\",\"project_id\":\"p9\"}" };
        await cache.FetchAsync("k", gcp, issuer.Generate);
        issuer.LastConf!["client_email"]!.GetValue<string>().Should().Be("robot@example.iam");
        issuer.LastConf["project_id"]!.GetValue<string>().Should().Be("p9");
    }

    [Fact]
    public async Task Bad_json_and_missing_tokens_are_errors_and_nothing_is_cached()
    {
        var cache = new GcpTokenCache(() => 50);
        var issuer = new Issuer();
        var (tok, err) = await cache.FetchAsync("k", new JsonObject { ["service_account_json"] = "{not json" }, issuer.Generate);
        tok.Should().BeNull();
        err.Should().StartWith("invalid gcp service account json: ");
        issuer.Calls.Should().Be(0);

        (tok, err) = await cache.FetchAsync("k", null, _ => Task.FromResult<(string?, double?)>((null, 10)));
        tok.Should().BeNull();
        err.Should().Be("failed to get google oauth token");
        cache.Get("k").Should().BeNull();
    }

    [Fact]
    public void The_signature_verifies_with_the_public_key()
    {
        using var rsa = RSA.Create(2048);
        var sig = GoogleCloudOAuthBridge.Sign(rsa.ExportPkcs8PrivateKeyPem(), "aGVhZA.Ym9keQ");
        sig.Should().NotContainAny("+", "/", "=");
        var raw = Convert.FromBase64String(sig.Replace('-', '+').Replace('_', '/').PadRight((sig.Length + 3) / 4 * 4, '='));
        rsa.VerifyData(Encoding.ASCII.GetBytes("aGVhZA.Ym9keQ"), raw, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .Should().BeTrue();
        rsa.VerifyData(Encoding.ASCII.GetBytes("aGVhZA.Ym9keR"), raw, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .Should().BeFalse();
    }
}

/// <summary>
/// The Lua module apisix.utils.google-cloud-oauth and auth.lua's fetch on a real worker: a fake
/// token endpoint on 127.0.0.1:1980 checks the JWT assertion it is sent.
/// </summary>
public sealed class GcpOAuthWorkerTests : IAsyncDisposable
{
    private readonly LoopbackNetwork _network = new();
    private readonly ErrorLog _log = new(LogLevel.Debug);
    private readonly Nginx _nginx;
    private HttpServerHost? _host;
    private readonly ConcurrentQueue<(string Path, string ContentType, string Body)> _posts = new();
    private int _issued;

    public GcpOAuthWorkerTests()
    {
        var modules = new LuaModules();
        Apisix.Core.OpenResty.Libs.StandardLibs.Register(modules);
        modules.AddEmbedded(typeof(Apisix.Core.Http.ApisixHttp).Assembly, under: "apisix/");
        Apisix.Core.CoreModules.Register(modules);
        AiProxyPlugins.RegisterLua(modules);
        _nginx = new Nginx(new HttpConf(), _network, _log, modules, Path.GetTempPath());
    }

    private async Task StartAsync()
    {
        _host = await HttpServerHost.StartInMemoryAsync(_network, async http =>
        {
            using var reader = new StreamReader(http.Request.Body, Encoding.Latin1);
            _posts.Enqueue((http.Request.Path.Value ?? "", http.Request.ContentType ?? "", await reader.ReadToEndAsync()));
            var n = Interlocked.Increment(ref _issued);
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync($"{{\"access_token\":\"issued-{n}\",\"token_type\":\"Bearer\",\"expires_in\":1800}}");
        });
        _network.Bind(IPAddress.Loopback, 1980);
        await _nginx.StartAsync();
    }

    private Task<LuaEntryResult> Lua(string code, params object?[] args)
    {
        var w = _nginx.Workers[0];
        return w.Loop.RunAsync(() => w.RunEntry(w.Lua.LoadString(code, "=test"), null, args));
    }

    private static byte[] B64Url(string s) =>
        Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/').PadRight((s.Length + 3) / 4 * 4, '='));

    [Fact]
    public async Task The_module_posts_a_signed_assertion_and_keeps_the_token()
    {
        await StartAsync();
        using var rsa = RSA.Create(2048);
        var r = await Lua("""
            local key = ...
            local oauth = require("apisix.utils.google-cloud-oauth").new({
                client_email = "robot@proj.iam.gserviceaccount.com",
                private_key = key,
                token_uri = "http://127.0.0.1:1980/oauth/token",
                scope = { "scope-one", "scope-two" },
            })
            local first = oauth:generate_access_token()
            local second = oauth:generate_access_token()
            return first, second, oauth.access_token_ttl, oauth.access_token_type
            """, rsa.ExportPkcs8PrivateKeyPem());
        r.Ok.Should().BeTrue(r.Error);
        r.Values[0].Should().Be("issued-1");
        r.Values[1].Should().Be("issued-1"); // not expired: no second post
        Convert.ToDouble(r.Values[2]).Should().Be(1800);
        r.Values[3].Should().Be("Bearer");
        _posts.Should().ContainSingle();

        var (path, contentType, body) = _posts.Single();
        path.Should().Be("/oauth/token");
        contentType.Should().Be("application/x-www-form-urlencoded");
        var form = body.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
        form["grant_type"].Should().Be("urn:ietf:params:oauth:grant-type:jwt-bearer");

        var parts = form["assertion"].Split('.');
        parts.Should().HaveCount(3);
        var header = JsonNode.Parse(B64Url(parts[0]))!;
        header["alg"]!.GetValue<string>().Should().Be("RS256");
        header["typ"]!.GetValue<string>().Should().Be("JWT");
        var claims = JsonNode.Parse(B64Url(parts[1]))!;
        claims["iss"]!.GetValue<string>().Should().Be("robot@proj.iam.gserviceaccount.com");
        claims["aud"]!.GetValue<string>().Should().Be("http://127.0.0.1:1980/oauth/token");
        claims["scope"]!.GetValue<string>().Should().Be("scope-one scope-two");
        (claims["exp"]!.GetValue<long>() - claims["iat"]!.GetValue<long>()).Should().Be(3600);
        rsa.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), B64Url(parts[2]),
            HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).Should().BeTrue();
    }

    [Fact]
    public async Task Auth_fetch_calls_the_module_table_so_a_replaced_refresh_is_used()
    {
        await StartAsync();
        var patch = await Lua("""
            local mod = require("apisix.utils.google-cloud-oauth")
            _G.refresh_calls = 0
            mod.refresh_access_token = function(self)
                _G.refresh_calls = _G.refresh_calls + 1
                self.access_token = "patched-" .. _G.refresh_calls
                self.access_token_ttl = 90
            end
            """);
        patch.Ok.Should().BeTrue(patch.Error);

        var worker = _nginx.Workers[0];
        ApiCtx Ctx(string confVersion)
        {
            var client = new DefaultHttpContext();
            client.Request.Method = "POST";
            var req = new NgxRequest(client, new ServerConf(), new LocationConf { Modifier = "", Pattern = "/" }, 1)
                { Nginx = _nginx, Worker = worker };
            return new ApiCtx(req) { ConfType = "route", ConfId = "42", ConfVersion = confVersion };
        }
        var gcp = new JsonObject { ["expire_early_secs"] = 60 };

        Task<(string?, string?)> Fetch(ApiCtx ctx) => worker.Loop.RunAsync(() => Auth.FetchGcpAccessTokenAsync(ctx, "vx", gcp));

        // the cache (ttl 90 - 60 = 30 s, far longer than the test) answers the second fetch;
        // a new route version is a new key, so the replaced refresh runs again
        (await Fetch(Ctx("5"))).Should().Be(("patched-1", (string?)null));
        (await Fetch(Ctx("5"))).Should().Be(("patched-1", (string?)null));
        (await Fetch(Ctx("6"))).Should().Be(("patched-2", (string?)null));

        _posts.Should().BeEmpty(); // the replaced refresh never reached the network
        _log.Lines.Count(l => l.Contains("set gcp access token in cache with ttl: 30, key: route#42#vx#5")).Should().Be(1);
        _log.Lines.Count(l => l.Contains("set gcp access token in cache with ttl: 30, key: route#42#vx#6")).Should().Be(1);
    }

    public async ValueTask DisposeAsync()
    {
        await _nginx.DisposeAsync();
        _network.Complete();
        if (_host != null) await _host.DisposeAsync();
    }
}
