using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// The TLS side of one `listen ... ssl`: the server certificate, and a hook that sees the client's
/// SNI before the certificate goes out (where `ssl_certificate_by_lua*` runs). Transport-neutral:
/// <see cref="TlsConnectionMiddleware"/> applies it to whatever connection Kestrel accepted.
/// </summary>
public sealed class ServerTls(X509Certificate2 certificate)
{
    public X509Certificate2 Certificate { get; } = certificate;

    /// <summary>
    /// The certificate as the handshake sends it, its chain built once and offline: nginx sends
    /// what the file holds and never fetches issuers, while .NET's default would try the network.
    /// </summary>
    public SslStreamCertificateContext Context => _context ??= SslStreamCertificateContext.Create(Certificate, null, offline: true);
    private SslStreamCertificateContext? _context;

    /// <summary>Called with the SNI (null when the client sent none); false fails the handshake.</summary>
    public Func<string?, Task<bool>>? OnServerName { get; init; }

    /// <summary>
    /// Pay .NET's one-time TLS costs (loading OpenSSL, the first certificate import, chain
    /// building, a handshake: seconds on a busy machine) once, off the request path, as an nginx
    /// process has OpenSSL ready when it starts. A host calls it at start-up without waiting.
    /// </summary>
    public static async Task WarmUpAsync()
    {
        try
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            var request = new CertificateRequest("CN=warm-up", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var pem = ephemeral.ExportCertificatePem();
            var tls = new ServerTls(LoadPem(pem, key.ExportPkcs8PrivateKeyPem()));
            var toServer = new System.IO.Pipelines.Pipe();
            var toClient = new System.IO.Pipelines.Pipe();
            await using var serverSide = new SslStream(new DuplexPipeStream(toServer.Reader, toClient.Writer));
            await using var clientSide = new DuplexPipeStream(toClient.Reader, toServer.Writer);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var server = serverSide.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = tls.Context }, cts.Token);
            var (client, _) = await ClientTls.HandshakeAsync(clientSide, "warm-up", verify: false, null, cts.Token);
            await server;
            if (client != null) await client.DisposeAsync();
        }
        catch (Exception)
        {
            // only an optimisation: a failure here shows up, with its real cause, in the first real handshake
        }
    }

    /// <summary>A certificate and its key from PEM text, as `ssl_certificate` / `ssl_certificate_key` load them.</summary>
    public static X509Certificate2 LoadPem(string certPem, string keyPem)
    {
        using var ephemeral = X509Certificate2.CreateFromPem(certPem, keyPem);
        // a certificate whose key lives only in memory cannot serve TLS on every platform: re-import it
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }
}

/// <summary>What a handshake told the server: the SNI, as `$ssl_server_name` and `ngx.ssl.server_name()` give it.</summary>
public sealed class TlsInfo : ITlsConnectionFeature
{
    public string? ServerName { get; init; }
    public string? Protocol { get; init; }
    public X509Certificate2? ClientCertificate { get; set; }
    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
}

/// <summary>
/// Kestrel connection middleware: a connection that reached a TLS listen is handshaken here and its
/// transport replaced by the decrypted stream; others pass through untouched.
/// </summary>
public static class TlsConnectionMiddleware
{
    public static Func<ConnectionDelegate, ConnectionDelegate> Create(Func<ConnectionContext, ServerTls?> tlsFor) =>
        next => async ctx =>
        {
            if (tlsFor(ctx) is not { } tls)
            {
                await next(ctx);
                return;
            }
            var inner = new DuplexPipeStream(ctx.Transport.Input, ctx.Transport.Output);
            var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
            string? sni = null;
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await ssl.AuthenticateAsServerAsync(async (_, hello, _, _) =>
                {
                    sni = string.IsNullOrEmpty(hello.ServerName) ? null : hello.ServerName;
                    if (tls.OnServerName != null && !await tls.OnServerName(sni))
                        throw new AuthenticationException("ssl_certificate_by_lua failed");
                    return new SslServerAuthenticationOptions { ServerCertificateContext = tls.Context };
                }, null, cts.Token);
            }
            catch (Exception)
            {
                // nginx logs a failed handshake at info level only; the client sees the connection drop
                await ssl.DisposeAsync();
                return;
            }
            // the request heads as the client wrote them, now that they can be read
            var heads = new RequestHeadLog();
            ctx.Items[RequestHeadLog.ItemKey] = heads;
            var info = new TlsInfo { ServerName = sni, Protocol = ssl.SslProtocol.ToString() };
            ctx.Features.Set<ITlsConnectionFeature>(info);
            ctx.Features.Set(info);
            var original = ctx.Transport;
            ctx.Transport = new Pipe(PipeReader.Create(new ReadLogStream(ssl, heads)), PipeWriter.Create(ssl));
            try { await next(ctx); }
            finally
            {
                ctx.Transport = original;
                await ssl.DisposeAsync();
            }
        };

    private sealed class Pipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>Passes reads through, recording what was read (the plain request bytes).</summary>
    private sealed class ReadLogStream(Stream inner, RequestHeadLog log) : Stream
    {
        public override bool CanRead => true;
        public override bool CanWrite => false;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            int n;
            try { n = await inner.ReadAsync(buffer, ct); }
            catch (IOException) { return 0; }
            if (n > 0) log.Append(buffer.Span[..n]);
            return n;
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>The client side of TLS over a connected stream, as nginx's proxy module and cosockets do it.</summary>
public static class ClientTls
{
    /// <summary>
    /// Handshake over <paramref name="inner"/>: SNI when <paramref name="serverName"/> is a host name
    /// (never an IP literal), the server's certificate checked only when <paramref name="verify"/>.
    /// Returns the encrypted stream, or the reason the handshake failed.
    /// </summary>
    public static async Task<(Stream? Stream, string? Error)> HandshakeAsync(Stream inner, string? serverName, bool verify,
        X509Certificate2? clientCertificate, CancellationToken ct)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = serverName ?? "",
            RemoteCertificateValidationCallback = verify ? null : (_, _, _, _) => true,
        };
        if (clientCertificate != null) options.ClientCertificates = new X509CertificateCollection { clientCertificate };
        try
        {
            await ssl.AuthenticateAsClientAsync(options, ct);
            return (ssl, null);
        }
        catch (OperationCanceledException)
        {
            await ssl.DisposeAsync();
            return (null, "timeout");
        }
        catch (Exception e) when (e is AuthenticationException or IOException or InvalidOperationException)
        {
            await ssl.DisposeAsync();
            return (null, verify && e is AuthenticationException ? "certificate verify failed" : "handshake failed");
        }
    }
}
