// Twin of apisix/core/id.lua
using System.Runtime.CompilerServices;
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// <c>core.id</c>: the instance's uid, made at init. Upstream keeps it in conf/apisix.uid under
/// the prefix; this port keeps it in memory for the nginx's life (the prefix is the APISIX tree,
/// which the runner does not write to), so every start logs that it generated one.
/// </summary>
public sealed class CoreId(LuaWorker worker)
{
    public const string Name = "apisix.core.id";
    private static readonly ConditionalWeakTable<Nginx, string> Uids = new();

    /// <summary>http_init's <c>core.id.init()</c>, run once per nginx.</summary>
    public static void Init(LuaWorker w, string? configuredId)
    {
        if (Uids.TryGetValue(w.Nginx, out _)) return;
        var uid = configuredId;
        if (uid == null)
        {
            uid = Guid.NewGuid().ToString();
            w.Nginx.Log(w, LogLevel.Notice, "not found apisix uid, generate a new one: " + uid, null);
        }
        Uids.AddOrUpdate(w.Nginx, uid);
    }

    public string? Get() => Uids.TryGetValue(worker.Nginx, out var uid) ? uid : null;

    public string GenUuidV4() => Guid.NewGuid().ToString();
}
