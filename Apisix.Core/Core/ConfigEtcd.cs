// Twin of apisix/core/config_etcd.lua
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
}
