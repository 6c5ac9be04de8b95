namespace Apisix.TestNginx.Parsing;

/// <summary>
/// A value produced by a section or by evaluating Perl: a byte string, a compiled
/// <c>qr//</c>, an array (an <c>eval</c> returning a list), or undef.
/// Strings are "byte strings": every char is one byte (Latin-1), never decoded UTF-8.
/// </summary>
public abstract record PerlValue
{
    public static readonly PerlUndef Undef = new();
}

public sealed record PerlString(string Bytes) : PerlValue
{
    public override string ToString() => Bytes;
}

/// <summary>A <c>qr/PATTERN/FLAGS</c> object; it keeps its own flags wherever it is interpolated.</summary>
public sealed record PerlRegex(string Pattern, string Flags) : PerlValue
{
    /// <summary>Perl's stringification of a qr object: <c>(?^FLAGS:PATTERN)</c>.</summary>
    public override string ToString() => $"(?^{Flags}:{Pattern})";
}

public sealed record PerlArray(IReadOnlyList<PerlValue> Items) : PerlValue;

public sealed record PerlUndef : PerlValue
{
    public override string ToString() => "";
}
