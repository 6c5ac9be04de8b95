using Apisix.Core.Plugins;

namespace Apisix.Plugins.AiProxy;

/// <summary>Registers this assembly's plugins with a registry.</summary>
public static class AiProxyPlugins
{
    public static void Register(PluginRegistry registry)
    {
        registry.Register(new AiProxyPlugin());
        registry.Register(new AiProxyMultiPlugin());
    }
}
