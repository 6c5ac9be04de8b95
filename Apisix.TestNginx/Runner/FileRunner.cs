using System.Diagnostics;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Net;
using Apisix.TestNginx.Checks;
using Apisix.TestNginx.Client;
using Apisix.TestNginx.Layers;
using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// Runs the blocks of one .t file in order, each against a fresh emulated nginx (nginx restarts
/// per block) on the file's own in-memory network, with state the layer keeps for the file (the
/// admin store). Where a block's requests go is <see cref="Connect"/>: the in-process server here.
/// </summary>
public sealed class FileRunner(string root)
{
    /// <summary>
    /// Before the logs are read: requests still running (a log phase, an inner request's) may
    /// take this long to end (generous, for a loaded machine; they usually end at once), then
    /// Test::Nginx's TEST_NGINX_SLEEP (15 ms) lets timers they started write their lines.
    /// </summary>
    private static readonly TimeSpan LogSettle = TimeSpan.FromMilliseconds(300), TestNginxSleep = TimeSpan.FromMilliseconds(15);

    private string RootDir => root;

    public async Task<FileOutcome> RunAsync(string path, Action<BlockOutcome>? onBlock = null)
    {
        var display = Path.GetRelativePath(root, Path.GetFullPath(path, root));
        var outcome = new FileOutcome { File = display.StartsWith("..", StringComparison.Ordinal) ? path : display };
        TestFile file;
        try { file = TestFileLoader.Load(path, root); }
        catch (TestFileException e)
        {
            outcome.Error = e.Message;
            return outcome;
        }
        foreach (var line in file.Settings.Printed) Console.Error.Write(line);

        var layer = LayerFor(file);
        if (layer == null)
        {
            outcome.Error = $"{display}: unsupported test module '{file.Settings.Module}' (expected t::APISIX or Test::Nginx::Socket[::Lua])";
            return outcome;
        }
        var network = new LoopbackNetwork();
        var hup = new HupState(file.Settings.UseHup || TestNginxLayer.Env(file, "TEST_NGINX_USE_HUP") == "1");
        Nginx? current = null;
        await using var host = await HttpServerHost.StartInMemoryAsync(network, ctx =>
            current is { } n ? n.HandleAsync(ctx) : Task.CompletedTask);
        try
        {
            var skipAll = TestPlan.SkipAll(file);
            // Cleanup handlers run as Test::Nginx's run_tests runs them (never after a skip_all plan,
            // which exits first); one that dies fails the file.
            string? cleanupError = null;
            void Cleanup(Action run)
            {
                if (skipAll != null) return;
                try { run(); }
                catch (TestFileException e) { cleanupError ??= e.Message; }
            }
            foreach (var block in file.SelectedBlocks())
            {
                var reps = Math.Max(1, file.Settings.RepeatEach);
                void Emit(BlockOutcome result)
                {
                    outcome.Blocks.Add(result);
                    onBlock?.Invoke(result);
                }
                await RunBlockAsync(layer, file, block, network, hup, n => current = n, reps, skipAll, Emit);
                foreach (var handler in file.TestCleanupHandlers) Cleanup(() => handler(block));
            }
            foreach (var handler in file.CleanupHandlers) Cleanup(handler);
            outcome.Error = cleanupError ?? TestPlan.Mismatch(file, outcome);
        }
        finally
        {
            network.Reset();
            network.Complete();
        }
        return outcome;
    }

    private TestNginxLayer? LayerFor(TestFile file) => file.Settings.Module switch
    {
        "t::APISIX" => new ApisixLayer(root),
        "Test::Nginx::Socket" or "Test::Nginx::Socket::Lua" or "Test::Nginx::Socket::Lua::Stream" => new TestNginxLayer(root),
        _ => null,
    };

    /// <summary>
    /// A block's repetitions (repeat_each). As Test::Nginx: nginx starts once for the block and
    /// serves every repetition (what one leaves behind, a resolver query in flight or a socket kept
    /// in a Lua upvalue, the next one meets); each repetition checks the error log lines written
    /// since the previous check, with its own mock TCP server; the shutdown log is checked once,
    /// after the last. A block whose nginx does not start is tried again for each repetition. Under a
    /// skip_all plan (<paramref name="skipAll"/>) nothing starts: each repetition is skipped with its reason.
    /// </summary>
    private async Task RunBlockAsync(TestNginxLayer layer, TestFile file, TestBlock block,
        LoopbackNetwork network, HupState hup, Action<Nginx?> setCurrent, int reps, string? skipAll, Action<BlockOutcome> emit)
    {
        BlockSession? session = null;
        try
        {
            for (var rep = 0; rep < reps; rep++)
            {
                var sw = Stopwatch.StartNew();
                if (skipAll != null)
                {
                    emit(new BlockOutcome { Index = block.Index, Name = block.Name, Status = BlockOutcome.Skip, Message = skipAll });
                    continue;
                }
                if (session == null)
                {
                    session = new BlockSession(this, layer, file, block, network, setCurrent);
                    if (await session.StartAsync(hup, sw) is { } ended)
                    {
                        await session.DisposeAsync();
                        session = null;
                        emit(ended);
                        continue;
                    }
                }
                emit(await session.RunRepetitionAsync(sw, rep, last: rep == reps - 1));
            }
        }
        finally
        {
            if (session != null) await session.DisposeAsync();
        }
    }

    /// <summary>One block's nginx, error log and worlds, kept across its repetitions.</summary>
    private sealed class BlockSession(FileRunner runner, TestNginxLayer layer, TestFile file, TestBlock block,
        LoopbackNetwork network, Action<Nginx?> setCurrent) : IAsyncDisposable
    {
        private readonly BlockWorld _world = new();
        private ErrorLog? _log;
        private Nginx? _nginx;
        private MockTcpServer? _mockTcp;
        private MockUdpServer? _mockUdp;
        private int _checkedUpTo;
        private bool _first = true;

        private string Root => runner.RootDir;

        private string Expand(string text) => TestNginxEnv.Expand(text, _world.Environment,
            name => throw new TestFileException(file.Path, 0, TestNginxEnv.Unset(block.Name, name)));

        private MockTcpServer? StartMock() => MockTcpServer.Start(file.Path, block, network, Expand);

        /// <summary>Build the world and start nginx: null when it runs, else the repetition's outcome.</summary>
        public async Task<BlockOutcome?> StartAsync(HupState hup, Stopwatch sw)
        {
            try
            {
                if (block.Skip) return Skipped(block, TestPlan.SkipSection, sw);
                layer.Preprocess(block, file);
                var world = _world;
                try { layer.Build(world, block, file); }
                catch (Core.OpenResty.Conf.NginxConfException e)
                {
                    // nginx refuses its configuration and does not start
                    return runner.NotStarted(block, file, world, e.Message, (e as Core.OpenResty.Conf.UnknownDirectiveException)?.Name, sw);
                }
                catch (Core.Config.ConfigException e)
                {
                    // apisix/core.lua raises it while nginx loads (init_by_lua), so nginx does not start
                    return runner.NotStarted(block, file, world, "failed to parse yaml config: " + e.Message, null, sw);
                }
                if (world.SkipReason != null) return Skipped(block, world.SkipReason, sw);

                // Test::Nginx forks its mock TCP server before nginx starts
                _mockTcp = StartMock();
                _log = new ErrorLog(world.LogLevel);
                _nginx = new Nginx(world.Conf, network, _log, world.Modules, TestNginxPaths.ServerRoot(Root), world.Workers)
                {
                    LogSocketErrors = world.LogSocketErrors,
                };
                hup.Reload(_nginx);
                foreach (var hook in world.OnNginx) hook(_nginx);
                setCurrent(_nginx);
                await _nginx.StartAsync();
                if (_nginx.InitFailure is { } initFailure) return runner.NotStarted(block, file, world, initFailure, null, sw, _log.Lines);
                if (block.Has("must_die"))
                    return Failed(block, $"{block.Name} - die as expected\n#   Failed test '{block.Name} - die as expected'\n#   nginx started: the emulation accepted this configuration", sw);
                return null;
            }
            catch (Exception e)
            {
                return Failed(block, e, sw);
            }
        }

        public async Task<BlockOutcome> RunRepetitionAsync(Stopwatch sw, int rep, bool last)
        {
            var world = _world;
            var nginx = _nginx!;
            var log = _log!;
            try
            {
                // Test::Nginx forks the mock TCP server anew for each repetition (the first one's started with nginx)
                if (!_first) _mockTcp = StartMock();
                _first = false;
                // and its UDP server, once nginx runs
                _mockUdp = MockUdpServer.Start(file.Path, block, network, Expand);
                var sleptBefore = nginx.RequestSleeps.Total;
                var idle = RequestBuilder.TimeoutOf(block, TimeSpan.FromSeconds(
                    double.TryParse(RunEnvironment.Get("TEST_NGINX_TIMEOUT"), out var t) ? t : 3));
                // Test::Nginx checks the logs after each request, after its `--- wait`: the error log's
                // lines written since the previous check (all with check_accum_error_log), the whole access log
                var requests = RequestBuilder.Build(block, world.ServerName, world.Environment);
                var results = new List<HttpResult>();
                var logSlices = new List<IReadOnlyList<string>>();
                var accessSoFar = new List<IReadOnlyList<string>>();
                var wait = double.TryParse(block.Text("wait")?.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var w)
                    ? TimeSpan.FromSeconds(w) : TimeSpan.Zero;
                async Task TakeLogsAsync()
                {
                    await SettleAsync(nginx);
                    var lines = log.Lines;
                    logSlices.Add(lines.Skip(file.Settings.CheckAccumErrorLog ? 0 : _checkedUpTo).ToList());
                    _checkedUpTo = lines.Count;
                    lock (world.AccessLog) accessSoFar.Add(world.AccessLog.ToList());
                }
                foreach (var request in requests)
                {
                    results.Add(await RawHttpClient.SendAsync(ct => Connect(network, world.ServerPort), request, idle,
                        shutdownWrite: block.Text("shutdown")?.Trim() is "1" or "2"));
                    if (wait > TimeSpan.Zero) await nginx.RequestSleeps.SleepAsync(wait, CancellationToken.None);
                    await TakeLogsAsync();
                }
                if (requests.Count == 0) await TakeLogsAsync();

                if (RunEnvironment.Get("TEST_NGINX_DUMP_LOGS") == "1")
                {
                    foreach (var l in log.Lines) Console.Error.WriteLine($"[error.log] {l}");
                    foreach (var l in world.AccessLog) Console.Error.WriteLine($"[access.log] {l}");
                }
                var slept = nginx.RequestSleeps.Total - sleptBefore;
                // --- shutdown_error_log: after the block's last repetition nginx stops (exit_worker_by_lua
                // runs), then the whole log is read; Test::Nginx checks it once per block
                IReadOnlyList<string>? shutdownLog = null;
                if (last && (block.Has("shutdown_error_log") || block.Has("no_shutdown_error_log")))
                {
                    _nginx = null;
                    setCurrent(null);
                    await nginx.DisposeAsync();
                    shutdownLog = log.Lines;
                }
                var check = BlockChecker.RunPerRequest(block, results, logSlices, accessSoFar,
                    new CheckOptions { ServerPort = world.ServerPort, PerlRoot = Root, Environment = world.Environment, Repetition = rep }, shutdownLog);
                _mockTcp?.Check(check);
                _mockUdp?.Check(check);
                if (!check.Ok && world.SkipIfFailed != null) return Skipped(block, world.SkipIfFailed, sw);
                var outcome = BlockOutcome.From(block.Index, block.Name, check, sw.Elapsed);
                outcome.Slept = slept;
                Record(outcome, requests, results, logSlices);
                return outcome;
            }
            catch (Exception e)
            {
                return Failed(block, e, sw);
            }
            finally
            {
                if (_mockTcp != null) await _mockTcp.StopAsync();
                _mockTcp = null;
                _mockUdp?.Stop();
                _mockUdp = null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            setCurrent(null);
            if (_nginx != null) await _nginx.DisposeAsync();
            _nginx = null;
            if (_mockTcp != null) await _mockTcp.StopAsync();
            _mockTcp = null;
            foreach (var stop in _world.OnStop) await stop();
        }
    }

    /// <summary>
    /// The block's nginx would not start (a configuration error, init_by_lua failing). As Test::Nginx:
    /// a `--- must_die` block expects exactly that and checks the error log; with
    /// TEST_NGINX_IGNORE_MISSING_DIRECTIVES set, a directive this build lacks skips the block;
    /// otherwise the block fails (Test::Nginx bails out: "Cannot start nginx").
    /// </summary>
    private BlockOutcome NotStarted(TestBlock block, TestFile file, BlockWorld world, string message, string? unknownDirective,
        Stopwatch sw, IReadOnlyList<string>? logLines = null)
    {
        var emerg = $"{DateTime.Now:yyyy/MM/dd HH:mm:ss} [emerg] 1#1: {message}";
        if (block.Has("must_die"))
        {
            var lines = logLines?.ToList() ?? [emerg];
            var check = BlockChecker.RunPerRequest(block, [], [lines], [],
                new CheckOptions { ServerPort = world.ServerPort, PerlRoot = root, Environment = world.Environment });
            check.Passed.Insert(0, $"{block.Name} - die as expected");
            return BlockOutcome.From(block.Index, block.Name, check, sw.Elapsed);
        }
        if (unknownDirective != null && PerlTrue(TestNginxLayer.Env(file, "TEST_NGINX_IGNORE_MISSING_DIRECTIVES")))
            return Skipped(block, $"the lack of directive {unknownDirective}", sw);
        var servroot = TestNginxPaths.ServerRoot(root);
        return Failed(block, $"{block.Name} - Cannot start nginx using command \"nginx -p {servroot}/ -c {servroot}/conf/nginx.conf\"\n"
                             + $"# nginx: [emerg] {message}", sw);
    }

    /// <summary>What `diff` compares: each request and response, the warn-and-above log lines each check saw.</summary>
    private static void Record(BlockOutcome outcome, IReadOnlyList<byte[]> requests, List<HttpResult> results,
        List<IReadOnlyList<string>> logSlices)
    {
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            var parsed = r.ParseError == null && r.Status != 0;
            outcome.Requests.Add(new RequestRecord
            {
                Request = i < requests.Count ? System.Text.Encoding.Latin1.GetString(requests[i]) : "",
                Status = parsed ? r.Status : null,
                RawHeaders = parsed ? r.RawHeaders : "",
                Body = r.ParseError == null ? r.Body : null,
                Error = r.Error ?? r.ParseError,
            });
        }
        outcome.ErrorLog = logSlices.Select(s => (IReadOnlyList<string>)Diff.ErrorLogLines.AtLeastWarn(s)).ToList();
    }

    private static bool PerlTrue(string? value) => !string.IsNullOrEmpty(value) && value != "0";

    private static async Task SettleAsync(Nginx nginx)
    {
        var sw = Stopwatch.StartNew();
        while (nginx.InFlight > 0 && sw.Elapsed < LogSettle) await Task.Delay(1);
        await Task.Delay(TestNginxSleep);
    }

    /// <summary>
    /// TEST_NGINX_USE_HUP=1: Test::Nginx reloads nginx with SIGHUP between blocks instead of
    /// restarting it. Workers (and their Lua) are new, but shared memory zones of the same name
    /// and size survive a reload, so a block sees the shared dicts the previous block left.
    /// </summary>
    private sealed class HupState(bool enabled)
    {
        private Dictionary<string, SharedDict> _zones = new(StringComparer.Ordinal);

        public void Reload(Nginx nginx)
        {
            if (!enabled) return;
            foreach (var (name, dict) in nginx.SharedDicts.ToList())
                if (_zones.TryGetValue(name, out var kept) && kept.Capacity == dict.Capacity)
                    nginx.SharedDicts[name] = kept;
            _zones = new Dictionary<string, SharedDict>(nginx.SharedDicts, StringComparer.Ordinal);
        }
    }

    /// <summary>Where a block's requests go: the emulated nginx on this file's network.</summary>
    private static ValueTask<Stream> Connect(LoopbackNetwork network, int port)
    {
        var (stream, err) = network.Connect("127.0.0.1", port);
        if (stream == null) throw new IOException($"failed to connect to 127.0.0.1:{port}: {err}");
        return ValueTask.FromResult(stream);
    }

    private static BlockOutcome Skipped(TestBlock b, string why, Stopwatch sw) =>
        new() { Index = b.Index, Name = b.Name, Status = BlockOutcome.Skip, Message = why, Elapsed = sw.Elapsed };

    private static BlockOutcome Failed(TestBlock b, string why, Stopwatch sw) =>
        new() { Index = b.Index, Name = b.Name, Status = BlockOutcome.Fail, Message = why, Elapsed = sw.Elapsed };

    /// <summary>
    /// A block that threw: what the file or its configuration got wrong is said in its own words;
    /// anything else is the runner's fault and keeps its stack.
    /// </summary>
    private static BlockOutcome Failed(TestBlock b, Exception e, Stopwatch sw) =>
        Failed(b, e is TestFileException or RequestBuildException or Core.OpenResty.Conf.NginxConfException or Core.Config.ConfigException
            ? e.Message
            : "runner error: " + e, sw);
}
