using System.IO.Pipelines;

namespace Apisix.Core.OpenResty.Net;

/// <summary>A Stream over one end of an in-memory connection: reads from one pipe, writes to the other.</summary>
public sealed class DuplexPipeStream : Stream
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Action? _onDispose;
    /// <summary>Sees every byte written (the server side's record of request heads).</summary>
    public RequestHeadLog? WriteLog { get; init; }
    private int _disposed;

    public DuplexPipeStream(PipeReader input, PipeWriter output, Action? onDispose = null)
    {
        _input = input;
        _output = output;
        _onDispose = onDispose;
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        while (true)
        {
            ReadResult result;
            try { result = await _input.ReadAsync(ct); }
            catch (InvalidOperationException) { return 0; } // reader already completed: treat as EOF
            var buf = result.Buffer;
            if (!buf.IsEmpty)
            {
                var n = (int)Math.Min(buf.Length, buffer.Length);
                var slice = buf.Slice(0, n);
                System.Buffers.BuffersExtensions.CopyTo(slice, buffer.Span);
                _input.AdvanceTo(slice.End);
                return n;
            }
            _input.AdvanceTo(buf.Start, buf.End);
            if (result.IsCompleted || result.IsCanceled) return 0;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        WriteLog?.Append(buffer.Span);
        var r = await _output.WriteAsync(buffer, ct);
        if (r.IsCompleted) throw new IOException("connection reset by peer");
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    /// <summary>Half-close: no more bytes go out (the peer reads EOF), reading goes on.</summary>
    public ValueTask CompleteWritingAsync() => _output.CompleteAsync();

    public override Task FlushAsync(CancellationToken ct) => _output.FlushAsync(ct).AsTask();
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _output.Complete();
            _input.Complete();
            _onDispose?.Invoke();
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        return ValueTask.CompletedTask;
    }
}
