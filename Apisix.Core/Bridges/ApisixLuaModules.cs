using Apisix.Core.Config;
using Apisix.Core.Http;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;
using Apisix.Core.Store;

namespace Apisix.Core.Bridges;

/// <summary>
/// The Lua modules an APISIX process offers (<c>apisix.*</c>, <c>apisix.core.*</c>, the core plugins,
/// <c>resty.etcd</c>, <c>resty.healthcheck</c>...), registered the same way for the test runner and
/// for the gateway host, so Lua code sees the same modules in both. Plugin assemblies beside the
/// core (the AI plugins) add theirs through <paramref name="morePlugins"/>.
/// </summary>
public static class ApisixLuaModules
{
    public static void Register(LuaModules modules, string home, IEtcdStore store, ApisixConfig config, PluginRegistry registry,
        Action<LuaModules>? morePlugins = null)
    {
        modules.AddObject("apisix.home", _ => new StringBridge(home));
        modules.AddObject(DnsBridge.Name, w => new DnsBridge(w));
        modules.AddObject(HealthcheckBridge.Name, w => new HealthcheckBridge(w));
        modules.AddObject(BalancerBridge.Name, w => new BalancerBridge(w));
        modules.AddEmbedded(typeof(ApisixHttp).Assembly, under: "apisix/");
        CoreModules.Register(modules);
        modules.AddEmbedded(typeof(ApisixHttp).Assembly, under: "resty/healthcheck");
        modules.AddEmbedded(typeof(ApisixHttp).Assembly, under: "resty/etcd");
        morePlugins?.Invoke(modules);
        Plugins.Builtin.CorePlugins.RegisterLua(modules);
        modules.AddObject(EtcdBridge.Name, w => new EtcdBridge(w, store, config));
        modules.AddObject(PluginBridge.Name, w => new PluginBridge(w, registry, config));
        modules.AddObject(SslBridge.Name, w => new SslBridge(w, config));
        var configLocal = new ConfigLocal(config);
        modules.AddObject(ConfigLocal.Name, w => new ConfigLocal.Bridge(w, configLocal));
    }
}
