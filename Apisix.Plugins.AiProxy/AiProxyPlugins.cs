using Apisix.Core.Bridges;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;

namespace Apisix.Plugins.AiProxy;

/// <summary>Registers this assembly's plugins with a registry.</summary>
public static class AiProxyPlugins
{
    public static void Register(PluginRegistry registry)
    {
        registry.Register(new AiProxyPlugin());
        registry.Register(new AiProxyMultiPlugin());
        foreach (var plugin in Siblings()) registry.Register(plugin);
    }

    /// <summary>
    /// The AI plugins beside ai-proxy (each a fresh instance): the ones that run before it and
    /// shape the request (prompt templates, decorators, guards, rewrites) or limit it by tokens.
    /// </summary>
    private static IEnumerable<IPlugin> Siblings() =>
    [
        new AiRateLimitingPlugin(),
        new AiPromptDecoratorPlugin(),
        new AiPromptGuardPlugin(),
        new AiPromptTemplatePlugin(),
        new AiRequestRewritePlugin(),
        new AiRagPlugin(),
        new AiAwsContentModerationPlugin(),
        new AiAliyunContentModerationPlugin(),
    ];

    /// <summary>
    /// Make this assembly's modules requirable from Lua under their upstream names
    /// (`apisix.plugins.ai-...`): the Lua bridges in Bridges/Lua and the C# objects they call.
    /// </summary>
    public static void RegisterLua(LuaModules modules)
    {
        modules.AddEmbedded(typeof(AiProxyPlugins).Assembly, under: "apisix/");
        modules.AddObject("apisix.plugins.ai-proxy", w => new PluginSchemaBridge(w, new AiProxyPlugin()));
        modules.AddObject("apisix.plugins.ai-proxy-multi", w => new PluginSchemaBridge(w, new AiProxyMultiPlugin()));
        foreach (var plugin in Siblings())
        {
            var module = "apisix.plugins." + plugin.Name;
            var name = plugin.Name;
            // a plugin with a Lua face of its own (Bridges/Lua) keeps it
            if (modules.Override(module) == null)
                modules.AddOverride(module, () => "return require(\"apisix.bridge.plugin\")(\"" + module + "\")");
            modules.AddObject(module, w => new PluginSchemaBridge(w, Siblings().First(p => p.Name == name)));
        }
        modules.AddObject(Bridges.AiProxyMultiBridge.Name, worker => new Bridges.AiProxyMultiBridge(worker));
        modules.AddObject(Bridges.AiAliyunContentModerationBridge.Name,
            worker => new Bridges.AiAliyunContentModerationBridge(worker));
        modules.AddObject(Bridges.ProviderBaseBridge.Name, worker => new Bridges.ProviderBaseBridge(worker));
        modules.AddObject(AiTransport.HttpBridge.Name, worker => new AiTransport.HttpBridge(worker));
        modules.AddObject(AiTransport.SseBridge.Name, worker => new AiTransport.SseBridge(worker));
        modules.AddObject(AiTransport.AuthAwsBridge.Name, worker => new AiTransport.AuthAwsBridge(worker));
        modules.AddObject(AiProtocols.ProtocolsBridge.Name, worker => new AiProtocols.ProtocolsBridge(worker));
        modules.AddObject(AiTransport.GoogleCloudOAuthBridge.Name, _ => new AiTransport.GoogleCloudOAuthBridge());
        modules.AddObject(Bridges.VertexAiBridge.Name, worker => new Bridges.VertexAiBridge(worker));
        modules.AddObject(Bridges.AnthropicMessagesToOpenAiChatBridge.Name,
            worker => new Bridges.AnthropicMessagesToOpenAiChatBridge(worker));
    }
}
