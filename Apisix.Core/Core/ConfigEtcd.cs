// Twin of apisix/core/config_etcd.lua
using System.Text.Json.Nodes;
using Apisix.Core.Store;

namespace Apisix.Core;

/// <summary>
/// <c>core.config</c> with etcd as the config provider: reads of an etcd directory in the
/// shape <c>core.etcd</c> gives them. The gateway's own routes, services and upstreams are read
/// from the store directly (Apisix.Core.Http); what is ported here is what Lua callers use.
/// </summary>
public sealed class ConfigEtcd(Etcd etcd)
{
    /// <summary>
    /// <c>getkey(etcd_cli, key)</c>: a directory read of <paramref name="key"/> (a full key,
    /// prefix included) formatted by <c>core.etcd.get_format</c>.
    /// </summary>
    public (EtcdResponse? Res, string? Err) GetKey(EtcdClient cli, string key)
    {
        var (res, err) = cli.Readdir(key);
        if (res == null) return (null, err);
        return etcd.GetFormat(res, key, isDir: true);
    }

    /// <summary>
    /// <c>readdir(etcd_cli, key)</c> of the automatic sync: the directory read formatted by
    /// <c>get_format</c> (<c>body.list</c> with the v3 admin API, <c>body.node.nodes</c> with v2).
    /// </summary>
    public (EtcdResponse? Res, string? Err) Readdir(EtcdClient cli, string key) => GetKey(cli, key);

    /// <summary>
    /// <c>waitdir</c>'s answer from one watch message: a watch etcd cancelled because the
    /// history was compacted past the asked revision is "compacted" (the caller reads the whole
    /// directory again); otherwise the v2 shape of <c>watch_format</c>.
    /// </summary>
    public static (JsonObject? Res, string? Err) WaitdirFormat(JsonObject msg)
    {
        if (msg["result"] is JsonObject result && result["canceled"] is JsonValue c && c.TryGetValue(out bool canceled) && canceled)
            return (null, result["compact_revision"] != null ? "compacted" : "watch canceled");
        return Etcd.WatchFormat(msg);
    }
}
