using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// nginx answers a protocol switch with "Connection: upgrade"; Kestrel's upgrade writes
/// "Connection: Upgrade". This connection middleware corrects that one byte in a 101 head on
/// its way out (same length, patched in place), so clients see nginx's header.
/// </summary>
public static class UpgradeHeadMiddleware
{
    public static Func<ConnectionDelegate, ConnectionDelegate> Create() =>
        next => ctx =>
        {
            ctx.Transport = new Pipe(ctx.Transport.Input, new PatchingWriter(ctx.Transport.Output));
            return next(ctx);
        };

    private sealed class Pipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    private static readonly byte[] StatusLine = "HTTP/1.1 101 "u8.ToArray();
    private static readonly byte[] Header = "\r\nConnection: Upgrade\r\n"u8.ToArray();

    /// <summary>Correct the header when <paramref name="data"/> starts a 101 head.</summary>
    public static void Patch(Span<byte> data)
    {
        if (!data.StartsWith(StatusLine)) return;
        var end = data.IndexOf("\r\n\r\n"u8);
        var head = end < 0 ? data : data[..(end + 2)];
        var at = head.IndexOf(Header);
        if (at >= 0) head[at + 2 + "Connection: ".Length] = (byte)'u';
    }

    private sealed class PatchingWriter(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _last;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _last = inner.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => (_last = inner.GetMemory(sizeHint)).Span;

        public override void Advance(int bytes)
        {
            if (bytes >= StatusLine.Length && bytes <= _last.Length) Patch(_last.Span[..bytes]);
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;
        public override long UnflushedBytes => inner.UnflushedBytes;
    }
}
