namespace Apisix.Core.Admin;

/// <summary>
/// What the admin API answers: status, body text (JSON bodies end with the
/// "\n" APISIX adds), content type, and the other response headers it sets
/// (Server, CORS, X-API-VERSION).
/// </summary>
public sealed record AdminResponse(int Status, string Body, string ContentType)
{
    /// <summary>Response headers besides Content-Type, in the order APISIX sets them.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } =
        Array.Empty<KeyValuePair<string, string>>();

    /// <summary>The value of a header (case-insensitive name), or null.</summary>
    public string? Header(string name)
    {
        if (string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase)) return ContentType;
        foreach (var (k, v) in Headers)
        {
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) return v;
        }
        return null;
    }
}
