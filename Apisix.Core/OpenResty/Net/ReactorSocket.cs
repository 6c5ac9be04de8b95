using System.Net;
using System.Net.Sockets;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// A non-blocking socket served by one worker loop's <see cref="Reactor"/>: reads and writes are
/// tried at once and, when the kernel has nothing (EAGAIN), wait for epoll's next edge on that
/// loop. Everything here runs on the loop's thread; the streams below hand calls from other
/// threads over to it.
/// </summary>
internal sealed class ReactorSocket : IReactorHandler
{
    private readonly ulong _token;
    private readonly int _fd;
    private TaskCompletionSource? _readWaiter, _writeWaiter;
    // whether a recv() may find data: false after one that came back short (the kernel had no more)
    // until epoll's next edge, as nginx clears rev->ready; an end of stream that epoll announced
    // (EPOLLRDHUP) keeps it set, since no edge follows it
    private bool _readReady = true, _eofPending;

    /// <summary>Wrap a socket (connected, connecting or listening) and watch it; on the loop's thread.</summary>
    public ReactorSocket(Socket socket, WorkerLoop loop, bool listener = false)
    {
        Socket = socket;
        Loop = loop;
        socket.Blocking = false;
        _fd = (int)socket.Handle;
        _token = loop.Reactor!.Register(_fd, listener
            ? Reactor.EPOLLIN | Reactor.EPOLLEXCLUSIVE
            : Reactor.EPOLLIN | Reactor.EPOLLOUT | Reactor.EPOLLRDHUP | Reactor.EPOLLET, this);
    }

    public Socket Socket { get; }
    public WorkerLoop Loop { get; }
    public bool Closed { get; private set; }

    /// <summary>For a listener: called when a connection may be accepted.</summary>
    public Action? OnAcceptable { get; set; }

    public void OnEvents(uint events)
    {
        if (OnAcceptable is { } accept) { accept(); return; }
        if ((events & (Reactor.EPOLLIN | Reactor.EPOLLERR | Reactor.EPOLLHUP | Reactor.EPOLLRDHUP)) != 0)
        {
            _readReady = true;
            if ((events & (Reactor.EPOLLERR | Reactor.EPOLLHUP | Reactor.EPOLLRDHUP)) != 0) _eofPending = true;
            var w = _readWaiter;
            _readWaiter = null;
            w?.TrySetResult();
        }
        if ((events & (Reactor.EPOLLOUT | Reactor.EPOLLERR | Reactor.EPOLLHUP)) != 0)
        {
            var w = _writeWaiter;
            _writeWaiter = null;
            w?.TrySetResult();
        }
    }

    /// <summary>The socket's next write edge (a connect in progress completes with it).</summary>
    public async Task WaitWritableAsync(CancellationToken ct)
    {
        var wait = WaitOnLoop(read: false, ct, out var reg);
        using (reg) await wait.ConfigureAwait(false);
    }

    private static readonly Action<object?, CancellationToken> CancelWaiter = static (s, t) => ((TaskCompletionSource)s!).TrySetCanceled(t);

    /// <summary>
    /// The next edge for a read (or write): the waiter, and the token's registration, which the
    /// caller disposes once the wait is over. Continuations run on the loop, inline, as the event
    /// is dispatched there.
    /// </summary>
    private Task WaitOnLoop(bool read, CancellationToken ct, out CancellationTokenRegistration reg)
    {
        reg = default;
        if (Closed) return Task.FromException(new ObjectDisposedException(nameof(Socket)));
        var tcs = new TaskCompletionSource();
        if (read) _readWaiter = tcs;
        else _writeWaiter = tcs;
        if (ct.CanBeCanceled) reg = ct.UnsafeRegister(CancelWaiter, tcs);
        return tcs.Task;
    }

    /// <summary>
    /// Receive what is there, waiting for it when nothing is; 0 at the end of the stream. With
    /// <paramref name="streamErrors"/> a closed socket is an IOException, as a Stream reports it.
    /// </summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken ct, bool streamErrors = false)
    {
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (Closed) throw new ObjectDisposedException(nameof(Socket));
                if (buffer.Length == 0)
                {
                    // a zero-byte read waits until data is there, as on a blocking socket
                    if (Socket.Available > 0) return 0;
                    var zero = WaitOnLoop(read: true, ct, out var zreg);
                    using (zreg) await zero.ConfigureAwait(false);
                    if (Socket.Available > 0 || Closed) return 0;
                    if (Socket.Poll(0, SelectMode.SelectRead)) return 0; // end of stream
                    continue;
                }
                if (_readReady)
                {
                    var n = Socket.Receive(buffer.Span, SocketFlags.None, out var err);
                    if (err == SocketError.Success)
                    {
                        if (n < buffer.Length && !_eofPending) _readReady = false;
                        return n;
                    }
                    if (err != SocketError.WouldBlock) throw new IOException($"recv() failed ({err})", new SocketException((int)err));
                    _readReady = false;
                }
                // the kernel's buffer is empty: wait for the next edge instead of a recv() that says EAGAIN
                var wait = WaitOnLoop(read: true, ct, out var reg);
                using (reg) await wait.ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException e) when (streamErrors) { throw new IOException("connection closed", e); }
    }

    /// <summary>Send all of the buffer, waiting for room when the kernel's buffer is full.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct, bool streamErrors = false)
    {
        try
        {
            while (buffer.Length > 0)
            {
                ct.ThrowIfCancellationRequested();
                if (Closed) throw new ObjectDisposedException(nameof(Socket));
                var n = Socket.Send(buffer.Span, SocketFlags.None, out var err);
                if (err == SocketError.Success) { buffer = buffer[n..]; continue; }
                if (err != SocketError.WouldBlock) throw new IOException($"send() failed ({err})", new SocketException((int)err));
                var wait = WaitOnLoop(read: false, ct, out var reg);
                using (reg) await wait.ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException e) when (streamErrors) { throw new IOException("connection closed", e); }
    }

    /// <summary>Stop watching and close (on the loop; from elsewhere it is posted there).</summary>
    public void Close()
    {
        if (!Loop.IsCurrent)
        {
            Loop.Post(static s => ((ReactorSocket)s!).Close(), this);
            return;
        }
        if (Closed) return;
        Closed = true;
        Loop.Reactor?.Unregister(_fd, _token);
        try { Socket.Dispose(); } catch (ObjectDisposedException) { }
        var r = _readWaiter;
        var w = _writeWaiter;
        _readWaiter = _writeWaiter = null;
        r?.TrySetException(new ObjectDisposedException(nameof(Socket)));
        w?.TrySetException(new ObjectDisposedException(nameof(Socket)));
    }

    /// <summary>
    /// Connect to ip:port from the loop: a non-blocking connect() whose completion epoll reports.
    /// The stream, or the error worded as nginx words it.
    /// </summary>
    public static async ValueTask<(Stream? Stream, string? Error)> ConnectAsync(WorkerLoop loop, IPAddress ip, int port, CancellationToken ct)
    {
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, Blocking = false };
        var errno = StartConnect(socket, new IPEndPoint(ip, port));
        var pending = errno == EINPROGRESS;
        if (errno != 0 && !pending)
        {
            socket.Dispose();
            return (null, ConnectErrorText(errno));
        }
        var rs = new ReactorSocket(socket, loop);
        if (pending)
        {
            try
            {
                await rs.WaitWritableAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                rs.Close();
                throw;
            }
            var so = ConnectResult(socket);
            if (so != 0)
            {
                rs.Close();
                return (null, ConnectErrorText(so));
            }
        }
        return (new ReactorStream(rs), null);
    }

    private const int EINPROGRESS = 115, ECONNREFUSED = 111, ETIMEDOUT = 110, ENETUNREACH = 101, EHOSTUNREACH = 113;
    private const int SOL_SOCKET = 1, SO_ERROR = 4;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int connect(int fd, ref byte addr, int len);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int getsockopt(int fd, int level, int name, ref int value, ref int len);

    /// <summary>
    /// Start a non-blocking connect(2) and give its errno (0: connected, EINPROGRESS: epoll will
    /// say). Called directly: <c>Socket.Connect</c> reports "in progress" by throwing, which made
    /// every new upstream connection throw and catch a SocketException.
    /// </summary>
    private static int StartConnect(Socket socket, IPEndPoint ep)
    {
        var address = ep.Serialize(); // the kernel's sockaddr_in / sockaddr_in6 bytes
        var bytes = address.Buffer.Span[..address.Size];
        if (connect((int)socket.Handle, ref bytes[0], bytes.Length) == 0) return 0;
        return System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
    }

    /// <summary>The errno a connect in progress ended with (SO_ERROR; 0: connected), as the kernel gives it.</summary>
    private static int ConnectResult(Socket socket)
    {
        int error = 0, len = sizeof(int);
        if (getsockopt((int)socket.Handle, SOL_SOCKET, SO_ERROR, ref error, ref len) != 0)
            return System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return error;
    }

    // a connect's errno, at once or at its end, in nginx's words where the cosocket has some
    private static string ConnectErrorText(int errno) => errno switch
    {
        ECONNREFUSED => "connection refused",
        ETIMEDOUT => "timeout",
        ENETUNREACH or EHOSTUNREACH => "no route to host",
        _ => System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno),
    };
}

/// <summary>
/// A client connection on a worker loop's reactor, as a Stream (upstream requests, cosockets, the
/// AI transport). Calls from other threads (HttpClient's own) are carried over to the loop.
/// </summary>
internal sealed class ReactorStream(ReactorSocket socket) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (socket.Loop.IsCurrent) return socket.ReceiveAsync(buffer, ct, streamErrors: true);
        return new ValueTask<int>(socket.Loop.RunAsync(() => socket.ReceiveAsync(buffer, ct, streamErrors: true).AsTask()));
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        if (socket.Loop.IsCurrent) return socket.SendAsync(buffer, ct, streamErrors: true);
        return new ValueTask(socket.Loop.RunAsync(() => socket.SendAsync(buffer, ct, streamErrors: true).AsTask()));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (socket.Loop.IsCurrent) throw new InvalidOperationException("a blocking read on the worker loop");
        return ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        if (socket.Loop.IsCurrent) throw new InvalidOperationException("a blocking write on the worker loop");
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) socket.Close();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        socket.Close();
        return ValueTask.CompletedTask;
    }
}
