namespace Apisix.Core.Bridges;

/// <summary>Hands a fixed string to Lua (`__bridge(name):Value()`), e.g. APISIX's home directory.</summary>
public sealed class StringBridge(string value)
{
    public string Value() => value;
}
