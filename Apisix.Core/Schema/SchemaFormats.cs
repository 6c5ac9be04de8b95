namespace Apisix.Core.Schema;

/// <summary>
/// The "format" values the library knows. Unknown formats are not checked.
/// Under OpenResty ipv4/ipv6 go through inet_pton; the rest are regex
/// searches (written here as equivalent expressions).
/// </summary>
internal static class SchemaFormats
{
    private static readonly Dictionary<string, string> Patterns = new()
    {
        ["email"] = @"^[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-]+\.[A-Za-z]{2,4}$",
        ["hostname"] = @"^[a-zA-Z0-9.\-]+$",
        ["uuid"] = @"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$",
        ["date"] = @"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
        ["date-time"] = @"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$",
        ["uri"] = @"^[a-zA-Z][a-zA-Z0-9+.\-]*:\S*$",
    };

    public static bool IsKnown(string format) =>
        format == "ipv4" || format == "ipv6" || Patterns.ContainsKey(format);

    public static bool Matches(string format, string value)
    {
        return format switch
        {
            "ipv4" => InetPton.IsIPv4(value),
            "ipv6" => InetPton.IsIPv6(value),
            _ => PcrePattern.Find(value, Patterns[format]),
        };
    }
}
