namespace Apisix.TestNginx.Perl;

/// <summary>
/// A failure while lexing, parsing or running Perl. Either a construct outside the supported
/// subset, or an error real Perl would raise too: <c>die</c> (<see cref="Died"/>) or a compile
/// error such as a syntax error or a strict-subs bareword (<see cref="CompileError"/>). Only the
/// latter two are what Perl's <c>eval</c> catches into <c>$@</c>; a subset limit is never caught.
/// The message carries no location; the loader prefixes "file:line".
/// </summary>
public sealed class PerlException(int line, string message, bool died = false, bool compileError = false) : Exception(message)
{
    /// <summary>1-based line in the .t file.</summary>
    public int Line { get; } = line;

    /// <summary>True when the Perl code itself called <c>die</c>.</summary>
    public bool Died { get; } = died;

    /// <summary>True for a compile error real Perl reports as well (not a limit of the subset).</summary>
    public bool CompileError { get; } = compileError;

    /// <summary>True when real Perl would fail the same way, so <c>eval</c> turns it into <c>$@</c>.</summary>
    public bool IsPerlError => Died || CompileError;

    /// <summary>For <c>die</c>: the message ended with "\n", so Perl appends no " at FILE line N.".</summary>
    public bool DieMessageHasNewline { get; init; }

    /// <summary>For a syntax error: the code where it was found, as in Perl's <c>syntax error at X line N, near "..."</c>.</summary>
    public string? Near { get; init; }

    /// <summary>The message with the <see cref="Near"/> text, for reports.</summary>
    public string Detail => Near == null ? Message : $"{Message}, near \"{Near}\"";

    /// <summary>
    /// What Perl puts in <c>$@</c> for this error: the die message as given when it ends with a newline,
    /// otherwise the message plus " at WHERE line N.\n" (N counted from <paramref name="firstLine"/>).
    /// </summary>
    public string DollarAt(string where, int firstLine = 1) =>
        Died && DieMessageHasNewline ? Message + "\n"
        : Near != null ? $"{Message} at {where} line {Line - firstLine + 1}, near \"{Near}\"\n"
        : $"{Message} at {where} line {Line - firstLine + 1}.\n";
}

/// <summary>
/// The program ends normally before its last statement, as Perl's <c>exit</c> does; Test::More's
/// <c>plan skip_all =&gt; ...</c> exits this way. <see cref="PerlInterpreter.Run"/> stops quietly.
/// </summary>
public sealed class PerlExit() : Exception("exit");
