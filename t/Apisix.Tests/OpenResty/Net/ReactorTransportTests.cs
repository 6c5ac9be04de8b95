using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Net;
using FluentAssertions;
using Microsoft.AspNetCore.Connections;
using Xunit;

namespace Apisix.Tests.OpenResty.Net;

/// <summary>
/// The reactor transport's accept policy (ReactorTransport.cs, AcceptOne): a worker loop takes
/// one connection per wakeup, as nginx does with multi_accept off, so a burst queued on the
/// listening socket is left for the next wakeup (of this loop or an idle one), not drained at once.
/// </summary>
public class ReactorTransportTests
{
    /// <summary>
    /// The kernel's accept queue of the loopback listening socket on <paramref name="port"/>: for a
    /// socket in LISTEN state, /proc/net/tcp's rx_queue is the number of connections waiting to be accepted.
    /// </summary>
    private static int AcceptQueue(int port)
    {
        var suffix = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f[1].EndsWith(suffix, StringComparison.Ordinal) && f[3] == "0A")
                return int.Parse(f[4].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no listening socket on port {port} in /proc/net/tcp");
    }

    [Fact]
    public async Task One_wakeup_of_a_loop_accepts_one_connection_of_a_burst()
    {
        if (!ReactorTransportFactory.Supported) return; // Linux x64 only; elsewhere the host keeps Kestrel's sockets
        const int burst = 4;
        using var loop = new WorkerLoop("accept-test", e => throw e, reactor: true);
        var listener = await new ReactorTransportFactory(() => [loop]).BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)listener.EndPoint).Port;
        var clients = new List<TcpClient>();
        try
        {
            // The loop is held by this work item, so nothing accepts while the burst queues up and the
            // one wakeup below is the only one: the epoll says the listening socket is readable, once.
            var (queuedBefore, queuedAfter, first, secondReady, pending) = await loop.RunAsync(() =>
            {
                for (var i = 0; i < burst; i++)
                {
                    var c = new TcpClient();
                    clients.Add(c);
                    c.ConnectAsync(IPAddress.Loopback, port).Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("a connect completes in the backlog");
                }
                // a connect returns once the handshake is done; the queue holds it a moment later (safety net only)
                var until = DateTime.UtcNow.AddSeconds(30);
                while (AcceptQueue(port) < burst && DateTime.UtcNow < until) Thread.Sleep(5);
                var before = AcceptQueue(port);

                var context = SynchronizationContext.Current;
                SynchronizationContext.SetSynchronizationContext(null); // as the loop dispatches its events
                try { loop.Reactor!.Poll(0); }
                finally { SynchronizationContext.SetSynchronizationContext(context); }

                var after = AcceptQueue(port);
                var taken = listener.AcceptAsync();
                var firstConn = taken.IsCompleted ? taken.Result : null;
                var second = listener.AcceptAsync().AsTask();
                return Task.FromResult((before, after, firstConn, second.IsCompleted, second));
            });

            queuedBefore.Should().Be(burst);
            first.Should().NotBeNull("the wakeup accepted a connection");
            secondReady.Should().BeFalse("one wakeup accepts one connection, not the whole burst");
            queuedAfter.Should().Be(burst - 1, "the rest of the burst stays queued for the next wakeup");

            // the loop runs again: level-triggered, it goes on taking the rest, one per wakeup
            var accepted = new List<ConnectionContext?> { first, await pending.WaitAsync(TimeSpan.FromSeconds(30)) };
            for (var i = 2; i < burst; i++) accepted.Add(await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            accepted.Should().OnlyContain(c => c != null);
            AcceptQueue(port).Should().Be(0);
            foreach (var c in accepted) await c!.DisposeAsync();
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
            await listener.UnbindAsync();
        }
    }
}
