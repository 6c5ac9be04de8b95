using System.Net;
using System.Net.Sockets;
using System.Text;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Net;
using Apisix.Core.Store;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Apisix.Tests.OpenResty;

/// <summary>
/// The gateway host's sockets on the worker loops (an epoll per loop): Kestrel's connections are
/// served on the loop that accepted them, and a connect made on a loop reads and writes there.
/// </summary>
public class ReactorTests
{
    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public async Task Keepalive_requests_run_on_the_loop_that_accepted_the_connection()
    {
        if (!ReactorTransportFactory.Supported) return; // Linux x64 only; elsewhere the host keeps Kestrel's sockets
        using var loop = new WorkerLoop("reactor-test", e => throw e, reactor: true);
        var seen = new List<(WorkerLoop? Loop, SynchronizationContext? Context)>();
        var port = FreePort();
        await using var server = await HttpServerHost.StartSocketsAsync([new IPEndPoint(IPAddress.Loopback, port)], async http =>
        {
            lock (seen) seen.Add((WorkerLoop.Current, SynchronizationContext.Current));
            await Task.Yield(); // resumes on the loop, through its context
            http.Response.ContentLength = 2;
            await http.Response.WriteAsync("ok");
        }, transport: new ReactorTransportFactory(() => [loop]));

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var buf = new byte[4096];
        for (var i = 0; i < 3; i++)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
            var text = "";
            while (!text.EndsWith("ok", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buf);
                n.Should().BeGreaterThan(0);
                text += Encoding.ASCII.GetString(buf, 0, n);
            }
            text.Should().StartWith("HTTP/1.1 200 OK");
        }
        seen.Should().HaveCount(3);
        // the first request may start on Kestrel's dispatch thread; the ones after it on the loop
        seen.Skip(1).Should().AllSatisfy(s =>
        {
            s.Loop.Should().BeSameAs(loop);
            s.Context.Should().BeSameAs(loop);
        });
    }

    [Fact]
    public async Task A_connect_made_on_a_loop_reads_and_writes_there()
    {
        if (!ReactorTransportFactory.Supported) return;
        using var loop = new WorkerLoop("reactor-test", e => throw e, reactor: true);
        var echo = new TcpListener(IPAddress.Loopback, 0);
        echo.Start();
        var port = ((IPEndPoint)echo.LocalEndpoint).Port;
        var serving = Task.Run(async () =>
        {
            using var peer = await echo.AcceptTcpClientAsync();
            var s = peer.GetStream();
            var b = new byte[64];
            var n = await s.ReadAsync(b);
            await Task.Delay(50); // the client's read waits for epoll, not for data already there
            await s.WriteAsync(b.AsMemory(0, n));
        });
        var network = new SocketNetwork();
        var (reply, onLoop, kind) = await loop.RunAsync(async () =>
        {
            var (stream, err) = await network.ConnectAsync("127.0.0.1", port, CancellationToken.None);
            err.Should().BeNull();
            await stream!.WriteAsync(Encoding.ASCII.GetBytes("ping"));
            var b = new byte[64];
            var n = await stream.ReadAsync(b);
            var result = (Encoding.ASCII.GetString(b, 0, n), loop.IsCurrent, stream.GetType().Name);
            await stream.DisposeAsync();
            return result;
        });
        await serving;
        echo.Stop();
        reply.Should().Be("ping");
        onLoop.Should().BeTrue();
        kind.Should().Be("ReactorStream");

        // refused, in nginx's words
        var refused = await loop.RunAsync(async () => (await network.ConnectAsync("127.0.0.1", FreePort(), CancellationToken.None)).Error);
        refused.Should().Be("connection refused");
    }

    [Fact]
    public async Task A_connect_on_a_loop_throws_no_exception_on_its_way()
    {
        if (!ReactorTransportFactory.Supported) return;
        using var loop = new WorkerLoop("reactor-test", e => throw e, reactor: true);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var thrown = new List<string>();
        void Note(object? _, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            if (loop.IsCurrent) lock (thrown) thrown.Add(e.Exception.GetType().Name + ": " + e.Exception.Message);
        }
        AppDomain.CurrentDomain.FirstChanceException += Note;
        try
        {
            var network = new SocketNetwork();
            var refused = await loop.RunAsync(async () =>
            {
                var (stream, err) = await network.ConnectAsync("127.0.0.1", port, CancellationToken.None);
                err.Should().BeNull();
                await stream!.DisposeAsync();
                return (await network.ConnectAsync("127.0.0.1", FreePort(), CancellationToken.None)).Error;
            });
            refused.Should().Be("connection refused");

            // an IPv6 peer (a sockaddr_in6 for connect(2)), where the machine has an IPv6 loopback
            TcpListener? v6 = null;
            try { v6 = new TcpListener(IPAddress.IPv6Loopback, 0); v6.Start(); }
            catch (SocketException) { v6 = null; }
            if (v6 != null)
            {
                var v6port = ((IPEndPoint)v6.LocalEndpoint).Port;
                var v6err = await loop.RunAsync(async () =>
                {
                    var (stream, err) = await network.ConnectAsync("::1", v6port, CancellationToken.None);
                    if (stream != null) await stream.DisposeAsync();
                    return err;
                });
                v6.Stop();
                v6err.Should().BeNull();
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Note;
            listener.Stop();
        }
        // a connect in progress, or refused, is an errno to read, not an exception to catch
        thrown.Should().BeEmpty();
    }

    [Fact]
    public void ListShared_is_kept_until_the_next_write_and_List_still_copies()
    {
        var store = new ConfigStore();
        store.Put("/apisix/routes/1", System.Text.Json.Nodes.JsonNode.Parse("""{"uri":"/a"}"""));
        var first = store.ListShared("/apisix/routes/");
        store.ListShared("/apisix/routes/").Should().BeSameAs(first);
        store.List("/apisix/routes/")[0].Value.Should().NotBeSameAs(first[0].Value);
        store.Put("/apisix/routes/2", System.Text.Json.Nodes.JsonNode.Parse("""{"uri":"/b"}"""));
        var second = store.ListShared("/apisix/routes/");
        second.Should().NotBeSameAs(first);
        second.Select(e => e.Key).Should().Equal("/apisix/routes/1", "/apisix/routes/2");
        store.Delete("/apisix/routes/1");
        store.ListShared("/apisix/routes/").Select(e => e.Key).Should().Equal("/apisix/routes/2");
        store.GetShared("/apisix/routes/2")!.Value.Should().BeSameAs(store.ListShared("/apisix/routes/")[0].Value);
    }
}
