using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Core.Healthcheck;

/// <summary>
/// Port of <c>apisix/healthcheck_manager.lua</c>, one per worker (the Lua module's state is per
/// worker). Request code asks <see cref="FetchChecker"/> for the checker of a resource path and
/// version; an unknown pair goes to a waiting pool and gets its checker from a timer (every
/// second, as upstream), which also replaces the checker of an older version and releases
/// checkers whose resource changed or went away.
/// <para>
/// A resource path is a resource key with an optional JSON path after '#', e.g.
/// <c>/apisix/routes/1#plugins['ai-proxy-multi'].instances[0]</c>. The manager learns about the
/// resource through two delegates: <c>resolve(path)</c> returns the latest configuration object
/// at that path (for a plugin path, the plugin's instance conf with the runtime fields
/// <c>_dns_nodes</c> = [{host, port, domain?}] and <c>_nodes_ver</c>; for a plain resource, the
/// resource value, whose <c>upstream</c> or itself holds <c>nodes</c> and <c>checks</c>), or null
/// if it is gone; <c>modifiedIndex(key)</c> returns the store's modifiedIndex of the resource key
/// (the part before '#'), or null. The version compared with the callers' is
/// modifiedIndex .. _nodes_ver, as <c>apisix.utils.upstream.version</c> builds it.
/// </para>
/// </summary>
public sealed class HealthcheckManager
{
    /// <summary>Seconds a released checker's targets keep their state (for a successor to pick up).</summary>
    public const double DelayedClearTimeout = 10;

    /// <summary>The shared dict checkers keep target state in (`lua_shared_dict upstream-healthcheck`).</summary>
    public const string ShdictName = "upstream-healthcheck";

    private static readonly ConditionalWeakTable<LuaWorker, HealthcheckManager> All = new();
    private static readonly Regex PluginQuoted1 = new(@"^plugins\['([^']+)'\]", RegexOptions.CultureInvariant);
    private static readonly Regex PluginQuoted2 = new("^plugins\\[\"([^\"]+)\"\\]", RegexOptions.CultureInvariant);
    private static readonly Regex PluginDotted = new(@"^plugins\.([^.]+)", RegexOptions.CultureInvariant);
    private static readonly Regex ResourcePath = new(@"^/([^/]+)/([^/]+)$", RegexOptions.CultureInvariant);

    private sealed record WorkingItem(string Version, Healthchecker Checker);

    private readonly Dictionary<string, WorkingItem> _workingPool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _waitingPool = new(StringComparer.Ordinal);
    private readonly Func<string, JsonObject?> _resolve;
    private readonly Dictionary<string, JsonObject> _liveUpstreams = new(StringComparer.Ordinal);
    private readonly Func<string, long?> _modifiedIndex;
    private bool _createRunning, _checkRunning;

    /// <param name="worker">The worker whose loop runs the timers and the checkers.</param>
    /// <param name="resolve">Latest configuration at a resource path (see the class summary), or null.</param>
    /// <param name="modifiedIndex">modifiedIndex of a resource key (`/apisix/routes/1`), or null when it is gone.</param>
    public HealthcheckManager(LuaWorker worker, Func<string, JsonObject?> resolve, Func<string, long?> modifiedIndex)
    {
        Worker = worker;
        _resolve = resolve;
        _modifiedIndex = modifiedIndex;
    }

    public LuaWorker Worker { get; }
    private Nginx Nginx => Worker.Nginx;

    /// <summary>Seconds between timer runs (1 upstream; tests may shorten it).</summary>
    public double TimerInterval { get; init; } = 1;

    /// <summary>`apisix.disable_upstream_healthcheck` of the local config.</summary>
    public bool DisableUpstreamHealthcheck { get; set; }

    /// <summary>The etcd key prefix stripped before parsing a resource key.</summary>
    public string EtcdPrefix { get; set; } = ConfigStore.DefaultPrefix;

    /// <summary>
    /// A plugin's `construct_upstream(instance_conf)`: (plugin name, the conf <c>resolve</c>
    /// returned) → an upstream object with <c>nodes</c> [{host, port, domain?}], <c>checks</c> and
    /// <c>_nodes_ver</c>, or null. Defaults to <see cref="DefaultConstructUpstream"/>, which does
    /// what ai-proxy-multi's does for an instance whose endpoint is already resolved.
    /// </summary>
    public Func<string, JsonObject, JsonObject?> ConstructUpstream { get; set; } = DefaultConstructUpstream;

    /// <summary>The checkers in the working pool (resource path → version, checker), for inspection.</summary>
    public IReadOnlyDictionary<string, (string Version, Healthchecker Checker)> Working =>
        _workingPool.ToDictionary(kv => kv.Key, kv => (kv.Value.Version, kv.Value.Checker));

    /// <summary>
    /// `init_worker`: create the manager of <paramref name="worker"/> and start its two timers
    /// (they stop when the nginx or the worker goes away). Later <see cref="Of"/> finds it.
    /// </summary>
    public static HealthcheckManager InitWorker(LuaWorker worker, Func<string, JsonObject?> resolve, Func<string, long?> modifiedIndex, double timerInterval = 1)
    {
        var m = new HealthcheckManager(worker, resolve, modifiedIndex) { TimerInterval = timerInterval };
        All.AddOrUpdate(worker, m);
        worker.Loop.Post(_ =>
        {
            _ = m.Every(() => m.RunGuarded(ref m._createRunning, m.TimerCreateChecker,
                "timer_create_checker is already running, skipping this iteration", "failed to run timer_create_checker: "));
            _ = m.Every(() => m.RunGuarded(ref m._checkRunning, m.TimerWorkingPoolCheck,
                "timer_working_pool_check is already running skipping iteration", "failed to run timer_working_pool_check: "));
        }, null);
        return m;
    }

    /// <summary>
    /// <see cref="InitWorker(LuaWorker, Func{string, JsonObject?}, Func{string, long?}, double)"/> over a
    /// <see cref="ConfigStore"/>: versions from the store; confs from <paramref name="resolve"/> if given,
    /// else read from the store by following the JSON path (no runtime fields such as _dns_nodes then).
    /// </summary>
    public static HealthcheckManager InitWorker(LuaWorker worker, ConfigStore store, Func<string, JsonObject?>? resolve = null, double timerInterval = 1) =>
        InitWorker(worker, resolve ?? StoreResolver(store), key => store.Get(StoreKey(key))?.ModifiedIndex, timerInterval);

    /// <summary>The manager started on <paramref name="worker"/>, or null.</summary>
    public static HealthcheckManager? Of(LuaWorker? worker) =>
        worker != null && All.TryGetValue(worker, out var m) ? m : null;

    private static string StoreKey(string key) =>
        key.StartsWith(ConfigStore.DefaultPrefix + "/", StringComparison.Ordinal) ? key : ConfigStore.DefaultPrefix + key;

    /// <summary>A resolver reading the store: the value at the resource key, then the JSON path after '#'.</summary>
    public static Func<string, JsonObject?> StoreResolver(ConfigStore store) => path =>
    {
        var (key, sub) = ParsePath(path);
        var node = store.Get(StoreKey(key))?.Value;
        return (sub.Length == 0 ? node : JsonPathValue(node, sub)) as JsonObject;
    };

    /// <summary>
    /// The upstream a plain resource's requests run with (nodes resolved to addresses, with their
    /// <c>domain</c>, and <c>_nodes_ver</c>), as the worker's config cache holds it in Lua after
    /// the request resolved its domains. A plain resource path is resolved from here first.
    /// </summary>
    public void SetLiveUpstream(string resourceKey, JsonObject upstream) => _liveUpstreams[resourceKey] = upstream;

    /// <summary>`get_healthchecker_name`.</summary>
    public static string GetHealthcheckerName(string resourceKey) => "upstream#" + resourceKey;

    // The request side -------------------------------------------------------------------------

    /// <summary>
    /// `fetch_checker`: the working checker of (<paramref name="resourcePath"/>,
    /// <paramref name="resourceVersion"/>), or null — in which case the pair waits for the next
    /// timer run to create it. Call on the worker's loop.
    /// </summary>
    public Healthchecker? FetchChecker(string resourcePath, string resourceVersion)
    {
        if (_workingPool.TryGetValue(resourcePath, out var item) && item.Version == resourceVersion)
            return item.Checker;
        if (_waitingPool.TryGetValue(resourcePath, out var waiting) && waiting == resourceVersion)
            return null;
        Info($"adding {resourcePath} to waiting pool with version: {resourceVersion}");
        _waitingPool[resourcePath] = resourceVersion;
        return null;
    }

    /// <summary>
    /// `fetch_node_status`: whether the node counts as healthy. No checker (or a released one)
    /// means healthy; a target the worker's view does not know yet is treated as usable, with a
    /// warning. Otherwise (false, null) for an unhealthy target.
    /// </summary>
    public static (bool Ok, string? Error) FetchNodeStatus(Healthchecker? checker, string ip, int port, string? hostname, NgxRequest? request = null)
    {
        if (checker == null || checker.Dead) return (true, null);
        var (ok, err) = checker.GetTargetStatus(ip, port, hostname);
        if (err == "target not found")
        {
            checker.Nginx.Log(checker.Worker, LogLevel.Warn,
                $"health check target status not available yet, treat as unknown, addr: {ip}:{port}, host: {hostname ?? "nil"}", request);
            return (true, null);
        }
        return (ok == true, err);
    }

    // The timers -------------------------------------------------------------------------------

    private async Task Every(Action tick)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Nginx.Stopping, Worker.Stopping);
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(TimerInterval), stop.Token);
                if (!Worker.Exiting && !Nginx.Stopping.IsCancellationRequested) tick();
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            foreach (var item in _workingPool.Values) if (!item.Checker.Stopped) item.Checker.Stop();
        }
    }

    private void RunGuarded(ref bool running, Action body, string busy, string failed)
    {
        if (running)
        {
            Nginx.Log(Worker, LogLevel.Warn, busy, null);
            return;
        }
        running = true;
        try { body(); }
        catch (Exception e) { Nginx.Log(Worker, LogLevel.Error, failed + e.Message, null); }
        finally { running = false; }
    }

    private void Info(string message) => Nginx.Log(Worker, LogLevel.Info, message, null);

    private WorkingItem? FindInWorkingPool(string resourcePath, string resourceVersion)
    {
        if (!_workingPool.TryGetValue(resourcePath, out var item)) return null;
        if (item.Version != resourceVersion)
        {
            Info($"version mismatch for resource: {resourcePath} current version: {item.Version} requested version: {resourceVersion}");
            return null;
        }
        return item;
    }

    /// <summary>`get_plugin_name`: the plugin a resource path points into, or null.</summary>
    public static string? GetPluginName(string path)
    {
        var hash = path.IndexOf('#');
        var json = hash >= 0 && hash < path.Length - 1 ? path[(hash + 1)..] : path;
        foreach (var re in new[] { PluginQuoted1, PluginQuoted2, PluginDotted })
        {
            var m = re.Match(json);
            if (m.Success) return m.Groups[1].Value;
        }
        return null;
    }

    /// <summary>`config_util.parse_path`: (resource key, JSON sub path).</summary>
    public static (string Key, string Sub) ParsePath(string path)
    {
        var parts = path.Split('#');
        return (parts[0], parts.Length > 1 ? parts[1] : "");
    }

    /// <summary>
    /// `resource.fetch_latest_conf` plus the upstream it yields: the upstream object to check
    /// (constructed by the plugin for a plugin path) and its version; null when unavailable.
    /// </summary>
    private (JsonObject Upstream, string Version)? FetchUpstream(string resourcePath)
    {
        var (key, sub) = ParsePath(resourcePath);
        var bare = key.StartsWith(EtcdPrefix, StringComparison.Ordinal) ? key[EtcdPrefix.Length..] : key;
        var m = ResourcePath.Match(bare);
        if (!m.Success)
        {
            Nginx.Log(Worker, LogLevel.Error, "invalid resource path: " + bare, null);
            return null;
        }
        var type = m.Groups[1].Value;
        if (type is not ("upstreams" or "routes" or "services" or "stream_routes"))
        {
            Nginx.Log(Worker, LogLevel.Error, "unsupported resource type: " + type, null);
            return null;
        }
        var index = _modifiedIndex(key);
        var conf = index == null ? null
            : sub.Length == 0 && _liveUpstreams.TryGetValue(key, out var live) ? live
            : _resolve(resourcePath);
        if (index == null || conf == null)
        {
            Nginx.Log(Worker, LogLevel.Warn, $"resource not found: {m.Groups[2].Value} in /{type}this can happen if the resource was deleted", null);
            return null;
        }

        JsonObject upstream;
        var plugin = GetPluginName(resourcePath);
        if (!string.IsNullOrEmpty(plugin) && sub.Length > 0)
        {
            upstream = ConstructUpstream(plugin, conf)
                       ?? throw new InvalidOperationException($"{plugin}: construct_upstream returned no upstream for {resourcePath}");
            upstream["resource_key"] = resourcePath;
        }
        else
        {
            upstream = (JsonObject)(conf["upstream"] as JsonObject ?? conf).DeepClone();
            upstream["resource_key"] ??= key;
        }
        return (upstream, Version(index.Value, upstream["_nodes_ver"]));
    }

    /// <summary>`upstream_utils.version`: the index followed by the nodes version, if any.</summary>
    public static string Version(long index, JsonNode? nodesVer) => index + nodesVer switch
    {
        null => "",
        JsonValue v when JsonScalars.TryGetNumber(v, out var d) => LuaNumber.ToLuaString(d),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => nodesVer.ToJsonString(),
    };

    private void TimerCreateChecker()
    {
        if (_waitingPool.Count == 0) return;
        foreach (var (resourcePath, resourceVer) in _waitingPool.ToList())
        {
            CreateFromWaiting(resourcePath, resourceVer);
            // not reached when it threw: the entry then stays waiting, as upstream's pcall leaves it
            _waitingPool.Remove(resourcePath);
        }
    }

    private void CreateFromWaiting(string resourcePath, string resourceVer)
    {
        if (FindInWorkingPool(resourcePath, resourceVer) != null)
        {
            Info($"resource: {resourcePath} already in working pool with version: {resourceVer}");
            return;
        }
        if (FetchUpstream(resourcePath) is not { } fetched) return;
        var (upstream, newVersion) = fetched;
        Info($"checking waiting pool for resource: {resourcePath} current version: {newVersion} requested version: {resourceVer}");
        if (resourceVer != newVersion) return;

        if (_workingPool.TryGetValue(resourcePath, out var existing))
        {
            existing.Checker.DelayedClear(DelayedClearTimeout);
            existing.Checker.Stop();
            Info($"releasing existing checker: {existing.Checker} for resource: {resourcePath} and version: {existing.Version}");
        }
        var checker = CreateChecker(upstream);
        if (checker == null) return;
        Info($"create new checker: {checker} for resource: {resourcePath} and version: {resourceVer}");
        _workingPool[resourcePath] = new WorkingItem(resourceVer, checker);
    }

    private void TimerWorkingPoolCheck()
    {
        if (_workingPool.Count == 0) return;
        foreach (var (resourcePath, item) in _workingPool.ToList())
        {
            var needDestroy = true;
            if (FetchUpstream(resourcePath) is { } fetched)
            {
                var currentVer = fetched.Version;
                Info($"checking working pool for resource: {resourcePath} current version: {currentVer} item version: {item.Version}");
                if (item.Version == currentVer) needDestroy = false;
            }
            if (!needDestroy) continue;
            _workingPool.Remove(resourcePath);
            item.Checker.Dead = true;
            item.Checker.DelayedClear(DelayedClearTimeout);
            item.Checker.Stop();
            Info($"try to release checker: {item.Checker} for resource: {resourcePath} and version : {item.Version}");
        }
    }

    private Healthchecker? CreateChecker(JsonObject up)
    {
        if (up["checks"] is not JsonObject checks) return null;
        if (DisableUpstreamHealthcheck)
        {
            Info("healthchecker won't be created: disabled upstream healthcheck");
            return null;
        }
        var resourceKey = Str(up["resource_key"]) ?? "";
        Info("creating healthchecker for upstream: " + resourceKey);
        var (checker, err) = Healthchecker.New(Worker, GetHealthcheckerName(resourceKey), ShdictName, checks);
        if (checker == null)
        {
            Nginx.Log(Worker, LogLevel.Error, "failed to create healthcheck: " + err, null);
            return null;
        }

        var active = checks["active"] as JsonObject;
        var host = Str(active?["host"]);
        var port = Int(active?["port"]);
        var upHdr = Str(up["pass_host"]) == "rewrite" ? Str(up["upstream_host"]) : null;
        var useNodeHdr = Str(up["pass_host"]) == "node";
        foreach (var node in Nodes(up["nodes"]))
        {
            var hostHdr = upHdr ?? (useNodeHdr ? node.Domain : null);
            var p = port ?? node.Port;
            var (ok, aerr) = checker.AddTarget(node.Host, p, host, true, hostHdr);
            if (!ok) Nginx.Log(Worker, LogLevel.Error, $"failed to add healthcheck target: {node.Host}:{p} err: {aerr}", null);
        }
        return checker;
    }

    private readonly record struct Node(string Host, int Port, string? Domain);

    /// <summary>Nodes as a list of {host, port, domain?}, or the "host:port" → weight hash form.</summary>
    private static IEnumerable<Node> Nodes(JsonNode? nodes)
    {
        if (nodes is JsonArray arr)
        {
            foreach (var n in arr)
                if (n is JsonObject o && Str(o["host"]) is { } h && Int(o["port"]) is { } p)
                    yield return new Node(h, p, Str(o["domain"]));
        }
        else if (nodes is JsonObject hash)
        {
            foreach (var (k, _) in hash)
            {
                var colon = k.LastIndexOf(':');
                if (colon > 0 && int.TryParse(k[(colon + 1)..], out var p)) yield return new Node(k[..colon], p, null);
                else yield return new Node(k, 80, null);
            }
        }
    }

    private static string? Str(JsonNode? n) =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static int? Int(JsonNode? n) => n is JsonValue v
        ? v.GetValueKind() switch
        {
            JsonValueKind.Number when JsonScalars.TryGetNumber(v, out var d) => (int)d,
            JsonValueKind.String when int.TryParse(v.GetValue<string>(), out var i) => i,
            _ => null,
        }
        : null;

    /// <summary>
    /// What ai-proxy-multi's `construct_upstream` makes of an instance conf whose endpoint is
    /// resolved: nodes from <c>_dns_nodes</c> (weight 1, priority 0), a copy of <c>checks</c> whose
    /// active probe carries the instance's <c>auth.header</c> (as "Name: value" lines added to
    /// req_headers) and <c>auth.query</c> (appended to http_path), and <c>_nodes_ver</c>.
    /// Null when there are no resolved nodes or one lacks host or port.
    /// </summary>
    public static JsonObject? DefaultConstructUpstream(string pluginName, JsonObject instance)
    {
        if (instance["_dns_nodes"] is not JsonArray dns) return null;
        var nodes = new JsonArray();
        foreach (var n in dns)
        {
            if (n is not JsonObject o || o["host"] == null || o["port"] == null) return null;
            var node = new JsonObject { ["host"] = o["host"]!.DeepClone(), ["port"] = o["port"]!.DeepClone(), ["weight"] = 1, ["priority"] = 0 };
            if (o["domain"] != null) node["domain"] = o["domain"]!.DeepClone();
            nodes.Add(node);
        }
        var checks = instance["checks"]?.DeepClone() as JsonObject;
        if (checks?["active"] is JsonObject active && instance["auth"] is JsonObject auth)
        {
            if (auth["header"] is JsonObject header)
            {
                if (active["req_headers"] is not JsonArray rh) active["req_headers"] = rh = new JsonArray();
                var have = rh.Select(x => Str(x)).Where(x => x != null).ToHashSet();
                foreach (var (k, v) in header)
                {
                    var line = $"{k}: {Str(v) ?? v?.ToJsonString()}";
                    if (have.Add(line)) rh.Add(line);
                }
            }
            if (auth["query"] is JsonObject query)
            {
                var path = Str(active["http_path"]) ?? "/";
                active["http_path"] = path + (path.Contains('?') ? "&" : "?") + Apisix.Core.Utils.NgxEncodeArgs.Encode(query);
            }
        }
        var up = new JsonObject { ["nodes"] = nodes };
        if (checks != null) up["checks"] = checks;
        if (instance["_nodes_ver"] != null) up["_nodes_ver"] = instance["_nodes_ver"]!.DeepClone();
        return up;
    }

    /// <summary>The value at a JSON path such as <c>plugins['ai-proxy-multi'].instances[0]</c> (0-based indexes).</summary>
    public static JsonNode? JsonPathValue(JsonNode? root, string path)
    {
        var i = 0;
        var cur = root;
        if (path.StartsWith("$", StringComparison.Ordinal)) i = 1;
        while (i < path.Length && cur != null)
        {
            if (path[i] == '.') { i++; continue; }
            if (path[i] == '[')
            {
                var close = path.IndexOf(']', i);
                if (close < 0) return null;
                var inner = path[(i + 1)..close];
                i = close + 1;
                if (inner.Length >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[^1] == inner[0])
                    cur = (cur as JsonObject)?[inner[1..^1]];
                else if (int.TryParse(inner, out var idx))
                    cur = cur is JsonArray a && idx >= 0 && idx < a.Count ? a[idx] : null;
                else return null;
                continue;
            }
            var end = i;
            while (end < path.Length && path[end] != '.' && path[end] != '[') end++;
            cur = (cur as JsonObject)?[path[i..end]];
            i = end;
        }
        return cur;
    }
}
