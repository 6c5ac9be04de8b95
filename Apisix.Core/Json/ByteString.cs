using System.Text;

namespace Apisix.Core.Json;

/// <summary>
/// Lua strings are byte strings. The port stores them in .NET strings with one
/// char per byte (Latin-1 range). A string holding a char above 0xFF cannot be
/// such a byte string, so it is taken as ordinary Unicode text and turned into
/// its UTF-8 bytes first.
/// </summary>
public static class ByteString
{
    /// <summary>True when every char fits in a byte.</summary>
    public static bool IsByteString(string s)
    {
        foreach (char c in s)
        {
            if (c > 0xFF) return false;
        }
        return true;
    }

    /// <summary>Returns <paramref name="s"/> unchanged when it is already a byte
    /// string, else its UTF-8 encoding with one char per byte.</summary>
    public static string Normalize(string s)
    {
        if (IsByteString(s)) return s;
        return FromBytes(Encoding.UTF8.GetBytes(s));
    }

    /// <summary>One char per byte.</summary>
    public static string FromBytes(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes); // byte b is char b

    /// <summary>The bytes of a byte string (after <see cref="Normalize"/>).</summary>
    public static byte[] ToBytes(string s)
    {
        // every char of a normalized string is below 0x100: Latin-1 gives each its byte
        return Encoding.Latin1.GetBytes(Normalize(s));
    }

    /// <summary>Interprets a byte string as UTF-8 text (for display or .NET APIs).</summary>
    public static string ToUtf8Text(string s) => Encoding.UTF8.GetString(ToBytes(s));
}
