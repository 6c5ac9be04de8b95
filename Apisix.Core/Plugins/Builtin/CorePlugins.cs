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
        registry.Register(new ExamplePlugin());
        registry.Register(new PrometheusPlugin());
        registry.Register(new PublicApiPlugin(registry));
        registry.Register(new EchoPlugin());
        registry.Register(new UriBlockerPlugin());
        registry.Register(new CorsPlugin());
        registry.Register(new CsrfPlugin());
        registry.Register(new SyslogPlugin());
        registry.Register(new OpenidConnectPlugin());
        registry.Register(new LimitReqPlugin());
        registry.Register(new LimitConnPlugin());
        registry.Register(new HmacAuthPlugin());
        registry.Register(new JwtAuthPlugin());
        registry.Register(new BodyTransformerPlugin());
        registry.Register(new ClickhouseLoggerPlugin());
        registry.Register(new UdpLoggerPlugin());
        registry.Register(new NodeStatusPlugin());
        registry.Register(new KafkaProxyPlugin());
        registry.Register(new GrpcTranscodePlugin());
    }

    /// <summary>
    /// The ported plugins that Lua code may <c>require("apisix.plugins.NAME")</c> (tests call their
    /// <c>check_schema</c>): each is a thin Lua face over the C# plugin.
    /// </summary>
    public static void RegisterLua(LuaModules modules)
    {
        modules.AddObject(PrometheusBridge.Name, w => new PrometheusBridge(w));
        modules.AddObject(UdpSender.Name, w => new UdpSender(w));
        var registry = new PluginRegistry();
        Register(registry);
        foreach (var name in registry.AvailableNames.ToList())
        {
            if (name is "serverless-pre-function" or "serverless-post-function" or "kafka-logger" or "request-id") continue;
            var module = "apisix.plugins." + name;
            // example-plugin's module also has init and destroy (plugin.lua calls destroy on unload)
            var extra = name == "example-plugin" ? "function m.init() end\nfunction m.destroy() end\n" : "";
            modules.AddOverride(module, () => "local m = require(\"apisix.bridge.plugin\")(\"" + module + "\")\n" + extra + "return m");
            modules.AddObject(module, w =>
            {
                var fresh = new PluginRegistry();
                Register(fresh);
                return new PluginSchemaBridge(w, fresh.GetAvailable(name)!);
            });
        }
    }
}
