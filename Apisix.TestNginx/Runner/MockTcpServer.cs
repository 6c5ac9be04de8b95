using System.Globalization;
using System.Net;
using System.Text;
using Apisix.Core.OpenResty.Net;
using Apisix.TestNginx.Checks;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// Test::Nginx's embedded TCP server (<c>--- tcp_listen</c>), on the file's in-memory network.
/// As Test::Nginx's forked server does: it serves the first connection only (later ones are
/// accepted by the listen backlog and never answered); unless <c>tcp_shutdown</c> closed that
/// side it reads 4 KiB at a time until it has <c>tcp_query_len</c> bytes (default: the length of
/// <c>tcp_query</c>; with neither, one read), or, with <c>tcp_query_auto_timeout</c>, until the
/// client is quiet that long (0.1 s by default); sleeps <c>tcp_reply_delay</c>; sends
/// <c>tcp_reply</c> (a string, or an array sent piece by piece); then closes the connection,
/// unless <c>tcp_no_close</c> keeps it open until the block ends. After the block's own checks,
/// <c>tcp_query</c> and <c>tcp_query_len</c> are checked against what it received.
/// </summary>
public sealed class MockTcpServer
{
    private readonly TestBlock _block;
    private readonly LoopbackNetwork _network;
    private readonly string _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Stream> _held = new();
    private readonly StringBuilder _received = new();
    private int _accepted;
    private Task _serving = Task.CompletedTask;

    private MockTcpServer(TestBlock block, LoopbackNetwork network, string target)
    {
        _block = block;
        _network = network;
        _target = target;
    }

    /// <summary>Why a block's mock server cannot be set up here, or null.</summary>
    public static string? Unsupported(TestBlock block) => MockListen.Unsupported(block, "tcp");

    /// <summary>Starts listening for a block with <c>--- tcp_listen</c> (null for other blocks).</summary>
    public static MockTcpServer? Start(string path, TestBlock block, LoopbackNetwork network, Func<string, string> expand)
    {
        if (block.Text("tcp_listen") is not { } listen) return null;
        var target = expand(listen.Trim());
        if (!block.Has("tcp_reply") && !block.Has("tcp_shutdown"))
            throw new TestFileException(path, block.Line, $"{block.Name} - no --- tcp_reply specified but --- tcp_listen is specified");
        var server = new MockTcpServer(block, network, target);
        MockListen.Bind(path, block, "tcp", target, port => network.BindRaw(IPAddress.Loopback, port, server.Accept), unix => network.BindUnix(unix, server.Accept));
        return server;
    }

    private void Accept(InMemoryConnection conn)
    {
        var stream = LoopbackNetwork.ServerStream(conn);
        lock (_held) _held.Add(stream);
        // the forked server accepts once; the listening socket stays open in Test::Nginx's process
        if (Interlocked.Increment(ref _accepted) == 1) _serving = Task.Run(() => ServeAsync(stream));
    }

    private async Task ServeAsync(Stream client)
    {
        var ct = _stop.Token;
        try
        {
            bool noRead = false, noWrite = false;
            if (_block.Text("tcp_shutdown") is { } how)
            {
                if (_block.Text("tcp_shutdown_delay") is { } d && ParseTime(d) is > 0 and var delay)
                    await Task.Delay(TimeSpan.FromSeconds(delay), ct);
                var mode = (int)PerlNumber(how);
                if (mode is 0 or 2) noRead = true;
                if (mode is 1 or 2) noWrite = true;
                // shutting the write side down: the client reads EOF
                if (noWrite) await ShutdownWriteAsync(client);
            }
            if (!noRead) await ReadQueryAsync(client, ct);
            if (_block.Text("tcp_reply_delay") is { } rd && ParseTime(rd) is > 0 and var replyDelay)
                await Task.Delay(TimeSpan.FromSeconds(replyDelay), ct);
            if (!noWrite && _block.Get("tcp_reply") is { } reply)
            {
                var parts = reply is PerlArray a ? a.Items.Select(i => i.ToString() ?? "") : [reply.ToString() ?? ""];
                foreach (var part in parts)
                {
                    try
                    {
                        await client.WriteAsync(Encoding.Latin1.GetBytes(part), ct);
                        await client.FlushAsync(ct);
                    }
                    catch (IOException) { break; }
                }
            }
            if (_block.Has("tcp_no_close")) return; // held open until the block ends
            await client.DisposeAsync();
        }
        catch (OperationCanceledException) { }
    }

    private static async Task ShutdownWriteAsync(Stream client)
    {
        // the server end's writer completes; reading stays possible
        if (client is DuplexPipeStream d) await d.CompleteWritingAsync();
    }

    private async Task ReadQueryAsync(Stream client, CancellationToken ct)
    {
        var wantLen = _block.Text("tcp_query_len") is { } ql ? (int)PerlNumber(ql)
            : _block.Text("tcp_query") is { } q ? q.Length : 0;
        double? quiet = null;
        if (_block.Get("tcp_query_auto_timeout") is { } auto)
            quiet = auto.ToString() is { Length: > 0 } s ? PerlNumber(s) : 0.1;
        var chunk = new byte[4096];
        while (true)
        {
            int n;
            if (quiet is { } wait)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(wait));
                try { n = await client.ReadAsync(chunk, cts.Token); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return; }
            }
            else n = await client.ReadAsync(chunk, ct);
            lock (_received) _received.Append(Encoding.Latin1.GetString(chunk, 0, n));
            if (n == 0 && (quiet != null || wantLen > 0))
            {
                // Perl's recv keeps returning "" at EOF and the loop never ends: the server hangs
                await Task.Delay(Timeout.Infinite, ct);
            }
            if (quiet == null && (wantLen == 0 || ReceivedLength >= wantLen)) return;
        }
    }

    private int ReceivedLength { get { lock (_received) return _received.Length; } }

    /// <summary>Test::Nginx's run_tcp_server_tests: the query checks, after the block's other checks.</summary>
    public void Check(BlockCheckResult result)
    {
        string got;
        lock (_received) got = _received.ToString();
        var name = _block.Name;
        if (_block.Text("tcp_query") is { } query)
        {
            if (got == query) result.Passed.Add($"{name} - tcp_query ok");
            else result.Failures.Add(new CheckFailure($"{name} - tcp_query ok",
                [.. Diagnostics.FailedTest($"{name} - tcp_query ok", null), .. Diagnostics.Is(got, query, 16 * 1024)]));
        }
        if (_block.Text("tcp_query_len") is { } len)
        {
            var expected = ((long)PerlNumber(len)).ToString(CultureInfo.InvariantCulture);
            var actual = got.Length.ToString(CultureInfo.InvariantCulture);
            if (expected == actual) result.Passed.Add($"{name} - TCP query length ok");
            else result.Failures.Add(new CheckFailure($"{name} - TCP query length ok",
                [.. Diagnostics.FailedTest($"{name} - TCP query length ok", null), .. Diagnostics.Is(actual, expected, 100)]));
        }
    }

    /// <summary>Test::Nginx kills the server after the block: every connection it holds closes.</summary>
    public async Task StopAsync()
    {
        if (int.TryParse(_target, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            _network.UnbindRaw(IPAddress.Loopback, port);
        else _network.UnbindUnix(_target);
        _stop.Cancel();
        try { await _serving; } catch (Exception) { /* the server's own failure ends with it */ }
        List<Stream> held;
        lock (_held) held = _held.ToList();
        foreach (var s in held) await s.DisposeAsync();
    }

    /// <summary>Test::Nginx's parse_time: seconds, with an optional "ms" or "s" suffix.</summary>
    public static double? ParseTime(string text)
    {
        var t = text.Trim();
        if (t.Length == 0) return null;
        var scale = 1.0;
        if (t.Length > 2 && t.EndsWith("ms", StringComparison.Ordinal) && !char.IsLetter(t[^3]) && t[^3] != '_') { t = t[..^2]; scale = 0.001; }
        else if (t.Length > 1 && t.EndsWith('s') && !char.IsLetter(t[^2]) && t[^2] != '_') t = t[..^1];
        return PerlNumber(t) * scale;
    }

    /// <summary>A string's numeric value as Perl reads it: its leading number, else 0.</summary>
    private static double PerlNumber(string s)
    {
        var m = System.Text.RegularExpressions.Regex.Match(s.Trim(), @"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?");
        return m.Success ? double.Parse(m.Value, CultureInfo.InvariantCulture) : 0;
    }
}
