using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Healthcheck;

/// <summary>
/// Port of lua-resty-healthcheck (api7 fork, 3.2.x) as APISIX uses it: a checker keeps a list of
/// targets (ip, port, hostname) whose health lives in a shared dict, so all workers of one nginx
/// see the same state; each worker holds a local view of it, updated by broadcast events, and
/// answers <see cref="GetTargetStatus"/> from that view. Active HTTP/TCP probes run from a
/// periodic timer of the worker holding the periodic lock; passive results come in through the
/// Report* methods. A checker belongs to the worker that created it and is used on its loop.
/// </summary>
public sealed class Healthchecker
{
    // timer constants, as the library has them
    internal const double CheckInterval = 0.1;
    private const double CheckJitter = CheckInterval * 0.1;
    private const double LockPeriod = CheckInterval * 15;
    private const double CleanupInterval = CheckInterval * 25;

    // four 8-bit counters packed in one shm number
    private const long CtrSuccess = 0x00000001;
    private const long CtrHttp = 0x00000100;
    private const long CtrTcp = 0x00010000;
    private const long CtrTimeout = 0x01000000;
    private const long MaskFailure = 0xffffff00;
    private const long MaskSuccess = 0x000000ff;

    private const string ShmPrefix = "lua-resty-healthcheck:";
    private const string EventSourcePrefix = "lua-resty-healthcheck";

    private static readonly string[] InternalStates = ["healthy", "unhealthy", "mostly_healthy", "mostly_unhealthy"];
    private static readonly Regex StatusLine = new(@"^HTTP/\d+\.\d+\s+(\d+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static long _nextAddress = 0x7f0000a0;

    internal static double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    private sealed class LocalTarget
    {
        public required string Ip { get; init; }
        public required int Port { get; init; }
        public required string Hostname { get; init; }
        public string? InternalHealth { get; set; }
    }

    /// <summary>One entry of the target list kept in the shm (serialised as JSON).</summary>
    internal sealed class ShmTarget
    {
        [JsonPropertyName("ip")] public string Ip { get; set; } = "";
        [JsonPropertyName("port")] public int Port { get; set; }
        [JsonPropertyName("hostname")] public string Hostname { get; set; } = "";
        [JsonPropertyName("hostheader")] public string? HostHeader { get; set; }
        [JsonPropertyName("purge_time")] public double? PurgeTime { get; set; }
    }

    private readonly List<LocalTarget> _targets = new();
    private readonly Dictionary<(string, int, string), LocalTarget> _byKey = new();
    private readonly HealthcheckEvents _events;
    private readonly Action<string, HealthTarget?> _evCallback;
    private readonly string _address;

    private Healthchecker(LuaWorker worker, string name, string shmName, SharedDict shm, CheckSettings active, CheckSettings passive)
    {
        Worker = worker;
        Name = name;
        ShmName = shmName;
        Shm = shm;
        Active = active;
        Passive = passive;
        _events = HealthcheckEvents.Of(worker.Nginx);
        _evCallback = (evt, t) => EventHandler(evt, t?.Ip, t?.Port ?? 0, t?.Hostname);
        _address = $"table: 0x{Interlocked.Add(ref _nextAddress, 0x58):x14}";
        TargetState = ShmPrefix + name + ":state";
        TargetCounter = ShmPrefix + name + ":counter";
        TargetList = ShmPrefix + name + ":target_list";
        TargetListLock = ShmPrefix + name + ":target_list_lock";
        TargetLock = ShmPrefix + name + ":target_lock";
        PeriodicLock = ShmPrefix + ":period_lock:";
        EventSource = EventSourcePrefix + " [" + name + "]";
        LogPrefix = "[healthcheck] (" + name + ") ";
    }

    public LuaWorker Worker { get; }
    public Nginx Nginx => Worker.Nginx;
    public string Name { get; }
    public string ShmName { get; }
    public SharedDict Shm { get; }
    public CheckSettings Active { get; }
    public CheckSettings Passive { get; }

    /// <summary>
    /// `status_ver`: bumped in this worker's view each time a target flips between the healthy
    /// side (healthy, mostly_healthy) and the unhealthy side, including when a target first appears.
    /// </summary>
    public long StatusVer { get; private set; }

    /// <summary>`checker.dead`: set by the health-check manager when it releases the checker.</summary>
    public bool Dead { get; set; }

    /// <summary>True once <see cref="Stop"/> ran (or its nginx/worker is going away).</summary>
    public bool Stopped { get; private set; }

    internal string TargetState { get; }
    internal string TargetCounter { get; }
    internal string TargetList { get; }
    internal string TargetListLock { get; }
    internal string TargetLock { get; }
    internal string PeriodicLock { get; }
    public string EventSource { get; }
    private string LogPrefix { get; }

    /// <summary>What Lua's tostring(checker) would print: a stable per-checker table address.</summary>
    public override string ToString() => _address;

    private static string KeyFor(string prefix, string ip, int port, string? hostname) =>
        $"{prefix}:{ip}:{port}{(hostname != null ? ":" + hostname : "")}";

    internal void Log(LogLevel level, string message) => Nginx.Log(Worker, level, LogPrefix + message, null);

    // Creation ---------------------------------------------------------------------------------

    /// <summary>
    /// `healthcheck.new`: build and start a checker named <paramref name="name"/> over the shared
    /// dict <paramref name="shmName"/>, with <paramref name="checks"/> (`{active = ..., passive = ...}`).
    /// Must run on <paramref name="worker"/>'s loop. Returns the checker, or null and the error.
    /// </summary>
    public static (Healthchecker? Checker, string? Error) New(LuaWorker worker, string name, string shmName, JsonObject? checks)
    {
        if (string.IsNullOrEmpty(name)) return (null, "required option 'name' is missing");
        CheckSettings active, passive;
        try
        {
            active = CheckSettings.Fill(checks?["active"] as JsonObject, true, "checks.active");
            passive = CheckSettings.Fill(checks?["passive"] as JsonObject, false, "checks.passive");
        }
        catch (ArgumentException e) { return (null, e.Message); }
        foreach (var (v, what) in new[]
                 {
                     (active.Healthy.Successes, "checks.active.healthy.successes"), (active.Unhealthy.TcpFailures, "checks.active.unhealthy.tcp_failures"),
                     (active.Unhealthy.HttpFailures, "checks.active.unhealthy.http_failures"), (active.Unhealthy.Timeouts, "checks.active.unhealthy.timeouts"),
                     (passive.Healthy.Successes, "checks.passive.healthy.successes"), (passive.Unhealthy.TcpFailures, "checks.passive.unhealthy.tcp_failures"),
                     (passive.Unhealthy.HttpFailures, "checks.passive.unhealthy.http_failures"), (passive.Unhealthy.Timeouts, "checks.passive.unhealthy.timeouts"),
                 })
            if (v >= 255) return (null, what + " must be at most 254");
        foreach (var (t, what) in new[] { (active.Type, "checks.active.type"), (passive.Type, "checks.passive.type") })
            if (t is not ("http" or "https" or "tcp"))
                return (null, $"{what} can only be 'http', 'https' or 'tcp', got '{t}'");
        if (!worker.Nginx.SharedDicts.TryGetValue(shmName, out var shm))
            return (null, $"no shm found by name '{shmName}'");

        var self = new Healthchecker(worker, name, shmName, shm, active, passive);

        // load the current target list and states from the shm, then follow the events
        var (ok, err) = self.LockingTargetList(list =>
        {
            self.Log(LogLevel.Debug, $"Got initial target list ({list.Count} targets)");
            foreach (var t in list)
            {
                var health = StateName(self.Shm.Get(KeyFor(self.TargetState, t.Ip, t.Port, t.Hostname)).Value);
                var lt = new LocalTarget { Ip = t.Ip, Port = t.Port, Hostname = t.Hostname, InternalHealth = health };
                self._targets.Add(lt);
                self._byKey[(lt.Ip, lt.Port, lt.Hostname)] = lt;
                self.Log(LogLevel.Debug, $"Got initial status {health ?? "nil"} {t.Hostname} {t.Ip}:{t.Port}");
            }
            return (true, null);
        });
        if (ok != true) return (null, "Error loading initial target list: " + err);

        self.Start();
        WorkerTimer.For(worker).Add(self);
        self.Log(LogLevel.Debug, "Healthchecker started!");
        return (self, null);
    }

    /// <summary>Start the background checks (the first active probe comes one interval later).</summary>
    public bool Start()
    {
        if (Active.Healthy.Interval > 0) { Active.Healthy.Active = true; Active.Healthy.LastRun = Now; }
        if (Active.Unhealthy.Interval > 0) { Active.Unhealthy.Active = true; Active.Unhealthy.LastRun = Now; }
        Stopped = false;
        _events.Unregister(EventSource, _evCallback);
        _events.Register(EventSource, Worker, _evCallback);
        Log(LogLevel.Debug, "active check flagged as active");
        return true;
    }

    /// <summary>Stop the background checks and stop following events (the shm state stays).</summary>
    public bool Stop()
    {
        Active.Healthy.Active = false;
        Active.Unhealthy.Active = false;
        Stopped = true;
        _events.Unregister(EventSource, _evCallback);
        Log(LogLevel.Debug, "healthchecker stopped");
        return true;
    }

    // Target list ------------------------------------------------------------------------------

    private List<ShmTarget> FetchTargetList()
    {
        var raw = Shm.Get(TargetList).Value as string;
        return raw == null ? new() : JsonSerializer.Deserialize<List<ShmTarget>>(raw) ?? new();
    }

    private bool StoreTargetList(List<ShmTarget> list) => Shm.Store("set", TargetList, JsonSerializer.Serialize(list), 0, 0).Ok;

    private (bool? Ok, string? Err) LockingTargetList(Func<List<ShmTarget>, (bool? Ok, string? Err)> fn) =>
        RunLocked(TargetListLock, () => fn(FetchTargetList()));

    private (bool? Ok, string? Err) RunLocked(string key, Func<(bool? Ok, string? Err)> fn)
    {
        try { return _events.RunLocked(key, fn); }
        catch (Exception e) { return (null, "locked function threw an exception: " + e.Message); }
    }

    private LocalTarget? GetTarget(string ip, int port, string? hostname) =>
        _byKey.GetValueOrDefault((ip, port, hostname ?? ip));

    private static string? StateName(object? v) =>
        v is double d && d >= 1 && d <= 4 && Math.Floor(d) == d ? InternalStates[(int)d - 1] : null;

    private static double StateNumber(string health) => Array.IndexOf(InternalStates, health) + 1;

    /// <summary>
    /// `add_target`: register a target (healthy unless <paramref name="isHealthy"/> is false).
    /// An existing target is left as it is; one pending a delayed clear is kept, with its state.
    /// </summary>
    public (bool Ok, string? Error) AddTarget(string ip, int port, string? hostname = null, bool isHealthy = true, string? hostHeader = null)
    {
        hostname ??= ip;
        var internalHealth = isHealthy ? "healthy" : "unhealthy";
        var (ok, err) = LockingTargetList(list =>
        {
            var found = false;
            foreach (var t in list)
            {
                if (t.Ip != ip || t.Port != port || t.Hostname != hostname) continue;
                if (t.PurgeTime == null)
                {
                    Log(LogLevel.Debug, $"adding an existing target: {hostname} {ip}:{port} (ignoring)");
                    return (false, null);
                }
                t.PurgeTime = null;
                found = true;
                internalHealth = GetTargetStatus(ip, port, hostname).Status == true ? "healthy" : "unhealthy";
                break;
            }
            if (!Shm.Store("set", KeyFor(TargetState, ip, port, hostname), StateNumber(internalHealth), 0, 0).Ok)
                Log(LogLevel.Error, "failed to set initial health status in shm: no memory");
            if (!found) list.Add(new ShmTarget { Ip = ip, Port = port, Hostname = hostname, HostHeader = hostHeader });
            if (!StoreTargetList(list)) return (null, "failed to store target_list in shm: no memory");
            if (!found) RaiseEvent(internalHealth, ip, port, hostname);
            return (true, null);
        });
        if (ok == false) return (true, null);
        return (ok == true, err);
    }

    private void ClearTargetDataFromShm(string ip, int port, string hostname)
    {
        Shm.Delete(KeyFor(TargetState, ip, port, hostname));
        Shm.Delete(KeyFor(TargetCounter, ip, port, hostname));
    }

    /// <summary>`remove_target`: drop a target (a missing one is not an error).</summary>
    public (bool Ok, string? Error) RemoveTarget(string ip, int port, string? hostname = null)
    {
        var (ok, err) = LockingTargetList(list =>
        {
            var i = list.FindIndex(t => t.Ip == ip && t.Port == port && t.Hostname == hostname);
            if (i < 0) return (true, null);
            list.RemoveAt(i);
            if (!StoreTargetList(list)) return (null, "failed to store target_list in shm: no memory");
            ClearTargetDataFromShm(ip, port, hostname!);
            RaiseEvent("remove", ip, port, hostname);
            return (true, null);
        });
        return (ok == true, err);
    }

    /// <summary>`clear`: forget all targets and their state.</summary>
    public (bool Ok, string? Error) Clear()
    {
        var (ok, err) = LockingTargetList(list =>
        {
            if (!StoreTargetList(new())) return (null, "failed to store target_list in shm: no memory");
            foreach (var t in list) ClearTargetDataFromShm(t.Ip, t.Port, t.Hostname);
            _targets.Clear();
            _byKey.Clear();
            RaiseEvent("clear", null, 0, null);
            return (true, null);
        });
        return (ok == true, err);
    }

    /// <summary>`delayed_clear`: mark every target to be purged <paramref name="delay"/> seconds from now.</summary>
    public (bool Ok, string? Error) DelayedClear(double delay)
    {
        var (ok, err) = LockingTargetList(list =>
        {
            var purge = Now + delay;
            foreach (var t in list) t.PurgeTime = purge;
            if (!StoreTargetList(list)) return (null, "failed to store target_list in shm: no memory");
            return (true, null);
        });
        return (ok == true, err);
    }

    /// <summary>
    /// `get_target_list(name, shm_name)`: the targets of checker <paramref name="name"/> as its
    /// shm holds them, each with its state and its four counters; null when the shm is missing.
    /// </summary>
    public static JsonArray? GetTargetList(Nginx nginx, string name, string shmName)
    {
        if (!nginx.SharedDicts.TryGetValue(shmName, out var shm)) return null;
        var prefix = ShmPrefix + name;
        var raw = shm.Get(prefix + ":target_list").Value as string;
        var list = raw == null ? new() : JsonSerializer.Deserialize<List<ShmTarget>>(raw) ?? new();
        var nodes = new JsonArray();
        foreach (var t in list)
        {
            var node = new JsonObject { ["ip"] = t.Ip, ["port"] = t.Port, ["hostname"] = t.Hostname };
            if (t.HostHeader != null) node["hostheader"] = t.HostHeader;
            if (t.PurgeTime != null) node["purge_time"] = t.PurgeTime;
            if (StateName(shm.Get(KeyFor(prefix + ":state", t.Ip, t.Port, t.Hostname)).Value) is { } status) node["status"] = status;
            var counter = shm.Get(KeyFor(prefix + ":counter", t.Ip, t.Port, t.Hostname)).Value is double c ? (long)c : 0;
            node["counter"] = new JsonObject
            {
                ["success"] = counter & 0xff,
                ["http_failure"] = (counter >> 8) & 0xff,
                ["tcp_failure"] = (counter >> 16) & 0xff,
                ["timeout_failure"] = (counter >> 24) & 0xff,
            };
            nodes.Add(node);
        }
        return nodes;
    }

    /// <summary>`get_target_status`: true if healthy (or mostly), false if not, null + "target not found".</summary>
    public (bool? Status, string? Error) GetTargetStatus(string ip, int port, string? hostname = null)
    {
        var t = GetTarget(ip, port, hostname);
        if (t == null) return (null, "target not found");
        return (t.InternalHealth is "healthy" or "mostly_healthy", null);
    }

    // Health management ------------------------------------------------------------------------

    private static string CounterName(long ctr) => ctr switch
    {
        CtrSuccess => "SUCCESS", CtrHttp => "HTTP", CtrTcp => "TCP", _ => "TIMEOUT",
    };

    private (bool Ok, string? Error) IncrCounter(string healthReport, string ip, int port, string? hostname, int limit, long ctrType)
    {
        if (limit == 0) return (true, null);
        hostname ??= ip;
        var target = GetTarget(ip, port, hostname);
        if (target == null)
        {
            Log(LogLevel.Warn, $"trying to increment a target that is not in the list: ({hostname}) {ip}:{port}");
            return (true, null);
        }
        var current = target.InternalHealth;
        if (healthReport == current) return (true, null);

        var (ok, err) = RunLocked(KeyFor(TargetLock, ip, port, hostname), () =>
        {
            var counterKey = KeyFor(TargetCounter, ip, port, hostname);
            var (val, ierr) = Shm.Incr(counterKey, ctrType, 0, 0);
            if (ierr != null) return (null, ierr);
            var multi = (long)(double)val!;
            var ctr = (multi / ctrType) & 0xff;
            Log(LogLevel.Warn, $"{healthReport} {CounterName(ctrType)} increment ({ctr}/{limit}) for '{hostname}({ip}:{port})'");
            var newMulti = ctrType == CtrSuccess ? multi & MaskSuccess : multi & MaskFailure;
            if (newMulti != multi) Shm.Store("set", counterKey, (double)newMulti, 0, 0);

            string? newHealth = null;
            if (ctr >= limit) newHealth = healthReport;
            else if (current == "healthy" && (newMulti & MaskFailure) > 0) newHealth = "mostly_healthy";
            else if (current == "unhealthy" && (newMulti & MaskSuccess) > 0) newHealth = "mostly_unhealthy";

            if (newHealth != null && newHealth != current)
            {
                Shm.Store("set", KeyFor(TargetState, ip, port, hostname), StateNumber(newHealth), 0, 0);
                RaiseEvent(newHealth, ip, port, hostname);
            }
            return (true, null);
        });
        return (ok == true, err);
    }

    private CheckSettings Settings(string check) => check == "active" ? Active : Passive;

    /// <summary>`report_failure`: an HTTP (or TCP, for tcp checks) failure.</summary>
    public (bool Ok, string? Error) ReportFailure(string ip, int port, string? hostname = null, string check = "passive")
    {
        var s = Settings(check);
        return s.Type == "tcp"
            ? IncrCounter("unhealthy", ip, port, hostname, s.Unhealthy.TcpFailures, CtrTcp)
            : IncrCounter("unhealthy", ip, port, hostname, s.Unhealthy.HttpFailures, CtrHttp);
    }

    /// <summary>`report_success`.</summary>
    public (bool Ok, string? Error) ReportSuccess(string ip, int port, string? hostname = null, string check = "passive") =>
        IncrCounter("healthy", ip, port, hostname, Settings(check).Healthy.Successes, CtrSuccess);

    /// <summary>`report_http_status`: null status (or 0) is an invalid response; statuses in neither list are ignored.</summary>
    public (bool? Ok, string? Error) ReportHttpStatus(string ip, int port, string? hostname, int? httpStatus, string check = "passive")
    {
        var status = httpStatus ?? 0;
        var s = Settings(check);
        if (s.Healthy.HttpStatuses.Contains(status))
            return IncrCounter("healthy", ip, port, hostname, s.Healthy.Successes, CtrSuccess);
        if (s.Unhealthy.HttpStatuses.Contains(status) || status == 0)
            return IncrCounter("unhealthy", ip, port, hostname, s.Unhealthy.HttpFailures, CtrHttp);
        return (null, null);
    }

    /// <summary>`report_tcp_failure` (<paramref name="operation"/>: connect, send or receive; not used further).</summary>
    public (bool Ok, string? Error) ReportTcpFailure(string ip, int port, string? hostname = null, string? operation = null, string check = "passive") =>
        IncrCounter("unhealthy", ip, port, hostname, Settings(check).Unhealthy.TcpFailures, CtrTcp);

    /// <summary>`report_timeout`.</summary>
    public (bool Ok, string? Error) ReportTimeout(string ip, int port, string? hostname = null, string check = "passive") =>
        IncrCounter("unhealthy", ip, port, hostname, Settings(check).Unhealthy.Timeouts, CtrTimeout);

    /// <summary>`set_target_status`: force a state and reset the target's counters.</summary>
    public (bool Ok, string? Error) SetTargetStatus(string ip, int port, string? hostname, bool isHealthy)
    {
        hostname ??= ip;
        var report = isHealthy ? "healthy" : "unhealthy";
        if (GetTarget(ip, port, hostname) == null)
        {
            Log(LogLevel.Warn, $"trying to set status for a target that is not in the list: {ip}:{port}");
            return (true, null);
        }
        var (ok, err) = RunLocked(KeyFor(TargetLock, ip, port, hostname), () =>
        {
            Shm.Store("set", KeyFor(TargetCounter, ip, port, hostname), 0d, 0, 0);
            Shm.Store("set", KeyFor(TargetState, ip, port, hostname), StateNumber(report), 0, 0);
            RaiseEvent(report, ip, port, hostname);
            return (true, null);
        });
        if (ok == true) Log(LogLevel.Warn, $"{report} forced for {hostname} {ip}:{port}");
        return (ok == true, err);
    }

    // Events -----------------------------------------------------------------------------------

    private void RaiseEvent(string evt, string? ip, int port, string? hostname) =>
        _events.Post(EventSource, evt, ip == null ? null : new HealthTarget(ip, port, hostname ?? ip));

    private void EventHandler(string evt, string? ip, int port, string? hostname)
    {
        var found = ip == null ? null : GetTarget(ip, port, hostname);
        switch (evt)
        {
            case "remove":
                if (found != null)
                {
                    _byKey.Remove((found.Ip, found.Port, found.Hostname));
                    _targets.Remove(found);
                    Log(LogLevel.Debug, $"event: target '{hostname} ({ip}:{port})' removed");
                }
                else Log(LogLevel.Warn, $"event: trying to remove an unknown target '{hostname}({ip}:{port})'");
                break;
            case "healthy" or "unhealthy" or "mostly_healthy" or "mostly_unhealthy":
                if (found == null)
                {
                    found = new LocalTarget { Ip = ip!, Port = port, Hostname = hostname ?? ip! };
                    _byKey[(found.Ip, found.Port, found.Hostname)] = found;
                    _targets.Add(found);
                    Log(LogLevel.Debug, $"event: target added '{hostname}({ip}:{port})'");
                }
                var from = found.InternalHealth is "healthy" or "mostly_healthy";
                var to = evt is "healthy" or "mostly_healthy";
                if (from != to) StatusVer++;
                Log(LogLevel.Debug, $"event: target status '{hostname}({ip}:{port})' from '{Lua(from)}' to '{Lua(to)}', ver: {StatusVer}");
                found.InternalHealth = evt;
                break;
            case "clear":
                _targets.Clear();
                _byKey.Clear();
                Log(LogLevel.Debug, "event: local cache cleared");
                break;
            default:
                Log(LogLevel.Warn, $"event: unknown event received '{evt}'");
                break;
        }
    }

    private static string Lua(bool b) => b ? "true" : "false";

    // Active checks ----------------------------------------------------------------------------

    private CancellationToken Stopping => Nginx.Stopping;

    /// <summary>One probe of one target; reports its outcome as an active check.</summary>
    internal async Task RunSingleCheck(string ip, int port, string hostname, string? hostHeader)
    {
        var timeout = TimeSpan.FromSeconds(Active.Timeout);
        Stream stream;
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(Stopping))
        {
            cts.CancelAfter(timeout);
            try { stream = await Nginx.TcpConnectAsync(ip, port, cts.Token); }
            catch (OperationCanceledException) when (!Stopping.IsCancellationRequested)
            {
                if (Nginx.LogSocketErrors) Nginx.Log(Worker, LogLevel.Error, "lua tcp socket connect timed out", null);
                ReportTimeout(ip, port, hostname, "active");
                return;
            }
            catch (Exception) when (Stopping.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                if (Nginx.LogSocketErrors)
                    Nginx.Log(Worker, LogLevel.Error, e.Message.Contains("refused", StringComparison.OrdinalIgnoreCase)
                        ? "connect() failed (111: Connection refused)" : $"connect() failed ({e.Message})", null);
                ReportTcpFailure(ip, port, hostname, "connect", "active");
                return;
            }
        }

        if (Active.Type == "tcp")
        {
            await stream.DisposeAsync();
            ReportSuccess(ip, port, hostname, "active");
            return;
        }
        if (Active.Type == "https")
        {
            // sock:sslhandshake(nil, https_sni, https_verify_certificate)
            var sni = Active.HttpsSni ?? hostHeader ?? hostname;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Stopping);
            cts.CancelAfter(timeout);
            var (ssl, err) = await OpenResty.Net.ClientTls.HandshakeAsync(stream, sni, Active.HttpsVerifyCertificate, null, cts.Token);
            if (Stopping.IsCancellationRequested) { if (ssl != null) await ssl.DisposeAsync(); return; }
            if (ssl == null)
            {
                Log(LogLevel.Error, $"failed SSL handshake with '{hostname} ({ip}:{port})', using server name (sni) '{sni}': {err}");
                ReportTcpFailure(ip, port, hostname, "connect", "active");
                return;
            }
            stream = ssl;
        }
        await using var _ = stream;

        var headers = Active.HeadersStr ??= BuildHeaders();
        var request = $"GET {Active.HttpPath} HTTP/1.1\r\nConnection: close\r\n{headers}Host: {hostHeader ?? hostname ?? ip}\r\n\r\n";
        Log(LogLevel.Debug, "request head: " + request);

        var sent = await Io(async ct => { await stream.WriteAsync(Encoding.Latin1.GetBytes(request), ct); return ""; }, timeout);
        if (sent.Cancelled) return;
        if (sent.Err != null)
        {
            Log(LogLevel.Error, $"failed to send http request to '{hostname} ({ip}:{port})': {sent.Err}");
            if (sent.Err == "timeout") ReportTimeout(ip, port, hostname, "active");
            else ReportTcpFailure(ip, port, hostname, "send", "active");
            return;
        }

        var line = await Io(ct => ReadLineAsync(stream, ct), timeout);
        if (line.Cancelled) return;
        if (line.Err != null)
        {
            if (line.Err == "timeout" && Nginx.LogSocketErrors) Nginx.Log(Worker, LogLevel.Error, "lua tcp socket read timed out", null);
            Log(LogLevel.Error, $"failed to receive status line from '{hostname} ({ip}:{port})': {line.Err}");
            if (line.Err == "timeout") ReportTimeout(ip, port, hostname, "active");
            else ReportTcpFailure(ip, port, hostname, "receive", "active");
            return;
        }

        int? status = null;
        var m = StatusLine.Match(line.Value!);
        if (m.Success) status = int.Parse(m.Groups[1].Value);
        else Log(LogLevel.Error, $"bad status line from '{hostname} ({ip}:{port})': {line.Value}");
        Log(LogLevel.Debug, $"Reporting '{hostname} ({ip}:{port})' (got HTTP {(status?.ToString() ?? "nil")})");
        ReportHttpStatus(ip, port, hostname, status, "active");
    }

    private readonly record struct IoResult(string? Value, string? Err, bool Cancelled);

    /// <summary>Run one socket operation, mapping a timeout to "timeout", other failures to "closed" (nginx's words).</summary>
    private async Task<IoResult> Io(Func<CancellationToken, Task<string>> op, TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Stopping);
        cts.CancelAfter(timeout);
        try { return new IoResult(await op(cts.Token), null, false); }
        catch (Exception) when (Stopping.IsCancellationRequested) { return new IoResult(null, null, true); }
        catch (OperationCanceledException) { return new IoResult(null, "timeout", false); }
        catch (Exception) { return new IoResult(null, "closed", false); }
    }

    /// <summary>Read one line (LF-terminated, CR dropped), like cosocket receive() with no pattern.</summary>
    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken ct)
    {
        var sb = new StringBuilder();
        var buf = new byte[1];
        while (true)
        {
            var n = await stream.ReadAsync(buf, ct);
            if (n == 0) throw new IOException("closed");
            var c = (char)buf[0];
            if (c == '\n') return sb.ToString();
            if (c != '\r') sb.Append(c);
        }
    }

    private string BuildHeaders()
    {
        var rh = Active.ReqHeaders;
        string headers;
        if (rh is JsonArray arr)
        {
            if (arr.Count == 0) return "";
            Log(LogLevel.Warn, "array headers is deprecated");
            headers = string.Join("\r\n", arr.Select(x => x is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : x?.ToJsonString() ?? ""));
        }
        else if (rh is JsonObject obj && obj.Count > 0)
        {
            var lines = new List<string>();
            foreach (var (k, v) in obj)
            {
                if (v is JsonArray vs) lines.AddRange(vs.Select(x => $"{k}: {Scalar(x)}"));
                else lines.Add($"{k}: {Scalar(v)}");
            }
            headers = string.Join("\r\n", lines);
        }
        else return "";
        return headers.Length > 0 ? headers + "\r\n" : "";
    }

    private static string Scalar(JsonNode? n) => n switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when Apisix.Core.Json.JsonScalars.TryGetNumber(v, out var d) => Apisix.Core.Json.LuaNumber.ToLuaString(d),
        null => "nil",
        _ => n.ToJsonString(),
    };

    private async Task RunWorkPackage(List<(ShmTarget T, string? Health)> package)
    {
        foreach (var (t, health) in package)
        {
            var hh = t.HostHeader != null ? "(host header: " + t.HostHeader + ")" : "";
            Log(LogLevel.Debug, $"Checking {t.Hostname} {hh}{t.Ip}:{t.Port} (currently {health ?? "nil"})");
            await RunSingleCheck(t.Ip, t.Port, t.Hostname, t.HostHeader ?? t.Hostname);
        }
    }

    private async Task ActiveCheckTargets(List<(ShmTarget T, string? Health)> list)
    {
        var packages = new List<List<(ShmTarget, string?)>>();
        var idx = 0;
        var conc = Math.Max(1, Active.Concurrency);
        foreach (var item in list)
        {
            if (packages.Count <= idx) packages.Add(new());
            packages[idx].Add(item);
            idx = (idx + 1) % conc;
        }
        await Task.WhenAll(packages.Select(RunWorkPackage));
    }

    /// <summary>Probe the targets currently on the <paramref name="healthMode"/> side, in the background.</summary>
    private void CheckerCallback(string healthMode)
    {
        List<ShmTarget> targets;
        try { targets = FetchTargetList(); }
        catch (Exception e) { Log(LogLevel.Error, "checker_callback: " + e.Message); return; }
        var toCheck = new List<(ShmTarget, string?)>();
        foreach (var t in targets)
        {
            var health = GetTarget(t.Ip, t.Port, t.Hostname)?.InternalHealth;
            if ((healthMode == "healthy" && health is "healthy" or "mostly_healthy")
                || (healthMode == "unhealthy" && health is "unhealthy" or "mostly_unhealthy"))
                toCheck.Add((t, health));
        }
        if (toCheck.Count == 0)
        {
            Log(LogLevel.Debug, $"checking {healthMode} targets: nothing to do");
            return;
        }
        // a detached zero-delay timer in the library: runs after this tick, not awaited by it
        Worker.Loop.Post(async _ =>
        {
            if (Stopping.IsCancellationRequested || Worker.Exiting) return;
            try
            {
                Log(LogLevel.Debug, $"checking {healthMode} targets: #{toCheck.Count}");
                await ActiveCheckTargets(toCheck);
            }
            catch (Exception e) when (!Stopping.IsCancellationRequested)
            {
                Log(LogLevel.Error, $"active check of {healthMode} targets failed: {e.Message}");
            }
            catch (Exception) { }
        }, null);
    }

    /// <summary>Drop targets whose delayed clear is due; true if some targets still wait for it.</summary>
    private bool PurgeDue(double now)
    {
        var pending = false;
        LockingTargetList(list =>
        {
            var removed = list.Where(t => t.PurgeTime is { } p && p <= now).ToList();
            pending = list.Any(t => t.PurgeTime is { } p && p > now);
            if (removed.Count == 0) return (true, null);
            list.RemoveAll(removed.Contains);
            if (!StoreTargetList(list)) return (null, "failed to store target_list in shm: no memory");
            foreach (var t in removed)
            {
                ClearTargetDataFromShm(t.Ip, t.Port, t.Hostname);
                RaiseEvent("remove", t.Ip, t.Port, t.Hostname);
            }
            return (true, null);
        });
        return pending;
    }

    /// <summary>
    /// The library's per-worker active-check timer (started with the first checker of a worker):
    /// every 0.1 s the worker holding the periodic lock in the shm runs due checks of all its
    /// checkers; the others look again every second. Stops when the nginx or the worker does.
    /// </summary>
    internal sealed class WorkerTimer
    {
        private static readonly ConditionalWeakTable<LuaWorker, WorkerTimer> All = new();
        private readonly LuaWorker _worker;
        private readonly List<Healthchecker> _checkers = new();
        private double _interval = CheckInterval;
        private double _lastCleanup;
        private bool _started;

        private WorkerTimer(LuaWorker worker) => _worker = worker;

        public static WorkerTimer For(LuaWorker worker) => All.GetValue(worker, w => new WorkerTimer(w));

        public int Count => _checkers.Count;

        public void Add(Healthchecker c)
        {
            if (!_started)
            {
                _started = true;
                c.Log(LogLevel.Debug, $"worker {_worker.Id} (pid: {_worker.Nginx.Pid(_worker)}) starting active check timer");
                _lastCleanup = Now;
                _worker.Loop.Post(_ => _ = RunAsync(), null);
            }
            _checkers.Add(c);
        }

        private async Task RunAsync()
        {
            var stop = CancellationTokenSource.CreateLinkedTokenSource(_worker.Nginx.Stopping, _worker.Stopping);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(CheckInterval + Random.Shared.NextDouble() * CheckJitter), stop.Token);
                while (!stop.IsCancellationRequested)
                {
                    try { Tick(); }
                    catch (Exception e) { _worker.Nginx.Log(_worker, LogLevel.Error, $"active check timer failed: {e.Message}", null); }
                    await Task.Delay(TimeSpan.FromSeconds(_interval), stop.Token);
                }
            }
            catch (OperationCanceledException) { }
            finally
            {
                stop.Dispose();
                foreach (var c in _checkers.ToList()) if (!c.Stopped) c.Stop();
                _checkers.Clear();
            }
        }

        private void Tick()
        {
            if (_checkers.Count == 0) return;
            var shm = _checkers[0].Shm;
            var key = _checkers[0].PeriodicLock;
            if (GetPeriodicLock(shm, key))
            {
                _interval = CheckInterval;
                RenewPeriodicLock(shm, key);
            }
            else
            {
                _interval = CheckInterval * 10;
                return;
            }

            var now = Now;
            var cleanup = _lastCleanup + CleanupInterval < now;
            foreach (var c in _checkers.ToList())
            {
                if (cleanup && !c.PurgeDue(now) && c.Stopped)
                    _checkers.Remove(c); // a released checker with nothing left to purge is gone for good
                if (c.Active.Healthy.Active && c.Active.Healthy.LastRun + c.Active.Healthy.Interval <= now)
                {
                    c.Active.Healthy.LastRun = now;
                    c.CheckerCallback("healthy");
                }
                if (c.Active.Unhealthy.Active && c.Active.Unhealthy.LastRun + c.Active.Unhealthy.Interval <= now)
                {
                    c.Active.Unhealthy.LastRun = now;
                    c.CheckerCallback("unhealthy");
                }
            }
            if (cleanup) _lastCleanup = now;
        }

        private bool GetPeriodicLock(SharedDict shm, string key)
        {
            var pid = (double)_worker.Nginx.Pid(_worker);
            var holder = shm.Get(key).Value;
            if (holder == null)
            {
                var (ok, err) = shm.Store("add", key, pid, LockPeriod, 0);
                if (!ok)
                {
                    if (err == "exists") return false;
                    _worker.Nginx.Log(_worker, LogLevel.Error, $"failed to add key '{key}': {err}", null);
                    return false;
                }
            }
            else if (holder is not double h || h != pid) return false;
            return true;
        }

        private void RenewPeriodicLock(SharedDict shm, string key)
        {
            var (ok, err) = shm.Store("set", key, (double)_worker.Nginx.Pid(_worker), LockPeriod, 0);
            if (!ok) _worker.Nginx.Log(_worker, LogLevel.Error, $"failed to update key '{key}': {err}", null);
        }
    }
}
