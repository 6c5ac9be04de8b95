using System.Globalization;
using System.Net;
using System.Text;
using Apisix.Core.OpenResty.Net;
using Apisix.TestNginx.Checks;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// Test::Nginx's embedded UDP server (<c>--- udp_listen</c>: a port, or a path ending in .sock), on
/// the file's in-memory network, one per repetition. As Test::Nginx's forked server: it answers the
/// first datagram only (later ones reach a socket nobody reads), after <c>udp_reply_delay</c>, with
/// <c>udp_reply</c> (a string, or an array sent as one datagram per item). After the block's own
/// checks, <c>udp_query</c> is checked against the datagram it got.
/// </summary>
public sealed class MockUdpServer
{
    private readonly TestBlock _block;
    private readonly LoopbackNetwork _network;
    private readonly string _target;
    private readonly CancellationTokenSource _stop = new();
    private string? _received;
    private int _got;

    private MockUdpServer(TestBlock block, LoopbackNetwork network, string target)
    {
        _block = block;
        _network = network;
        _target = target;
    }

    /// <summary>Why a block's mock UDP server cannot be set up here, or null.</summary>
    public static string? Unsupported(TestBlock block) => MockListen.Unsupported(block, "udp");

    /// <summary>Starts listening for a block with <c>--- udp_listen</c> (null for other blocks).</summary>
    public static MockUdpServer? Start(string path, TestBlock block, LoopbackNetwork network, Func<string, string> expand)
    {
        if (block.Text("udp_listen") is not { } listen) return null;
        var target = expand(listen.Trim());
        if (!block.Has("udp_reply"))
            throw new TestFileException(path, block.Line, $"{block.Name} - no --- udp_reply specified but --- udp_listen is specified");
        var server = new MockUdpServer(block, network, target);
        MockListen.Bind(path, block, "udp", target, port => network.BindUdp(IPAddress.Any, port, server.OnDatagram), unix => network.BindUdpUnix(unix, server.OnDatagram));
        return server;
    }

    private void OnDatagram(byte[] datagram, Action<byte[]> reply)
    {
        if (Interlocked.Increment(ref _got) != 1) return; // the forked server reads once, then answers and exits
        lock (this) _received = Encoding.Latin1.GetString(datagram);
        _ = ReplyAsync(reply);
    }

    private async Task ReplyAsync(Action<byte[]> reply)
    {
        // the server is another process: its answer arrives on a later turn of nginx's event loop
        await Task.Yield();
        try
        {
            if (_block.Text("udp_reply_delay") is { } d && MockTcpServer.ParseTime(d) is > 0 and var delay)
                await Task.Delay(TimeSpan.FromSeconds(delay), _stop.Token);
        }
        catch (OperationCanceledException) { return; }
        var value = _block.Get("udp_reply");
        var parts = value is PerlArray a ? a.Items.Select(i => i.ToString() ?? "") : [value?.ToString() ?? ""];
        foreach (var part in parts) reply(Encoding.Latin1.GetBytes(part));
    }

    /// <summary>Test::Nginx's run_udp_server_tests: the query check, after the block's other checks.</summary>
    public void Check(BlockCheckResult result)
    {
        if (_block.Text("udp_query") is not { } query) return;
        string got;
        lock (this) got = _received ?? "";
        var name = $"{_block.Name} - udp_query ok";
        if (got == query) result.Passed.Add(name);
        else result.Failures.Add(new CheckFailure(name, [.. Diagnostics.FailedTest(name, null), .. Diagnostics.Is(got, query, 16 * 1024)]));
    }

    /// <summary>Test::Nginx kills the server and closes its socket after the repetition.</summary>
    public void Stop()
    {
        if (int.TryParse(_target, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            _network.UnbindUdp(IPAddress.Any, port);
        else _network.UnbindUdpUnix(_target);
        _stop.Cancel();
    }
}
