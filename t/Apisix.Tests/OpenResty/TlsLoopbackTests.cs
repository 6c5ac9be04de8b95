using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Apisix.Core.OpenResty.Net;
using Apisix.TestNginx.Client;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

/// <summary>`listen ... ssl` on the in-memory loopback, and the client side's SNI rules.</summary>
public class TlsLoopbackTests
{
    /// <summary>A throwaway self-signed certificate written as PEM files; returns (cert path, key path).</summary>
    internal static (string Cert, string Key) WritePemPair(string dir)
    {
        Directory.CreateDirectory(dir);
        using var rsa = RSA.Create(2048);
        var req = new CertificateRequest("CN=loopback.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certPath = Path.Combine(dir, "server.crt");
        var keyPath = Path.Combine(dir, "server.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    private static async Task<OpenRestyWorld> StartTlsWorld()
    {
        var (cert, key) = WritePemPair(Path.Combine(Path.GetTempPath(), "tls-loopback-" + Guid.NewGuid().ToString("N")));
        return await OpenRestyWorld.StartAsync($$"""
            server {
                listen 1983 ssl;
                ssl_certificate {{cert}};
                ssl_certificate_key {{key}};
                ssl_session_cache shared:SSL:1m;
                ssl_certificate_by_lua_block {
                    ngx.log(ngx.WARN, "handshake for: ", require("ngx.ssl").server_name())
                }
                location / {
                    content_by_lua_block {
                        ngx.say(ngx.var.scheme, " ", ngx.var.https, " ", ngx.var.ssl_server_name or "none")
                    }
                }
            }
            server {
                listen 1980;
                location / {
                    content_by_lua_block { ngx.say(ngx.var.scheme) }
                }
            }
            """);
    }

    private static async Task<(string Body, string? Error)> GetOverTls(OpenRestyWorld w, string? sni)
    {
        var (raw, err) = w.Network.Connect("127.0.0.1", 1983);
        raw.Should().NotBeNull(err);
        var (ssl, sslErr) = await ClientTls.HandshakeAsync(raw!, sni, verify: false, null, CancellationToken.None);
        if (ssl == null) return ("", sslErr);
        var r = await RawHttpClient.SendAsync(ssl, Encoding.Latin1.GetBytes("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            TimeSpan.FromSeconds(10));
        return (r.Body, r.Error);
    }

    [Fact]
    public async Task An_ssl_listen_serves_https_and_its_lua_hook_sees_the_sni()
    {
        await using var w = await StartTlsWorld();
        var (body, err) = await GetOverTls(w, "www.sni.test");
        err.Should().BeNull();
        body.Should().Be("https on www.sni.test\n");
        w.Log.Lines.Should().Contain(l => l.Contains("[warn]") && l.Contains("handshake for: www.sni.test"));
        // the plain listen stays plain
        (await w.GetAsync("/", 1980)).Body.Should().Be("http\n");
    }

    [Fact]
    public async Task No_sni_is_sent_for_an_ip_literal()
    {
        await using var w = await StartTlsWorld();
        var (body, _) = await GetOverTls(w, "127.0.0.1");
        body.Should().Be("https on none\n");
        w.Log.Lines.Should().Contain(l => l.Contains("handshake for: nil"));
    }

    [Fact]
    public async Task Plain_http_to_an_ssl_listen_gets_no_response()
    {
        await using var w = await StartTlsWorld();
        var r = await w.GetAsync("/x", 1983);
        r.Body.Should().BeEmpty();
    }

    [Fact]
    public void Proxy_ssl_name_drops_the_port_and_ip_literals()
    {
        Apisix.Core.Upstream.UpstreamProxy.SslName("www.test.com:8443").Should().Be("www.test.com");
        Apisix.Core.Upstream.UpstreamProxy.SslName("localhost").Should().Be("localhost");
        Apisix.Core.Upstream.UpstreamProxy.SslName("127.0.0.1:1983").Should().BeNull();
        Apisix.Core.Upstream.UpstreamProxy.SslName("[::1]:1983").Should().BeNull();
        Apisix.Core.Upstream.UpstreamProxy.SslName("").Should().BeNull();
    }
}
