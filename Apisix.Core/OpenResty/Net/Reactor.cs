using System.Runtime.InteropServices;

namespace Apisix.Core.OpenResty.Net;

/// <summary>Something a <see cref="Reactor"/> tells when its file descriptor is ready.</summary>
internal interface IReactorHandler
{
    /// <summary>Called on the loop's thread with epoll's event bits.</summary>
    void OnEvents(uint events);
}

/// <summary>
/// An epoll instance owned by one worker loop, as nginx's event module is per worker process: the
/// loop waits in <see cref="Poll"/> when it has nothing queued, sockets registered here are read
/// and written by that thread alone, and <see cref="Wake"/> (an eventfd) breaks the wait when
/// another thread posts work. Linux only; elsewhere the loop waits on a monitor and the host's
/// sockets stay .NET's.
/// </summary>
internal sealed class Reactor : IDisposable
{
    public const uint EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010, EPOLLRDHUP = 0x2000;
    public const uint EPOLLEXCLUSIVE = 1u << 28, EPOLLET = 1u << 31;
    private const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    private const int EPOLL_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;

    // struct epoll_event is packed on x86-64 (12 bytes)
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [DllImport("libc", SetLastError = true)] private static extern int epoll_create1(int flags);
    [DllImport("libc", SetLastError = true)] private static extern int epoll_ctl(int epfd, int op, int fd, ref EpollEvent ev);
    [DllImport("libc", SetLastError = true)] private static extern int epoll_wait(int epfd, [Out] EpollEvent[] events, int max, int timeout);
    [DllImport("libc", SetLastError = true)] private static extern int eventfd(uint initval, int flags);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, ref ulong buf, nint count);
    [DllImport("libc", SetLastError = true)] private static extern nint write(int fd, ref ulong buf, nint count);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);

    /// <summary>Whether this platform has the reactor (Linux on x86-64, where the struct layout above holds).</summary>
    public static bool Supported { get; } = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64
                                            && Environment.GetEnvironmentVariable("APISIX_NO_REACTOR") != "1";

    private readonly int _epfd, _eventfd;
    private readonly Dictionary<ulong, IReactorHandler> _handlers = new();
    private readonly EpollEvent[] _events = new EpollEvent[256];
    private ulong _nextToken = 1; // 0 is the eventfd
    private bool _disposed;

    public Reactor()
    {
        _epfd = epoll_create1(EPOLL_CLOEXEC);
        if (_epfd < 0) throw new IOException($"epoll_create1 failed ({Marshal.GetLastPInvokeError()})");
        _eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (_eventfd < 0) throw new IOException($"eventfd failed ({Marshal.GetLastPInvokeError()})");
        var ev = new EpollEvent { Events = EPOLLIN, Data = 0 };
        if (epoll_ctl(_epfd, EPOLL_CTL_ADD, _eventfd, ref ev) != 0) throw new IOException($"epoll_ctl failed ({Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Watch a descriptor (loop thread only); the token unregisters it.</summary>
    public ulong Register(int fd, uint events, IReactorHandler handler)
    {
        var token = _nextToken++;
        var ev = new EpollEvent { Events = events, Data = token };
        if (epoll_ctl(_epfd, EPOLL_CTL_ADD, fd, ref ev) != 0)
            throw new IOException($"epoll_ctl(ADD, {fd}) failed ({Marshal.GetLastPInvokeError()})");
        _handlers[token] = handler;
        return token;
    }

    /// <summary>Stop watching (before the descriptor is closed; loop thread only).</summary>
    public void Unregister(int fd, ulong token)
    {
        if (!_handlers.Remove(token) || _disposed) return;
        var ev = default(EpollEvent);
        epoll_ctl(_epfd, EPOLL_CTL_DEL, fd, ref ev);
    }

    /// <summary>Break a wait in <see cref="Poll"/> (any thread).</summary>
    public void Wake()
    {
        ulong one = 1;
        write(_eventfd, ref one, sizeof(ulong));
    }

    /// <summary>Wait up to <paramref name="timeoutMs"/> (-1: until something happens) and dispatch what is ready.</summary>
    public void Poll(int timeoutMs)
    {
        var n = epoll_wait(_epfd, _events, _events.Length, timeoutMs);
        for (var i = 0; i < n; i++)
        {
            var e = _events[i];
            if (e.Data == 0)
            {
                ulong count = 0;
                read(_eventfd, ref count, sizeof(ulong));
                continue;
            }
            if (_handlers.TryGetValue(e.Data, out var handler)) handler.OnEvents(e.Events);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _handlers.Clear();
        close(_eventfd);
        close(_epfd);
    }
}
