namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary><c>require("apisix.plugins.ai-providers." .. name)</c>: the provider modules by name.</summary>
public static class Providers
{
    private static readonly Dictionary<string, Func<ProviderBase>> Modules = new(StringComparer.Ordinal)
    {
        ["openai"] = () => OpenAi.Instance,
        ["openai-compatible"] = () => OpenAiCompatible.Instance,
        ["deepseek"] = () => DeepSeek.Instance,
        ["azure-openai"] = () => AzureOpenAi.Instance,
        ["aimlapi"] = () => AimlApi.Instance,
        ["openrouter"] = () => OpenRouter.Instance,
        ["gemini"] = () => Gemini.Instance,
        ["anthropic"] = () => Anthropic.Instance,
        ["vertex-ai"] = () => VertexAi.Instance,
        ["bedrock"] = () => Bedrock.Instance,
    };

    /// <summary>The provider module of that name, or null (a failed require).</summary>
    public static ProviderBase? Require(string name) => Modules.TryGetValue(name, out var get) ? get() : null;

    /// <summary>The public hosts providers call when an instance sets no endpoint (api.openai.com...).</summary>
    public static IEnumerable<string> DefaultHosts() =>
        Modules.Values.Select(get => get().Host).OfType<string>().Distinct(StringComparer.Ordinal);
}
