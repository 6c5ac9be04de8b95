using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Store;
using Apisix.Core.Utils;

namespace Apisix.Core.Http;

/// <summary>
/// The <c>core.config.new(..., {automatic = true})</c> objects that <c>http_init_worker</c>
/// (apisix/init.lua) creates through its modules, in their order: routes (http/route.lua,
/// <c>check_route</c>), services (http/service.lua), plugin configs (plugin_config.lua),
/// consumers (consumer.lua, <c>check_consumer</c>), consumer groups (consumer_group.lua),
/// global rules (global_rules.lua) and upstreams (upstream.lua, <c>check_upstream_conf(true)</c>).
/// Each keeps the data plane's copy of its directory and writes the sync's log lines.
/// </summary>
public sealed class WorkerConfigs : IDisposable
{
    private static readonly ConditionalWeakTable<LuaWorker, WorkerConfigs> ByWorker = new();
    private readonly List<IDisposable> _follows = new();

    public IReadOnlyList<AutomaticConfig> All { get; }

    private WorkerConfigs(List<AutomaticConfig> all) => All = all;

    public AutomaticConfig? this[string name] => All.FirstOrDefault(c => c.Name == name);

    /// <summary>The objects of <paramref name="worker"/>, once its init_worker ran.</summary>
    public static WorkerConfigs? Of(LuaWorker? worker) =>
        worker != null && ByWorker.TryGetValue(worker, out var c) ? c : null;

    /// <summary>
    /// Creates the objects of one process. <paramref name="loaded"/> is what the master read
    /// before the workers started (<c>init_loaded_configuration</c>), or null when
    /// <c>apisix.disable_sync_configuration_during_start</c> is set: each object then makes its
    /// first full read from the sync timer. <paramref name="post"/> runs work on the process's loop.
    /// </summary>
    public static WorkerConfigs Create(IEtcdStore store, ApisixConfig config, PluginRegistry plugins,
        Dictionary<string, (List<StoreEntry> Items, long Revision)>? loaded,
        Action<LogLevel, string> log, Action<Action> post, CancellationToken stopping = default)
    {
        var prefix = config.EtcdPrefix;
        (bool, string?) PluginChecker(JsonObject item, SchemaType type)
        {
            var previous = plugins.Log;
            plugins.Log = (level, msg) => log(ErrorLog.Parse(level), msg);
            try { return plugins.PluginChecker(item, type); }
            finally { plugins.Log = previous; }
        }

        var all = new List<AutomaticConfig>
        {
            new(store, "/routes", prefix, SchemaDefs.Route, (route, _) => CheckRoute(route, PluginChecker), log),
            new(store, "/services", prefix, SchemaDefs.Service, (s, _) => PluginChecker(s, SchemaType.Plugin), log),
            new(store, "/plugin_configs", prefix, SchemaDefs.PluginConfig, (s, _) => PluginChecker(s, SchemaType.Plugin), log),
            new(store, "/consumers", prefix, null, (c, key) => CheckConsumer(c, key, prefix, PluginChecker), log),
            new(store, "/consumer_groups", prefix, SchemaDefs.ConsumerGroup, (s, _) => PluginChecker(s, SchemaType.Plugin), log),
            new(store, "/global_rules", prefix, SchemaDefs.GlobalRule, (s, _) => PluginChecker(s, SchemaType.Plugin), log),
            new(store, "/upstreams", prefix, SchemaDefs.Upstream, (up, _) => UpstreamChecker.Check(up) is { } e ? (false, e) : (true, null), log),
        };
        var configs = new WorkerConfigs(all);
        foreach (var obj in all)
        {
            if (loaded != null && loaded.TryGetValue(obj.Name, out var res))
            {
                log(LogLevel.Notice, "use loaded configuration " + obj.Name);
                obj.LoadFullData(res.Items, res.Revision);
            }
            else
            {
                post(obj.RunSync); // _automatic_fetch's first round: the full read
            }
            configs._follows.Add(obj.Follow(post));
        }

        // the process's main watcher starts with the first sync round
        var timeout = JsonScalars.TryGetNumber(config.Get("etcd", "watch_timeout") ?? config.Get("deployment", "etcd", "watch_timeout"), out var t) ? t : 50;
        var watcher = new MainWatcher(store, prefix, timeout, log);
        configs.Watcher = watcher;
        var first = loaded?.Values.FirstOrDefault();
        post(() => _ = RunWatcher(watcher, loaded != null && loaded.Count > 0,
            first is { } f ? f.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture) : null, log, stopping));
        return configs;
    }

    /// <summary>
    /// Whether <paramref name="entry"/> is an item the sync's checks refused (in whichever
    /// directory it lives): the data plane does not see it.
    /// </summary>
    public bool Refused(StoreEntry? entry) =>
        entry != null && All.Any(c => c.Refused(entry.Key, entry.ModifiedIndex));

    /// <summary>The process's main watcher.</summary>
    public MainWatcher? Watcher { get; private set; }

    private static async Task RunWatcher(MainWatcher watcher, bool hasLoaded, string? index, Action<LogLevel, string> log, CancellationToken stopping)
    {
        try { await watcher.RunAsync(index, hasLoaded, stopping); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log(LogLevel.Error, "run_watch or check_worker thread terminates failed: " + e.Message);
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Registers the objects of a worker, for the gateway's reads (<see cref="Of"/>).</summary>
    public static void Attach(LuaWorker worker, WorkerConfigs configs)
    {
        ByWorker.AddOrUpdate(worker, configs);
        worker.Nginx.Stopping.Register(configs.Dispose);
    }

    /// <summary><c>check_route</c>: the plugin checker, then the <c>vars</c> expression.</summary>
    private static (bool, string?) CheckRoute(JsonObject route, Func<JsonObject, SchemaType, (bool, string?)> pluginChecker)
    {
        var (ok, err) = pluginChecker(route, SchemaType.Plugin);
        if (!ok) return (false, err);
        if (route["vars"] is { } vars && LuaText.IsTruthy(vars))
        {
            var (expr, e) = ExprV1.New(vars);
            if (expr == null) return (false, "failed to validate the 'vars' expression: " + e);
        }
        return (true, null);
    }

    /// <summary><c>check_consumer(consumer, key)</c>: the credential or consumer schema, then the plugin checker.</summary>
    private static (bool, string?) CheckConsumer(JsonObject consumer, string key, string prefix,
        Func<JsonObject, SchemaType, (bool, string?)> pluginChecker)
    {
        var rest = key.StartsWith(prefix + "/consumers/", StringComparison.Ordinal) ? key[(prefix.Length + 11)..] : "";
        var segs = rest.Split('/');
        var isCredential = segs.Length >= 3 && segs[1] == "credentials";
        var (ok, err) = Schema.JsonSchema.Check(isCredential ? Credentials.Schema : SchemaDefs.Consumer, consumer);
        if (!ok) return (false, err);
        return pluginChecker(consumer, SchemaType.Consumer);
    }

    public void Dispose()
    {
        foreach (var f in _follows) f.Dispose();
        _follows.Clear();
    }
}
