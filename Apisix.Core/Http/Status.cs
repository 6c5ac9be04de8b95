// Twin of the status parts of apisix/init.lua (status, status_ready) and of the standalone
// admin API's worker side (apisix/admin/standalone.lua init_worker, config_yaml's shared-dict start)
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Config;
using Apisix.Core.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Core.Http;

/// <summary>
/// <c>/status</c> and <c>/status/ready</c> of APISIX's status server, and how each worker comes to
/// have its configuration: with etcd at once (the port's store is there when the worker starts);
/// with the standalone admin API (config provider yaml) only once a configuration was PUT, or
/// found in the <c>standalone-config</c> shared dict when the worker starts.
/// </summary>
public static class ApisixStatus
{
    /// <summary><c>apisix.status()</c>.</summary>
    public static Task StatusAsync(NgxRequest req) =>
        req.SendSimpleAsync(200, CJson.Encode(new JsonObject { ["status"] = "ok" }));

    /// <summary><c>apisix.status_ready()</c>: 503 with the reason until every worker has its configuration.</summary>
    public static Task StatusReadyAsync(NgxRequest req, ApisixConfig config)
    {
        var (ready, message) = ConfigReadyCheck(req, config);
        if (!ready)
            return req.SendSimpleAsync(503, CJson.Encode(new JsonObject { ["status"] = "error", ["error"] = message }));
        // discovery_ready_check: no discovery module is ported, so none can be unready
        return req.SendSimpleAsync(200, CJson.Encode(new JsonObject { ["status"] = "ok" }));
    }

    private static (bool, string?) ConfigReadyCheck(NgxRequest req, ApisixConfig config)
    {
        var provider = config.ConfigProvider;
        if (provider is not ("yaml" or "etcd")) return (false, "unknown config provider: " + provider);

        var dict = req.Nginx.SharedDicts.GetValueOrDefault("status-report");
        if (dict == null)
        {
            req.Log(LogLevel.Error, "failed to get ngx.shared dict status-report");
            return (false, "failed to get ngx.shared dict status-report");
        }
        var ids = dict.Keys(1024);
        int workerCount = req.Nginx.Workers.Count;
        if (ids.Count != workerCount)
        {
            var error = "worker count: " + workerCount + " but status report count: " + ids.Count;
            req.Log(LogLevel.Error, error);
            return (false, error);
        }
        foreach (var id in ids)
        {
            if (dict.Get(id).Value is not true)
            {
                var error = "worker id: " + id + " has not received configuration";
                req.Log(LogLevel.Error, error);
                return (false, error);
            }
        }
        return (true, null);
    }

    /// <summary>
    /// A worker starts: it reports not ready; then, with the standalone admin API, it takes the
    /// configuration kept in the <c>standalone-config</c> dict if there is one, and otherwise waits
    /// for a PUT; with any other provider its configuration is already in the store.
    /// </summary>
    public static void InitWorker(LuaWorker w, ApisixConfig config, ConfigStore store)
    {
        var nginx = w.Nginx;
        ConfigYaml.SyncStatus(nginx, w.Id, false);
        if (config.ConfigProvider != "yaml" || !config.EnableAdmin)
        {
            ConfigYaml.SyncStatus(nginx, w.Id, true);
            return;
        }

        void Log(LogLevel level, string msg) => nginx.Log(w, level, msg, null);
        var dict = nginx.SharedDicts.GetValueOrDefault("standalone-config");
        if (dict == null)
        {
            Log(LogLevel.Crit, "failed to read config from shared dict: shared dict not found");
            return;
        }
        if (dict.Get("config").Value is not string raw)
        {
            Log(LogLevel.Info, "no config found in shared dict");
            return;
        }
        Log(LogLevel.Info, "startup config loaded from shared dict: " + raw);
        var (decoded, err) = CJson.Decode(raw);
        if (decoded is not JsonObject conf)
        {
            Log(LogLevel.Error, "failed to decode config from shared dict: " + err);
            return;
        }
        conf.Remove("X-Last-Modified");
        conf.Remove("X-Digest");
        ConfigYaml.Apply(store, conf, m => Log(LogLevel.Error, m));
        ConfigYaml.SyncStatus(nginx, w.Id, true);
        Log(LogLevel.Info, "config loaded from shared dict");
    }
}

/// <summary>The standalone admin API's view of one running nginx: its dict, and the update every worker takes.</summary>
public sealed class StandaloneHost(Nginx nginx, ConfigStore store, Action<string, string> log) : IStandaloneHost
{
    public SharedDict? ConfigDict => nginx.SharedDicts.GetValueOrDefault("standalone-config");

    /// <summary>The store is shared by the workers, so it changes once; then every worker reports it has the configuration.</summary>
    public void Broadcast(JsonObject config)
    {
        ConfigYaml.Apply(store, config, m => log("error", m));
        foreach (var w in nginx.Workers) ConfigYaml.SyncStatus(nginx, w.Id, true);
    }
}
