namespace Apisix.TestNginx.Perl;

public enum TokenKind
{
    Ident,     // bareword or keyword, may contain "::" (t::APISIX)
    Scalar,    // $name, $::name, $!, $/ ; Text is the name without the sigil
    Array,     // @name ; Text is the name
    Hash,      // %name ; Text is the name
    Number,
    String,    // any quoted string or heredoc; see Parts
    Regex,     // qr/.../flags ; Text is the pattern as written, Flags the flags
    Words,     // qw(...) ; see Words
    ReadLine,  // <$fh> ; Text is the handle variable's name
    Backtick,  // `cmd` or qx{cmd} ; see Parts (interpolated like "...")
    Match,     // m/.../flags, or /.../ after =~ ; Text is the pattern, Flags the flags
    Subst,     // s/.../.../flags ; Text is the pattern, Parts the replacement, Flags the flags
    Op,        // punctuation
    Eof,
}

/// <summary>A piece of a double-quoted string: literal bytes or an interpolated variable.</summary>
public abstract record StringPart;
public sealed record LiteralPart(string Text) : StringPart;
/// <summary><c>$name</c> inside a string; Name is as in <see cref="TokenKind.Scalar"/>.</summary>
public sealed record ScalarPart(string Name) : StringPart;
/// <summary><c>$ENV{KEY}</c> inside a string.</summary>
public sealed record EnvPart(string Key) : StringPart;

public sealed record Token(TokenKind Kind, string Text, int Line)
{
    public IReadOnlyList<StringPart> Parts { get; init; } = [];
    public IReadOnlyList<string> Words { get; init; } = [];
    public string Flags { get; init; } = "";

    public bool IsOp(string op) => Kind == TokenKind.Op && Text == op;
    public bool IsIdent(string name) => Kind == TokenKind.Ident && Text == name;

    public override string ToString() => Kind switch
    {
        TokenKind.Eof => "end of code",
        TokenKind.Scalar => "$" + Text,
        TokenKind.Array => "@" + Text,
        TokenKind.Hash => "%" + Text,
        TokenKind.String => "string",
        TokenKind.Regex => "qr//",
        TokenKind.Match => "m//",
        TokenKind.Subst => "s///",
        TokenKind.Backtick => "`...`",
        _ => $"'{Text}'",
    };
}
