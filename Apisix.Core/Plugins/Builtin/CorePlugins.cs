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
        registry.Register(new LimitCountPlugin());
    }
}
