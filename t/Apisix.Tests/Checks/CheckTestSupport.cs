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

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        if (disposing) incoming.Dispose();
        base.Dispose(disposing);
    }
}
