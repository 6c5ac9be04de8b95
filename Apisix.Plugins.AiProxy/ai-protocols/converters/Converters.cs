namespace Apisix.Plugins.AiProxy.AiProtocols.Converters;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/converters/init.lua</c>: the registry of protocol
/// converters, keyed by the client protocol and then the provider protocol.
/// </summary>
public static class Converters
{
    // from -> (to, converter), in registration order; a later registration of the same pair replaces the earlier one
    private static readonly Dictionary<string, List<(string To, IAiConverter Converter)>> Registry = new(StringComparer.Ordinal);

    static Converters()
    {
        Register(AnthropicMessagesToOpenAiChat.Instance);
        Register(OpenAiEmbeddingsToVertexPredict.Instance);
    }

    private static void Register(IAiConverter converter)
    {
        if (!Registry.TryGetValue(converter.From, out var fromMap))
        {
            fromMap = new List<(string, IAiConverter)>();
            Registry[converter.From] = fromMap;
        }
        var i = fromMap.FindIndex(e => e.To == converter.To);
        if (i >= 0) fromMap[i] = (converter.To, converter);
        else fromMap.Add((converter.To, converter));
    }

    /// <summary>
    /// <c>find(client_protocol, capabilities)</c>: a converter from the client protocol to one
    /// the provider serves (<paramref name="capabilities"/>: the protocol names of its
    /// capabilities table), and that target protocol; nulls when there is none. Lua walks the
    /// targets with <c>pairs</c>; here they are tried in registration order.
    /// </summary>
    public static (IAiConverter? Converter, string? TargetProtocol) Find(string? clientProtocol, IReadOnlyCollection<string> capabilities)
    {
        if (clientProtocol == null || !Registry.TryGetValue(clientProtocol, out var fromMap)) return (null, null);
        foreach (var (target, converter) in fromMap)
        {
            if (capabilities.Contains(target)) return (converter, target);
        }
        return (null, null);
    }
}
