using System.Text;
using Apisix.TestNginx.Client;
using Apisix.TestNginx.Parsing;

namespace Apisix.Tests.Checks;

/// <summary>Writes tiny .t texts to a private temp directory and loads them with the real loader.</summary>
internal sealed class SnippetFiles : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("checks-tests-").FullName;

    /// <summary>Loads a file made of a minimal preamble plus the given blocks.</summary>
    public TestFile Load(string data)
    {
        var path = Path.Combine(Root, $"t/snippet-{Guid.NewGuid():N}.t");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = "use Test::Nginx::Socket 'no_plan';\nrun_tests();\n\n__DATA__\n\n" + data;
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(text));
        return TestFileLoader.Load(path, Root);
    }

    /// <summary>The first block of a loaded snippet.</summary>
    public TestBlock Block(string data) => Load(data).Blocks[0];

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

internal static class Make
{
    /// <summary>A block built directly, without a .t file.</summary>
    public static TestBlock Block(string name, params (string Section, PerlValue Value)[] sections)
    {
        var block = new TestBlock { Index = 1, Name = name, Line = 1 };
        foreach (var (section, value) in sections) block.Set(section, value);
        return block;
    }

    public static PerlString S(string s) => new(s);

    public static PerlRegex Re(string pattern, string flags = "") => new(pattern, flags);

    public static PerlArray A(params PerlValue[] items) => new(items);

    /// <summary>A response as the client would have parsed it.</summary>
    public static HttpResult Response(int status, string body, params (string, string)[] headers)
    {
        var raw = new StringBuilder($"HTTP/1.1 {status} X\r\n");
        foreach (var (n, v) in headers) raw.Append($"{n}: {v}\r\n");
        if (!headers.Any(h => h.Item1.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)))
            raw.Append($"Content-Length: {body.Length}\r\n");
        raw.Append("\r\n").Append(body);
        return HttpResponseParser.Parse(raw.ToString());
    }
}

/// <summary>
/// A connected-stream stand-in: reads come from <paramref name="incoming"/> (e.g. a pipe the test
/// writes to slowly), writes are captured.
/// </summary>
internal sealed class DuplexTestStream(Stream incoming) : Stream
{
    public MemoryStream Written { get; } = new();
    public bool Disposed { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => incoming.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        incoming.ReadAsync(buffer, cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

    // writes and flushes complete at once (Stream's own async versions hop to the thread pool), so
    // the only wait a client has on this stream is a read with nothing there
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Written.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        if (disposing) incoming.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// A clock the test moves by hand (<see cref="Advance"/>): a timer fires only when the clock passes
/// its due time, however slow the machine. <see cref="AdvanceOnNextTimerAsync"/> moves it once the
/// code under test has armed a new timer (it waits again).
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<Timer> _live = new();
    private long _now;
    private int _created;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() { lock (_gate) return _now; }
    public TimeSpan Now => TimeSpan.FromTicks(GetTimestamp());

    /// <summary>How many timers were created so far.</summary>
    public int Created { get { lock (_gate) return _created; } }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new Timer(this, callback, state);
        t.Change(dueTime, period);
        lock (_gate)
        {
            _created++;
            Signal();
        }
        return t;
    }

    private int _seen;

    /// <summary>Wait until a timer created since the last call is armed, then move the clock on by <paramref name="by"/>.</summary>
    public async Task AdvanceOnNextTimerAsync(TimeSpan by)
    {
        await NextTimerAsync(_seen);
        _seen = Created;
        Advance(by);
    }

    /// <summary>Wait (30 s at most, a safety net) until a timer created after the first <paramref name="after"/> is armed.</summary>
    private async Task NextTimerAsync(int after)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_live.Any(t => t.Number > after)) return;
                changed = _changed.Task;
            }
            if (DateTime.UtcNow > until) throw new TimeoutException($"no timer armed after the first {after}");
            await Task.WhenAny(changed, Task.Delay(100));
        }
    }

    /// <summary>Move the clock on, firing (outside the lock) the timers that fall due.</summary>
    public void Advance(TimeSpan by)
    {
        List<Timer> due;
        lock (_gate)
        {
            _now += by.Ticks;
            due = _live.Where(t => t.Due <= _now).ToList();
            foreach (var t in due) _live.Remove(t);
        }
        foreach (var t in due) t.Fire();
    }

    private void Signal()
    {
        var old = _changed;
        _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    private sealed class Timer(ManualTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        public long Due;
        public readonly int Number = clock.Created + 1;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (period != Timeout.InfiniteTimeSpan) throw new NotSupportedException("periodic timers");
            lock (clock._gate)
            {
                clock._live.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan) return true;
                Due = clock._now + dueTime.Ticks;
                clock._live.Add(this);
                clock.Signal();
            }
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (clock._gate) clock._live.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
