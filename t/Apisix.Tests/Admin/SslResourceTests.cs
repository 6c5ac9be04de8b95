using System.Text.Json.Nodes;
using Apisix.Tests.OpenResty;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>The ssls admin resource: PEM checks, keys stored encrypted and never returned.</summary>
public class SslResourceTests
{
    private static (string Cert, string Key) Pem()
    {
        var (certPath, keyPath) = TlsLoopbackTests.WritePemPair(Path.Combine(Path.GetTempPath(), "ssl-admin-" + Guid.NewGuid().ToString("N")));
        return (File.ReadAllText(certPath), File.ReadAllText(keyPath));
    }

    private static string Body(object conf) => System.Text.Json.JsonSerializer.Serialize(conf);

    [Fact]
    public void A_valid_pair_is_stored_with_its_key_encrypted_and_get_hides_the_key()
    {
        var kit = new AdminTestKit();
        var (cert, key) = Pem();
        kit.Send("PUT", "/apisix/admin/ssls/1", Body(new { sni = "test.com", cert, key })).Status.Should().Be(201);
        var stored = kit.Store.Get("/apisix/ssls/1")!.Value!;
        stored["key"]!.GetValue<string>().Should().NotStartWith("---");
        var got = JsonNode.Parse(kit.Send("GET", "/apisix/admin/ssls/1").Body)!;
        got["value"]!["cert"]!.GetValue<string>().Should().Be(cert);
        got["value"]!.AsObject().ContainsKey("key").Should().BeFalse();
        var list = JsonNode.Parse(kit.Send("GET", "/apisix/admin/ssls").Body)!;
        list["list"]![0]!["value"]!.AsObject().ContainsKey("key").Should().BeFalse();
    }

    [Fact]
    public void Bad_pem_and_mismatched_lists_are_refused_with_apisix_messages()
    {
        var kit = new AdminTestKit();
        var (cert, key) = Pem();
        var junk = new string('x', 200);
        kit.Send("PUT", "/apisix/admin/ssls/1", Body(new { sni = "t.com", cert = junk, key })).Body
            .Should().Be("{\"error_msg\":\"failed to parse cert: PEM_read_bio_X509_AUX() failed\"}\n");
        kit.Send("PUT", "/apisix/admin/ssls/1", Body(new { sni = "t.com", cert, key = "-----" + junk })).Body
            .Should().Be("{\"error_msg\":\"failed to parse key: PEM_read_bio_PrivateKey() failed\"}\n");
        kit.Send("PUT", "/apisix/admin/ssls/1", Body(new { sni = "t.com", cert, key, certs = new[] { cert }, keys = Array.Empty<string>() })).Body
            .Should().Be("{\"error_msg\":\"mismatched number of certs and keys\"}\n");
        kit.Send("PUT", "/apisix/admin/ssls/1", Body(new { cert, key })).Body
            .Should().StartWith("{\"error_msg\":\"invalid configuration: ");
    }

    [Fact]
    public void An_upstream_client_cert_id_must_name_a_client_ssl()
    {
        var kit = new AdminTestKit();
        var (cert, key) = Pem();
        kit.Send("PUT", "/apisix/admin/ssls/1", Body(new { sni = "test.com", cert, key })).Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/upstreams/1",
                """{"type":"roundrobin","scheme":"https","nodes":{"127.0.0.1:1983":1},"tls":{"client_cert_id":1}}""").Body
            .Should().Be("{\"error_msg\":\"failed to fetch ssl info by ssl id [1], wrong ssl type\"}\n");
        kit.Send("PUT", "/apisix/admin/ssls/2", Body(new { type = "client", cert, key })).Status.Should().Be(201);
        kit.Send("PUT", "/apisix/admin/upstreams/1",
            """{"type":"roundrobin","scheme":"https","nodes":{"127.0.0.1:1983":1},"tls":{"client_cert_id":2}}""").Status.Should().Be(201);
    }
}
