namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>Port of <c>ai-providers/azure-openai.lua</c>: the deployment in the endpoint names the model.</summary>
public static class AzureOpenAi
{
    public static readonly ProviderBase Instance = new()
    {
        Port = 443,
        RemoveModel = true,
        Capabilities = new Dictionary<string, ProviderCapability>
        {
            ["openai-chat"] = ProviderCapability.At("/completions", RewriteRules.ChatMaxTokens),
        },
    };
}
