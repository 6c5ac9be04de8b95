using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// Kestrel's transport for the gateway host when the workers have a <see cref="Reactor"/>: a
/// listening socket watched by every worker loop (EPOLLEXCLUSIVE: one worker takes each
/// connection, as nginx's workers share a listen), and each accepted connection served by the
/// loop that took it. Its pipes schedule onto that loop, so Kestrel parses the request, the
/// request runs its phases, and the response is written, all on the worker's thread, with no hop
/// through the thread pool.
/// </summary>
public sealed class ReactorTransportFactory(Func<IReadOnlyList<WorkerLoop>> loops) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <summary>Whether this platform can serve sockets on the workers' loops.</summary>
    public static bool Supported => Reactor.Supported;

    /// <summary>The key of a connection's item that names the loop serving it.</summary>
    public static readonly object LoopItem = typeof(WorkerLoop);

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken ct = default)
    {
        var ep = (IPEndPoint)endpoint;
        var socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (ep.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try { socket.Bind(ep); }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(e.Message, e);
        }
        socket.Listen(511);
        socket.Blocking = false;
        var listener = new Listener(socket);
        foreach (var loop in loops()) await loop.RunAsync(() => { listener.Watch(loop); return Task.CompletedTask; });
        return listener;
    }

    private sealed class Listener(Socket socket) : IConnectionListener
    {
        private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>();
        private readonly List<(WorkerLoop Loop, ulong Token)> _watches = new();
        private int _closed;

        public EndPoint EndPoint { get; } = socket.LocalEndPoint!;

        public void Watch(WorkerLoop loop)
        {
            var token = loop.Reactor!.Register((int)socket.Handle, Reactor.EPOLLIN | Reactor.EPOLLEXCLUSIVE, new AcceptHandler(this, loop));
            lock (_watches) _watches.Add((loop, token));
        }

        private sealed class AcceptHandler(Listener listener, WorkerLoop loop) : IReactorHandler
        {
            public void OnEvents(uint events) => listener.AcceptOne(loop);
        }

        // One connection per wakeup, as nginx accepts with multi_accept off (APISIX leaves it so): the
        // socket is level-triggered, so what is left wakes a loop again, and a loop busy serving is not
        // waiting, so an idle one takes it. Taking a whole burst put every client of it on one loop.
        private void AcceptOne(WorkerLoop loop)
        {
            if (Volatile.Read(ref _closed) != 0) return;
            Socket accepted;
            try { accepted = socket.Accept(); }
            catch (SocketException) { return; } // EAGAIN: another worker took it; or out of descriptors
            catch (ObjectDisposedException) { return; }
            ReactorConnection conn;
            try
            {
                accepted.NoDelay = true;
                conn = new ReactorConnection(accepted, loop);
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
                accepted.Dispose();
                return;
            }
            conn.Start();
            _accepted.Writer.TryWrite(conn);
        }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken ct = default)
        {
            try { return await _accepted.Reader.ReadAsync(ct); }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException) { return null; }
        }

        public async ValueTask UnbindAsync(CancellationToken ct = default)
        {
            if (Interlocked.Exchange(ref _closed, 1) == 1) return;
            List<(WorkerLoop Loop, ulong Token)> watches;
            lock (_watches) watches = [.. _watches];
            var fd = (int)socket.Handle;
            foreach (var (loop, token) in watches)
            {
                var done = loop.RunAsync(() => { loop.Reactor?.Unregister(fd, token); return Task.CompletedTask; });
                await Task.WhenAny(done, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
            }
            socket.Dispose();
            _accepted.Writer.TryComplete();
        }

        public ValueTask DisposeAsync() => UnbindAsync();
    }
}

/// <summary>One accepted connection served by a worker loop: socket → input pipe, output pipe → socket.</summary>
internal sealed class ReactorConnection : ConnectionContext, IConnectionItemsFeature
{
    private static long _nextId;
    private readonly ReactorSocket _socket;
    private readonly Pipe _input, _output;
    private readonly CancellationTokenSource _closed = new();
    private Task _receiving = Task.CompletedTask, _sending = Task.CompletedTask;
    private Exception? _abortReason;
    private int _closedFired;

    public ReactorConnection(Socket socket, WorkerLoop loop)
    {
        _socket = new ReactorSocket(socket, loop);
        Loop = loop;
        // Kestrel's defaults: 1 MB of request read ahead, 64 KB of response buffered
        _input = new Pipe(new PipeOptions(readerScheduler: loop.Scheduler, writerScheduler: loop.Scheduler,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(readerScheduler: loop.Scheduler, writerScheduler: loop.Scheduler,
            pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false));
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionId = "rx-" + Interlocked.Increment(ref _nextId);
        Items[ReactorTransportFactory.LoopItem] = loop;
        Features.Set<IConnectionItemsFeature>(this);
        ConnectionClosed = _closed.Token;
    }

    public WorkerLoop Loop { get; }
    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features { get; } = new FeatureCollection();
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override IDuplexPipe Transport { get; set; }

    /// <summary>Start reading and writing (on the loop).</summary>
    public void Start()
    {
        _receiving = ReceiveLoopAsync();
        _sending = SendLoopAsync();
    }

    private async Task ReceiveLoopAsync()
    {
        Exception? error = null;
        var writer = _input.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(4096);
                var n = await _socket.ReceiveAsync(memory, CancellationToken.None).ConfigureAwait(false);
                if (n == 0) break;
                writer.Advance(n);
                var flushed = await writer.FlushAsync();
                if (flushed.IsCompleted || flushed.IsCanceled) break;
            }
        }
        catch (IOException e) { error = new ConnectionResetException(e.Message, e); }
        catch (ObjectDisposedException) { }
        catch (InvalidOperationException) { } // the reader side was completed meanwhile
        finally
        {
            writer.Complete(_abortReason ?? error);
            FireClosed();
        }
    }

    private async Task SendLoopAsync()
    {
        Exception? error = null;
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                if (result.IsCanceled) break;
                var buffer = result.Buffer;
                foreach (var segment in buffer) await _socket.SendAsync(segment, CancellationToken.None).ConfigureAwait(false);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) break;
            }
        }
        catch (IOException e) { error = e; }
        catch (ObjectDisposedException) { }
        catch (InvalidOperationException) { }
        finally
        {
            reader.Complete(error);
            // Kestrel is done writing (or the peer is gone): the connection ends both ways
            Shutdown();
        }
    }

    private void Shutdown()
    {
        if (_socket.Closed) return;
        try { _socket.Socket.Shutdown(SocketShutdown.Both); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        _socket.OnEvents(Reactor.EPOLLIN | Reactor.EPOLLOUT); // waiting reads and writes try again and see the end
    }

    /// <summary>ConnectionClosed fires on the loop once the peer's side has ended (Kestrel aborts the request on it).</summary>
    private void FireClosed()
    {
        if (Interlocked.Exchange(ref _closedFired, 1) == 1) return;
        Loop.Post(static s =>
        {
            try { ((CancellationTokenSource)s!).Cancel(); }
            catch (ObjectDisposedException) { }
        }, _closed);
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (!Loop.IsCurrent)
        {
            Loop.Post(static s => { var (c, r) = ((ReactorConnection, ConnectionAbortedException))s!; c.Abort(r); }, (this, abortReason));
            return;
        }
        _abortReason ??= abortReason;
        _output.Reader.CancelPendingRead();
        Shutdown();
    }

    public override async ValueTask DisposeAsync()
    {
        if (!Loop.IsCurrent)
        {
            await Loop.RunAsync(async () => await DisposeAsync());
            return;
        }
        _input.Reader.Complete();
        _output.Writer.Complete();
        Shutdown();
        await _sending;
        await _receiving;
        _socket.Close();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
