using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Apisix.Gateway;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Gateway;

/// <summary>The host itself: admin API on its own port, config.yaml errors, standalone reloads, SIGTERM.</summary>
[Collection("gateway")]
public sealed class HostTests(GatewayWorld world) : IClassFixture<GatewayWorld>
{
    [Fact]
    public async Task Admin_without_or_with_a_wrong_key_gets_apisix_401()
    {
        // standalone (config_provider yaml): the admin API is APISIX's standalone one, /apisix/admin/configs
        var missing = await RawHttp.GetAsync(world.AdminPort, "/apisix/admin/configs");
        missing.Should().StartWith("HTTP/1.1 401 Unauthorized");
        missing.Should().Contain("\r\n45\r\n{\"error_msg\":\"failed to check token\",\"description\":\"missing apikey\"}\n\r\n");
        var wrong = await RawHttp.ExchangeAsync(world.AdminPort,
            "GET /apisix/admin/configs HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: nope\r\nConnection: close\r\n\r\n");
        wrong.Should().StartWith("HTTP/1.1 401 Unauthorized");
        wrong.Should().Contain("{\"error_msg\":\"failed to check token\",\"description\":\"wrong apikey\"}\n");
        var ok = await RawHttp.ExchangeAsync(world.AdminPort,
            $"HEAD /apisix/admin HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {GatewayWorld.AdminKey}\r\nConnection: close\r\n\r\n");
        ok.Should().StartWith("HTTP/1.1 200 OK");
        // the etcd resources are not served in standalone mode, as in APISIX: the router has no such route
        var routes = await RawHttp.ExchangeAsync(world.AdminPort,
            $"GET /apisix/admin/routes/chat HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {GatewayWorld.AdminKey}\r\nConnection: close\r\n\r\n");
        routes.Should().StartWith("HTTP/1.1 404");
        // the admin API is not on the data plane's port
        var onNode = await RawHttp.GetAsync(world.NodePort, "/apisix/admin/routes");
        onNode.Should().StartWith("HTTP/1.1 404");
    }

    [Fact]
    public async Task A_header_the_upstream_repeats_reaches_the_client_every_time()
    {
        // nginx's proxy module passes each header line of the upstream's response on
        var resp = await RawHttp.GetAsync(world.NodePort, "/plain/cookies");
        resp.Should().StartWith("HTTP/1.1 200 OK");
        resp.Should().Contain("\r\nSet-Cookie: a=1\r\n").And.Contain("\r\nSet-Cookie: b=2\r\n").And.Contain("\r\nSet-Cookie: c=3\r\n");
    }

    [Fact]
    public async Task Standalone_file_changes_apply_and_a_broken_file_keeps_the_last_good_one()
    {
        var path = Path.Combine(world.Prefix, "conf", "apisix.yaml");
        var good = await File.ReadAllTextAsync(path);
        var added = good.Replace("#END", string.Join("\n",
            "  - id: added",
            "    uri: /added",
            "    plugins:",
            "      fault-injection:",
            "        abort:",
            "          http_status: 200",
            "          body: \"added at run time\"",
            "#END"));
        try
        {
            await File.WriteAllTextAsync(path, added);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(2));
            (await GatewayWorld.EventuallyAsync(() => RawHttp.GetAsync(world.NodePort, "/added").Result.Contains("added at run time"))).Should().BeTrue();
            world.ErrorLog.Should().Contain(l => l.Contains("[warn]") && l.Contains($"config file {path} reloaded."));

            // no #END: the file is refused, with APISIX's words, and the routes stay
            await File.WriteAllTextAsync(path, added.Replace("#END", ""));
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(4));
            (await GatewayWorld.EventuallyAsync(() => world.ErrorLog.Any(l => l.Contains(
                $"[error]") && l.Contains($"failed to parse the content of file {path}: missing valid end flag in file {path}")))).Should().BeTrue();
            (await RawHttp.GetAsync(world.NodePort, "/added")).Should().Contain("added at run time");
        }
        finally
        {
            await File.WriteAllTextAsync(path, good);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(6));
        }
    }

    private static async Task<string> StartFailsAsync(string yaml)
    {
        var dir = Path.Combine(Path.GetTempPath(), "apisix-gw-bad-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "conf"));
        try
        {
            var act = () => GatewayHost.StartAsync(new GatewayOptions { Prefix = dir, ConfigYaml = yaml });
            return (await act.Should().ThrowAsync<GatewayStartException>()).Which.Message;
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Invalid_config_stops_start_up_with_apisix_message()
    {
        (await StartFailsAsync("apisix:\n  node_listen: \"abc\"\n"))
            .Should().Be("failed to read local yaml config of apisix: failed to merge, path[apisix->node_listen] expect: table, but got: string");
        (await StartFailsAsync("apisix:\n  node_listen: 9180\n")).Should().Be("http listen port 9180 conflicts with admin port");
        (await StartFailsAsync("apisix: [\n")).Should().StartWith("failed to read local yaml config of apisix: ");
    }

    [Fact]
    public async Task Allow_admin_refuses_other_addresses_with_403()
    {
        var dir = Path.Combine(Path.GetTempPath(), "apisix-gw-allow-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "conf"));
        await File.WriteAllTextAsync(Path.Combine(dir, "conf", "apisix.yaml"), "routes: []\n#END\n");
        var node = GatewayWorld.FreePort();
        var admin = GatewayWorld.FreePort();
        var host = await GatewayHost.StartAsync(new GatewayOptions
        {
            Prefix = dir,
            ConfigYaml = world.ConfigYaml.Replace($"node_listen: {world.NodePort}", $"node_listen: {node}")
                .Replace($"port: {world.AdminPort}", $"port: {admin}").Replace("- 127.0.0.0/24", "- 10.0.0.0/8"),
        });
        try
        {
            var resp = await RawHttp.GetAsync(admin, "/apisix/admin/routes");
            resp.Should().StartWith("HTTP/1.1 403 Forbidden").And.Contain("<title>403 Forbidden</title>");
            host.Nginx.ErrorLog.Lines.Should().ContainSingle(l => l.Contains("[error]") && l.Contains("access forbidden by rule"));
        }
        finally
        {
            await host.StopAsync();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Process_exits_1_with_one_line_on_a_bad_config()
    {
        var dir = Path.Combine(Path.GetTempPath(), "apisix-gw-proc-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "conf"));
        await File.WriteAllTextAsync(Path.Combine(dir, "conf", "config.yaml"), "apisix:\n  node_listen: \"abc\"\n");
        try
        {
            var (code, stdout, stderr) = await RunGatewayAsync(dir, TimeSpan.FromSeconds(60));
            code.Should().Be(1);
            stderr.TrimEnd().Should().Be("failed to read local yaml config of apisix: failed to merge, path[apisix->node_listen] expect: table, but got: string");
            stdout.Should().BeEmpty();
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string GatewayDll => Path.Combine(AppContext.BaseDirectory, "Apisix.Gateway.dll");

    private static async Task<(int Code, string Stdout, string Stderr)> RunGatewayAsync(string prefix, TimeSpan limit)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(GatewayDll);
        psi.ArgumentList.Add("-p");
        psi.ArgumentList.Add(prefix);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(limit);
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await output, await err);
    }

    [Fact]
    public async Task Sigterm_finishes_the_request_in_flight_then_exits()
    {
        var dir = Path.Combine(Path.GetTempPath(), "apisix-gw-term-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "conf"));
        var node = GatewayWorld.FreePort();
        var admin = GatewayWorld.FreePort();
        await File.WriteAllTextAsync(Path.Combine(dir, "conf", "config.yaml"),
            world.ConfigYaml.Replace($"node_listen: {world.NodePort}", $"node_listen: {node}").Replace($"port: {world.AdminPort}", $"port: {admin}")
            + "\n  worker_shutdown_timeout: 20s\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "conf", "apisix.yaml"), world.ApisixYaml(world.Mock.Port));
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(GatewayDll);
        psi.ArgumentList.Add("-p");
        psi.ArgumentList.Add(dir);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            (await GatewayWorld.EventuallyAsync(() => Listening(node), 60)).Should().BeTrue();
            // the mock holds the stream's last chunk until the signal is sent: the request is in flight then
            var hold = world.Mock.HoldLastChunk = new(TaskCreationOptions.RunContinuationsAsynchronously);
            var body = "{\"model\":\"gpt-term\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", node);
            var s = client.GetStream();
            await s.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
            var first = new byte[1024];
            (await s.ReadAsync(first)).Should().BeGreaterThan(0); // the stream has begun
            Process.Start("kill", ["-TERM", p.Id.ToString()]).WaitForExit();
            // shutting down, it stops listening first (as nginx closes its listening sockets), with the stream still held
            (await GatewayWorld.EventuallyAsync(() => !Listening(node), 30)).Should().BeTrue();
            hold.TrySetResult();
            var rest = await RawHttp.ReadToCloseAsync(s, 30);
            (Encoding.ASCII.GetString(first) + rest).Should().Contain("data: [DONE]");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await p.WaitForExitAsync(cts.Token);
            p.ExitCode.Should().Be(0, await stderr);
            Listening(node).Should().BeFalse();
        }
        finally
        {
            if (!p.HasExited) p.Kill();
            world.Mock.HoldLastChunk = null;
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData(null, "0x10000000")]
    [InlineData("0x2000000", "0x2000000")]
    public async Task Process_runs_with_its_gen0_budget_unless_one_is_given(string? given, string expected)
    {
        if (!OperatingSystem.IsLinux()) return; // the re-exec is Linux's (docs/gateway.md, Tuning)
        var dir = Path.Combine(Path.GetTempPath(), "apisix-gw-gc-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "conf"));
        var node = GatewayWorld.FreePort();
        var admin = GatewayWorld.FreePort();
        await File.WriteAllTextAsync(Path.Combine(dir, "conf", "config.yaml"),
            world.ConfigYaml.Replace($"node_listen: {world.NodePort}", $"node_listen: {node}").Replace($"port: {world.AdminPort}", $"port: {admin}"));
        await File.WriteAllTextAsync(Path.Combine(dir, "conf", "apisix.yaml"), world.ApisixYaml(world.Mock.Port));
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(GatewayDll);
        psi.ArgumentList.Add("-p");
        psi.ArgumentList.Add(dir);
        psi.Environment.Remove("COMPlus_GCgen0size");
        if (given == null) psi.Environment.Remove("DOTNET_GCgen0size");
        else psi.Environment["DOTNET_GCgen0size"] = given;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            (await GatewayWorld.EventuallyAsync(() => Listening(node), 60)).Should().BeTrue();
            // the process that serves is the one started (same pid), with the budget in its environment
            var environ = (await File.ReadAllTextAsync($"/proc/{p.Id}/environ")).Split('\0');
            environ.Where(e => e.StartsWith("DOTNET_GCgen0size=", StringComparison.Ordinal)).Should().Equal("DOTNET_GCgen0size=" + expected);
            Process.Start("kill", ["-TERM", p.Id.ToString()]).WaitForExit();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await p.WaitForExitAsync(cts.Token);
            p.ExitCode.Should().Be(0, await stderr);
            (await stdout).Should().Contain("listening");
        }
        finally
        {
            if (!p.HasExited) p.Kill();
            Directory.Delete(dir, true);
        }
    }

    private static bool Listening(int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException) { return false; }
    }
}
