namespace Apisix.TestNginx.Perl;

/// <summary>
/// A failure while lexing, parsing or running Perl: a construct outside the supported subset,
/// or a Perl-level runtime error such as <c>die</c> (then <see cref="Died"/> is true).
/// The message carries no location; the loader prefixes "file:line".
/// </summary>
public sealed class PerlException(int line, string message, bool died = false) : Exception(message)
{
    /// <summary>1-based line in the .t file.</summary>
    public int Line { get; } = line;

    /// <summary>True when the Perl code itself called <c>die</c>.</summary>
    public bool Died { get; } = died;
}
