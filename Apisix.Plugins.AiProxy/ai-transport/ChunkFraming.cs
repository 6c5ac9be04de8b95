using System.Globalization;
using System.Text;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// How one HTTP/1.1 response was framed on the wire: its status, whether its body is chunked,
/// and the sizes of the data chunks whose size line has gone past so far (oldest first).
/// </summary>
/// <remarks>
/// resty.http's body_reader hands out one chunk per call, and the gateway forwards each as its own
/// flushed chunk, so clients (and tests) can count them. HttpClient decodes chunked bodies and hides
/// where one chunk ends; these sizes let <see cref="Http"/>'s reader cut its decoded bytes back into
/// the chunks the server sent.
/// </remarks>
internal sealed class ResponseFrame(int status, bool chunked)
{
    private readonly Queue<int> _sizes = new();

    public int Status { get; } = status;
    public bool Chunked { get; } = chunked;

    internal void Add(int size)
    {
        lock (_sizes) _sizes.Enqueue(size);
    }

    /// <summary>The size of the next data chunk not yet handed out, if its size line has been read.</summary>
    public bool TryTakeChunkSize(out int size)
    {
        lock (_sizes) return _sizes.TryDequeue(out size);
    }
}

/// <summary>
/// The connection stream as the HTTP handler reads it, with the response framing of every byte
/// read noted down (<see cref="ResponseFrame"/>). Bytes pass through untouched; only reads are
/// parsed (requests are not). Sequential responses on a kept-alive connection are followed: heads,
/// Content-Length bodies, chunked bodies with extensions and trailers, bodiless responses (HEAD,
/// 1xx, 204, 304). A body that runs until close, or bytes that do not parse, end the noting;
/// the reader then falls back to handing out bytes as they come.
/// </summary>
internal sealed class ChunkFramingStream(Stream inner, Func<bool> requestIsHead) : Stream
{
    private enum State { StatusLine, Header, FixedBody, ChunkSize, ChunkData, ChunkDataEnd, Trailer, Ignore }

    // a longer head or size line is not HTTP we can follow
    private const int MaxLine = 64 * 1024;

    private readonly object _lock = new();
    private readonly MemoryStream _line = new();
    private State _state = State.StatusLine;
    private long _remaining;
    private int _status;
    private bool _hasTransferEncoding;
    private bool _chunked;
    private long? _contentLength;
    private ResponseFrame? _current;
    private ResponseFrame? _latest;

    /// <summary>
    /// The last final (non-1xx) response whose head has been read, and forget it. Called once the
    /// handler has returned a response: requests on a connection go one at a time, so it is that one.
    /// </summary>
    public ResponseFrame? TakeLatest()
    {
        lock (_lock)
        {
            var f = _latest;
            _latest = null;
            return f;
        }
    }

    private void Observe(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            while (data.Length > 0)
            {
                switch (_state)
                {
                    case State.StatusLine:
                        if (!TakeLine(ref data, out var statusLine)) break;
                        if (statusLine.Length == 0) break; // stray empty line between responses
                        if (!statusLine.StartsWith("HTTP/", StringComparison.Ordinal) || statusLine.Length < 12
                            || !int.TryParse(statusLine.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out _status))
                        {
                            _state = State.Ignore;
                            break;
                        }
                        _hasTransferEncoding = false;
                        _chunked = false;
                        _contentLength = null;
                        _state = State.Header;
                        break;

                    case State.Header:
                        if (!TakeLineBytes(ref data, out var header)) break;
                        if (header.Length == 0) EndOfHead();
                        else if (IsFramingHeader(header)) NoteHeader(Encoding.Latin1.GetString(header));
                        break;

                    case State.FixedBody:
                    case State.ChunkData:
                        var n = (int)Math.Min(_remaining, data.Length);
                        data = data[n..];
                        _remaining -= n;
                        if (_remaining == 0) _state = _state == State.FixedBody ? State.StatusLine : State.ChunkDataEnd;
                        break;

                    case State.ChunkSize:
                        if (!TakeLineBytes(ref data, out var sizeBytes)) break;
                        long size;
                        if (!TryShortHex(sizeBytes, out size))
                        {
                            var sizeLine = Encoding.Latin1.GetString(sizeBytes);
                            var semi = sizeLine.IndexOf(';'); // chunk extensions are ignored
                            var hex = (semi >= 0 ? sizeLine[..semi] : sizeLine).Trim(' ', '\t');
                            if (!long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out size)
                                || size < 0 || size > int.MaxValue)
                            {
                                _state = State.Ignore;
                                break;
                            }
                        }
                        if (size == 0)
                        {
                            _state = State.Trailer;
                            break;
                        }
                        _current!.Add((int)size);
                        _remaining = size;
                        _state = State.ChunkData;
                        break;

                    case State.ChunkDataEnd:
                        if (!TakeLineBytes(ref data, out var end)) break;
                        _state = end.Length == 0 ? State.ChunkSize : State.Ignore;
                        break;

                    case State.Trailer:
                        // trailer fields are skipped; the empty line ends the response
                        if (!TakeLineBytes(ref data, out var trailer)) break;
                        if (trailer.Length == 0) _state = State.StatusLine;
                        break;

                    default:
                        data = default;
                        break;
                }
            }
        }
    }

    // Only these two header lines matter to the framing; the others are passed over without a string.
    private static bool IsFramingHeader(ReadOnlySpan<byte> line)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0) return false;
        var name = line[..colon];
        // as string.Trim does on the Latin-1 text
        while (name.Length > 0 && char.IsWhiteSpace((char)name[0])) name = name[1..];
        while (name.Length > 0 && char.IsWhiteSpace((char)name[^1])) name = name[..^1];
        return System.Text.Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) || System.Text.Ascii.EqualsIgnoreCase(name, "Content-Length"u8);
    }

    // A size line of one to eight hex digits and nothing else (what servers send); others take the general path.
    private static bool TryShortHex(ReadOnlySpan<byte> line, out long size)
    {
        size = 0;
        if (line.Length is 0 or > 8) return false;
        foreach (var b in line)
        {
            int d = b is >= (byte)'0' and <= (byte)'9' ? b - '0' : b is >= (byte)'a' and <= (byte)'f' ? b - 'a' + 10
                : b is >= (byte)'A' and <= (byte)'F' ? b - 'A' + 10 : -1;
            if (d < 0) return false;
            size = size * 16 + d;
        }
        return size <= int.MaxValue;
    }

    private void NoteHeader(string line)
    {
        var colon = line.IndexOf(':');
        if (colon <= 0) return;
        var name = line[..colon].Trim();
        var value = line[(colon + 1)..].Trim();
        if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
        {
            // chunked only when it is the last coding applied
            _hasTransferEncoding = true;
            var last = value.Split(',')[^1].Trim();
            _chunked = last.Equals("chunked", StringComparison.OrdinalIgnoreCase);
        }
        else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                 && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var len))
        {
            _contentLength = len;
        }
    }

    private void EndOfHead()
    {
        if (_status is >= 100 and < 200)
        {
            // an interim response: the real one follows (101 hands the connection over)
            _state = _status == 101 ? State.Ignore : State.StatusLine;
            return;
        }
        var noBody = requestIsHead() || _status is 204 or 304;
        _current = new ResponseFrame(_status, _chunked && !noBody);
        _latest = _current;
        if (noBody) _state = State.StatusLine;
        else if (_hasTransferEncoding) _state = _chunked ? State.ChunkSize : State.Ignore; // else: until close
        else if (_contentLength is { } len)
        {
            _remaining = len;
            _state = len > 0 ? State.FixedBody : State.StatusLine;
        }
        else _state = State.Ignore; // read until close: nothing follows on this connection
    }

    // A whole line (LF ended, a CR before it dropped) once it is complete, else keep the part.
    private bool TakeLine(ref ReadOnlySpan<byte> data, out string line)
    {
        if (!TakeLineBytes(ref data, out var bytes))
        {
            line = "";
            return false;
        }
        line = Encoding.Latin1.GetString(bytes);
        return true;
    }

    // The same as bytes, valid until the next line is taken.
    private bool TakeLineBytes(ref ReadOnlySpan<byte> data, out ReadOnlySpan<byte> line)
    {
        var lf = data.IndexOf((byte)'\n');
        var part = lf >= 0 ? data[..lf] : data;
        data = lf >= 0 ? data[(lf + 1)..] : default;
        if (_line.Length + part.Length > MaxLine)
        {
            _state = State.Ignore;
            line = default;
            return false;
        }
        if (lf >= 0 && _line.Length == 0)
        {
            // the whole line is in this read: no copy
            line = part.Length > 0 && part[^1] == '\r' ? part[..^1] : part;
            return true;
        }
        _line.Write(part);
        if (lf < 0)
        {
            line = default;
            return false;
        }
        var bytes = _line.GetBuffer().AsSpan(0, (int)_line.Length);
        if (bytes.Length > 0 && bytes[^1] == '\r') bytes = bytes[..^1];
        line = bytes;
        _line.SetLength(0);
        return true;
    }

    // ---- Stream: reads are observed, everything else goes straight through

    public override bool CanRead => inner.CanRead;
    public override bool CanWrite => inner.CanWrite;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var n = await inner.ReadAsync(buffer, ct).ConfigureAwait(false);
        Observe(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Observe(buffer[..n]);
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => inner.WriteAsync(buffer, ct);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.WriteAsync(buffer, offset, count, ct);
    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
