namespace Apisix.Core.Json;

/// <summary>An error raised by the cjson port; the message is cjson's own text.</summary>
public sealed class CJsonException : Exception
{
    public CJsonException(string message) : base(message) { }
}
