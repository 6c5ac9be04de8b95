using Apisix.Core.Bridges;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>The plugins of APISIX's own tree that Apisix.Core ports (apisix/plugins/*.lua).</summary>
public static class CorePlugins
{
    /// <summary>Makes every ported core plugin available in the registry (enabling is the config's job).</summary>
    public static void Register(PluginRegistry registry)
    {
        registry.Register(new RequestIdPlugin());
        registry.Register(new ServerlessPlugin("serverless-pre-function", 10000));
        registry.Register(new ServerlessPlugin("serverless-post-function", -2000));
        registry.Register(new KafkaLoggerPlugin());
        registry.Register(new KeyAuthPlugin());
        registry.Register(new BasicAuthPlugin());
        registry.Register(new LimitCountPlugin());
        registry.Register(new ProxyRewritePlugin());
        registry.Register(new ResponseRewritePlugin());
        registry.Register(new IpRestrictionPlugin());
        registry.Register(new FaultInjectionPlugin());
        registry.Register(new HttpLoggerPlugin());
        registry.Register(new TrafficSplitPlugin());
        registry.Register(new BodyTransformerPlugin());
    }

    /// <summary>
    /// The ported plugins that Lua code may <c>require("apisix.plugins.NAME")</c> (tests call their
    /// <c>check_schema</c>): each is a thin Lua face over the C# plugin.
    /// </summary>
    public static void RegisterLua(LuaModules modules)
    {
        var registry = new PluginRegistry();
        Register(registry);
        foreach (var name in registry.AvailableNames.ToList())
        {
            if (name is "serverless-pre-function" or "serverless-post-function" or "kafka-logger" or "request-id") continue;
            var module = "apisix.plugins." + name;
            modules.AddOverride(module, () => "return require(\"apisix.bridge.plugin\")(\"" + module + "\")");
            modules.AddObject(module, w =>
            {
                var fresh = new PluginRegistry();
                Register(fresh);
                return new PluginSchemaBridge(w, fresh.GetAvailable(name)!);
            });
        }
    }
}
