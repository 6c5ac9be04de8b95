using System.Diagnostics;
using System.Net.Sockets;

namespace Apisix.Tests.Gateway;

/// <summary>
/// A real etcd (Debian's etcd-server) for the gateway's etcd tests: the one `.ci/run` starts
/// (APISIX_TEST_ETCD_ENDPOINT, client port 23791), or, when there is none or a test must stop and
/// restart it, one of the test's own on free loopback ports, stopped by its pid.
/// </summary>
public sealed class EtcdServer : IDisposable
{
    private Process? _process;

    /// <summary>On two ports free now (fixed ones clash with another run of the suite on the machine).</summary>
    public EtcdServer() : this(GatewayWorld.FreePort(), GatewayWorld.FreePort()) { }

    public EtcdServer(int clientPort, int peerPort)
    {
        ClientPort = clientPort;
        PeerPort = peerPort;
        DataDir = Path.Combine(Path.GetTempPath(), $"apisix-etcd-{clientPort}-{Guid.NewGuid():N}"[..40]);
    }

    public int ClientPort { get; }
    public int PeerPort { get; }
    public string DataDir { get; }
    public string Endpoint => $"http://127.0.0.1:{ClientPort}";

    /// <summary>The etcd `.ci/run` started, or null when the tests run without it.</summary>
    public static string? SharedEndpoint => Environment.GetEnvironmentVariable("APISIX_TEST_ETCD_ENDPOINT");

    public static string Binary =>
        new[] { "/usr/bin/etcd", "/usr/local/bin/etcd" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("etcd is not installed (Debian: apt-get install etcd-server; .ci/run installs it)");

    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[]
                 {
                     "--name", "gw-test", "--data-dir", DataDir,
                     "--listen-client-urls", Endpoint, "--advertise-client-urls", Endpoint,
                     "--listen-peer-urls", $"http://127.0.0.1:{PeerPort}",
                     "--initial-advertise-peer-urls", $"http://127.0.0.1:{PeerPort}",
                     "--initial-cluster", $"gw-test=http://127.0.0.1:{PeerPort}",
                 })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (_process.HasExited) throw new InvalidOperationException($"etcd exited with {_process.ExitCode}");
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync("127.0.0.1", ClientPort);
                return;
            }
            catch (SocketException) { await Task.Delay(100); }
        }
        throw new InvalidOperationException("etcd did not start listening");
    }

    /// <summary>Stops it by its pid (SIGKILL: as a crash; the data directory stays for a restart).</summary>
    public void Stop()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit(10000);
        }
        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Stop();
        try { Directory.Delete(DataDir, true); } catch (IOException) { }
    }
}
