using System.Text;

namespace Apisix.TestNginx.Perl;

/// <summary>
/// Turns Perl source into tokens. Handles what the Perl subset needs at the lexical level:
/// comments, POD, quotes (' " q qq qw qr), heredocs, variables and operators. Interpolation of
/// double-quoted text is split into <see cref="StringPart"/>s here so the parser never re-scans
/// strings. Anything lexically outside the subset throws <see cref="PerlException"/>.
/// </summary>
public sealed class PerlLexer
{
    // Longest first, so "//=" wins over "//" over "/".
    private static readonly string[] Operators =
    [
        "<=>", "//=", "||=", "&&=", "**", "=>", "->", "==", "!=", "<=", ">=", "=~", "!~", "//", "||", "&&",
        ".=", "+=", "-=", "*=", "..", "++", "--", "::",
        "=", "+", "-", "*", "/", "%", ".", ",", ";", "(", ")", "{", "}", "[", "]", "!", "?", ":",
        "<", ">", "\\", "&", "|", "^", "~",
    ];

    private readonly string _src;
    private readonly int[] _lineStarts;
    private readonly int _firstLine;
    private int _pos;
    private int? _afterHeredocs;   // where the next line starts once pending heredoc bodies are skipped
    private Token? _last;

    public PerlLexer(string source, int firstLine = 1)
    {
        _src = source;
        _firstLine = firstLine;
        var starts = new List<int> { 0 };
        for (var i = 0; i < source.Length; i++)
            if (source[i] == '\n') starts.Add(i + 1);
        _lineStarts = starts.ToArray();
    }

    public static List<Token> Tokenize(string source, int firstLine = 1)
    {
        var lexer = new PerlLexer(source, firstLine);
        var tokens = new List<Token>();
        Token t;
        do tokens.Add(t = lexer.Next()); while (t.Kind != TokenKind.Eof);
        return tokens;
    }

    private int LineAt(int pos)
    {
        var i = Array.BinarySearch(_lineStarts, pos);
        if (i < 0) i = ~i - 1;
        return _firstLine + i;
    }

    private PerlException Error(int pos, string message) => new(LineAt(pos), message);

    private char Peek(int offset = 0) => _pos + offset < _src.Length ? _src[_pos + offset] : '\0';

    private static bool IsWordStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_';
    private static bool IsWord(char c) => IsWordStart(c) || c is >= '0' and <= '9';

    private bool LastIsTerm => _last is { } t && (t.Kind is TokenKind.Scalar or TokenKind.Array or TokenKind.Hash
        or TokenKind.Number or TokenKind.String or TokenKind.Regex or TokenKind.Words or TokenKind.ReadLine
        or TokenKind.Backtick or TokenKind.Match or TokenKind.Subst || t.IsOp(")") || t.IsOp("]"));

    public Token Next() => _last = Lex();

    private Token Lex()
    {
        SkipSpaceAndComments();
        var start = _pos;
        var line = LineAt(start);
        if (_pos >= _src.Length) return new Token(TokenKind.Eof, "", line);
        var c = Peek();

        if (IsWordStart(c)) return LexWord(start, line);
        if (c is >= '0' and <= '9') return LexNumber(start, line);
        if (c == '$') return LexVariable(start, line);
        if (c == '@' && (IsWordStart(Peek(1)) || Peek(1) == ':'))
        {
            _pos++;
            return new Token(TokenKind.Array, ReadQualifiedName(), line);
        }
        if (c == '@' && Peek(1) == '{') throw Error(start, "array dereference @{...} is not supported");
        if (c == '%' && !LastIsTerm && IsWordStart(Peek(1)))
        {
            _pos++;
            return new Token(TokenKind.Hash, ReadQualifiedName(), line);
        }
        if (c == '\'')
        {
            _pos++;
            return StringToken(line, [new LiteralPart(UnescapeSingle(ReadDelimited('\'', start)))]);
        }
        if (c == '"')
        {
            _pos++;
            var raw = ReadDelimited('"', start);
            return StringToken(line, Interpolate(raw, start));
        }
        if (c == '`')
        {
            _pos++;
            return new Token(TokenKind.Backtick, "", line) { Parts = Interpolate(ReadDelimited('`', start), start) };
        }
        if (c == '/' && (_last?.IsOp("=~") == true || _last?.IsOp("!~") == true))
        {
            _pos++;
            return LexMatch('/', start, line);
        }
        if (c == '<' && Peek(1) == '<' && !LastIsTerm && (IsWordStart(Peek(2)) || Peek(2) is '"' or '\'' or '~'))
            return LexHeredoc(start, line);
        if (c == '<' && !LastIsTerm) { var rl = TryLexReadLine(line); if (rl != null) return rl; }

        foreach (var op in Operators)
        {
            if (string.CompareOrdinal(_src, _pos, op, 0, op.Length) == 0)
            {
                _pos += op.Length;
                return new Token(TokenKind.Op, op, line);
            }
        }
        throw Error(start, $"unexpected character '{c}'");
    }

    private static Token StringToken(int line, IReadOnlyList<StringPart> parts) =>
        new(TokenKind.String, "", line) { Parts = parts };

    // Whitespace, '#' comments and POD; a newline also jumps over heredoc bodies read on that line.
    private void SkipSpaceAndComments()
    {
        while (_pos < _src.Length)
        {
            var c = _src[_pos];
            if (c == '\n')
            {
                _pos = _afterHeredocs ?? _pos + 1;
                _afterHeredocs = null;
                if (_pos < _src.Length && _src[_pos] == '=' && IsWordStart(Peek(1))) SkipPod();
            }
            else if (c is ' ' or '\t' or '\r' or '\f' or '\v') _pos++;
            else if (c == '#') { while (_pos < _src.Length && _src[_pos] != '\n') _pos++; }
            else if (_pos == 0 && c == '=' && IsWordStart(Peek(1))) SkipPod();
            else break;
        }
    }

    // POD runs from a line starting with "=word" through the line starting with "=cut".
    private void SkipPod()
    {
        while (_pos < _src.Length)
        {
            var eol = _src.IndexOf('\n', _pos);
            var isCut = string.CompareOrdinal(_src, _pos, "=cut", 0, 4) == 0 && (_pos + 4 >= _src.Length || !IsWord(_src[_pos + 4]));
            _pos = eol < 0 ? _src.Length : eol + 1;
            if (isCut) return;
        }
    }

    private string ReadQualifiedName()
    {
        var sb = new StringBuilder();
        if (Peek() == ':' && Peek(1) == ':') { _pos += 2; sb.Append("main::"); }
        while (true)
        {
            while (IsWord(Peek())) sb.Append(_src[_pos++]);
            if (Peek() == ':' && Peek(1) == ':' && IsWordStart(Peek(2))) { sb.Append("::"); _pos += 2; }
            else break;
        }
        return sb.ToString();
    }

    private Token LexWord(int start, int line)
    {
        var word = ReadQualifiedName();
        // CORE::name always means the builtin, which is what the bare name means here (no overrides).
        if (word.StartsWith("CORE::", StringComparison.Ordinal) && word.Length > 6 && !word.StartsWith("CORE::GLOBAL::", StringComparison.Ordinal))
            word = word[6..];
        if (LastIsTerm && word.Length > 1 && word[0] == 'x' && word.Skip(1).All(char.IsAsciiDigit))
        {
            _pos = start + 1; // "text"x5: the repetition operator glued to its count
            return new Token(TokenKind.Ident, "x", line);
        }
        switch (word)
        {
            case "__END__" or "__DATA__":
                _pos = _src.Length;
                return new Token(TokenKind.Eof, "", line);
            case var _ when _last?.IsOp("->") == true:
                break; // a method name ($block->s), never a quote operator
            case var _ when word.Length == 1 && _last?.IsOp("-") == true && start > 0 && _src[start - 1] == '-':
                break; // a file test (-s $file), never a quote operator
            case "q" or "qq" or "qw" or "qr" or "qx" when StartsQuoteLike():
                return LexQuoteLike(word, start, line);
            case "m" or "s" when StartsQuoteLike() && !LastIsTerm:
                while (Peek() is ' ' or '\t') _pos++;
                var open = _src[_pos++];
                return word == "m" ? LexMatch(open, start, line) : LexSubst(open, start, line);
            case "tr" or "y" when StartsQuoteLike() && !LastIsTerm:
                throw Error(start, $"the transliteration operator {word}/// is not supported");
        }
        return new Token(TokenKind.Ident, word, line);
    }

    // After q/qq/qw/qr: is the next non-space character a delimiter (and not "=>" or ",")?
    private bool StartsQuoteLike()
    {
        var p = _pos;
        while (p < _src.Length && _src[p] is ' ' or '\t') p++;
        if (p >= _src.Length) return false;
        var c = _src[p];
        if (c == '=' && p + 1 < _src.Length && _src[p + 1] == '>') return false;
        if (c == '#' && p != _pos) return false;  // "q #" starts a comment, not a quote
        return !IsWord(c) && c is not (' ' or '\t' or '\n' or '\r' or ',' or ';' or ')');
    }

    private Token LexQuoteLike(string op, int start, int line)
    {
        while (Peek() is ' ' or '\t') _pos++;
        var open = _src[_pos++];
        var raw = ReadDelimited(open, start, op == "qr" ? "Search pattern not terminated" : null);
        switch (op)
        {
            case "q":
                return StringToken(line, [new LiteralPart(UnescapeSingle(raw, CloserOf(open)))]);
            case "qq":
                return StringToken(line, open == '\'' ? [new LiteralPart(raw)] : Interpolate(raw, start));
            case "qx":
                return new Token(TokenKind.Backtick, "", line) { Parts = open == '\'' ? [new LiteralPart(raw)] : Interpolate(raw, start) };
            case "qw":
                return new Token(TokenKind.Words, "", line)
                {
                    Words = raw.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries),
                };
            default: // qr: the pattern stays exactly as written; only interpolation is rejected
                var flagsStart = _pos;
                while (IsWord(Peek())) _pos++;
                var flags = _src[flagsStart.._pos];
                if (flags.Any(f => !"msixpnadlu".Contains(f)))
                    throw Error(start, $"unsupported qr// flags '{flags}'");
                if (open != '\'') RejectRegexInterpolation(raw, start);
                return new Token(TokenKind.Regex, raw, line) { Flags = flags };
        }
    }

    // m/PATTERN/flags (the opening delimiter already read); the pattern stays as written, like qr//.
    private Token LexMatch(char open, int start, int line)
    {
        var raw = ReadDelimited(open, start, "Search pattern not terminated");
        var flags = ReadRegexFlags(start, "msixpnadlugc", "m//");
        if (open != '\'') RejectRegexInterpolation(raw, start);
        return new Token(TokenKind.Match, raw, line) { Flags = flags };
    }

    // s/PATTERN/REPLACEMENT/flags; with bracket delimiters the replacement has its own: s{a}{b}.
    private Token LexSubst(char open, int start, int line)
    {
        var pattern = ReadDelimited(open, start, "Substitution pattern not terminated");
        var replaceOpen = open;
        if (CloserOf(open) != open)
        {
            while (Peek() is ' ' or '\t' or '\n' or '\r') _pos++;
            if (_pos >= _src.Length) throw Error(start, "substitution replacement not terminated");
            replaceOpen = _src[_pos++];
        }
        var replacement = ReadDelimited(replaceOpen, start, "Substitution replacement not terminated");
        var flags = ReadRegexFlags(start, "msixpnadlugcer", "s///");
        if (flags.Contains('e')) throw Error(start, "s///e (evaluating the replacement as code) is not supported");
        if (open != '\'') RejectRegexInterpolation(pattern, start);
        return new Token(TokenKind.Subst, pattern, line)
        {
            Flags = flags,
            Parts = replaceOpen == '\'' ? [new LiteralPart(replacement)] : Interpolate(replacement, start),
        };
    }

    private string ReadRegexFlags(int start, string allowed, string op)
    {
        var flagsStart = _pos;
        while (IsWord(Peek())) _pos++;
        var flags = _src[flagsStart.._pos];
        if (flags.Any(f => !allowed.Contains(f))) throw Error(start, $"unsupported {op} flags '{flags}'");
        return flags;
    }

    private static char CloserOf(char open) => open switch { '(' => ')', '[' => ']', '{' => '}', '<' => '>', _ => open };

    // Reads up to the matching closing delimiter (nesting for bracket pairs); backslashes are kept.
    // An unterminated one is a compile error in Perl too, so an eval section gets it as $@;
    // notTerminated is Perl's own wording for the construct.
    private string ReadDelimited(char open, int start, string? notTerminated = null)
    {
        var close = CloserOf(open);
        var depth = 0;
        var from = _pos;
        while (_pos < _src.Length)
        {
            var c = _src[_pos];
            if (c == '\\') { _pos += 2; continue; }
            if (c == close && depth == 0)
            {
                var body = _src[from.._pos];
                _pos++;
                return body;
            }
            if (open != close && c == open) depth++;
            else if (open != close && c == close) depth--;
            _pos++;
        }
        throw new PerlException(LineAt(start),
            notTerminated ?? $"Can't find string terminator \"{close}\" anywhere before EOF", compileError: true);
    }

    private Token LexNumber(int start, int line)
    {
        if (Peek() == '0' && Peek(1) is 'x' or 'X')
        {
            _pos += 2;
            var hexStart = _pos;
            while (Uri.IsHexDigit(Peek()) || Peek() == '_') _pos++;
            if (!long.TryParse(_src[hexStart.._pos].Replace("_", ""), System.Globalization.NumberStyles.HexNumber, null, out var value))
                throw Error(start, $"bad hex number '{_src[start.._pos]}'");
            return new Token(TokenKind.Number, value.ToString(System.Globalization.CultureInfo.InvariantCulture), line);
        }
        while (char.IsAsciiDigit(Peek()) || Peek() == '_') _pos++;
        if (Peek() == '.' && char.IsAsciiDigit(Peek(1)))
        {
            _pos++;
            while (char.IsAsciiDigit(Peek())) _pos++;
        }
        if (Peek() is 'e' or 'E' && (char.IsAsciiDigit(Peek(1)) || Peek(1) is '+' or '-' && char.IsAsciiDigit(Peek(2))))
        {
            _pos += 2;
            while (char.IsAsciiDigit(Peek())) _pos++;
        }
        return new Token(TokenKind.Number, _src[start.._pos].Replace("_", ""), line);
    }

    private Token LexVariable(int start, int line)
    {
        _pos++; // '$'
        var c = Peek();
        if (IsWordStart(c) || c == ':' && Peek(1) == ':')
            return new Token(TokenKind.Scalar, ReadQualifiedName(), line);
        if (c == '{' && IsWordStart(Peek(1)))
        {
            _pos++;
            var name = ReadQualifiedName();
            if (Peek() != '}') throw Error(start, "only ${name} is supported inside ${...}");
            _pos++;
            return new Token(TokenKind.Scalar, name, line);
        }
        if (c is '/' or '!' or '@' or '?' or '0' or ',' or ';' or '\\' or '&' || char.IsAsciiDigit(c))
        {
            _pos++;
            return new Token(TokenKind.Scalar, c.ToString(), line);
        }
        if (c == '#') throw Error(start, "$# (last array index) is not supported");
        if (c == '$') throw Error(start, "scalar dereference $$... is not supported");
        throw Error(start, $"unsupported variable '${c}'");
    }

    // <$fh> or <STDIN>; returns null when '<' is just an operator.
    private Token? TryLexReadLine(int line)
    {
        var p = _pos + 1;
        if (p < _src.Length && _src[p] == '$') p++;
        var nameStart = p;
        while (p < _src.Length && IsWord(_src[p])) p++;
        if (p == nameStart || p >= _src.Length || _src[p] != '>') return null;
        var name = _src[nameStart..p];
        if (_src[_pos + 1] != '$') throw Error(_pos, $"reading from the bareword handle <{name}> is not supported");
        _pos = p + 1;
        return new Token(TokenKind.ReadLine, name, line);
    }

    // <<TAG, <<"TAG", <<'TAG', <<~TAG: the body starts on the line after this one (or after the
    // previous heredoc on the same line) and ends before a line that is exactly the tag.
    private Token LexHeredoc(int start, int line)
    {
        _pos += 2;
        var indented = Peek() == '~';
        if (indented) _pos++;
        var interpolate = true;
        string tag;
        if (Peek() is '"' or '\'')
        {
            var q = _src[_pos++];
            interpolate = q == '"';
            var end = _src.IndexOf(q, _pos);
            if (end < 0) throw Error(start, "unterminated heredoc tag");
            tag = _src[_pos..end];
            _pos = end + 1;
        }
        else tag = ReadQualifiedName();

        var bodyStart = _afterHeredocs ?? NextLineStart(_pos);
        var p = bodyStart;
        var body = new StringBuilder();
        string? indent = null;
        var lines = new List<string>();
        while (true)
        {
            if (p >= _src.Length) throw Error(start, $"can't find heredoc terminator '{tag}'");
            var eol = _src.IndexOf('\n', p);
            var next = eol < 0 ? _src.Length : eol + 1;
            var text = _src[p..(eol < 0 ? _src.Length : eol)];
            if (indented ? text.TrimStart(' ', '\t') == tag : text == tag)
            {
                indent = text[..(text.Length - tag.Length)];
                _afterHeredocs = next;
                break;
            }
            lines.Add(_src[p..next]);
            p = next;
        }
        foreach (var l in lines)
        {
            if (indented && l.Trim().Length > 0 && !l.StartsWith(indent, StringComparison.Ordinal))
                throw Error(start, $"indentation of heredoc '{tag}' body doesn't match its terminator");
            body.Append(indented && l.StartsWith(indent, StringComparison.Ordinal) ? l[indent.Length..] : l);
        }
        var raw = body.ToString();
        return StringToken(line, interpolate ? Interpolate(raw, start) : [new LiteralPart(raw)]);
    }

    private int NextLineStart(int from)
    {
        var eol = _src.IndexOf('\n', from);
        return eol < 0 ? _src.Length : eol + 1;
    }

    // Single-quote rules: only \\ and \<delimiter> are escapes.
    private static string UnescapeSingle(string raw, char close = '\'')
    {
        if (!raw.Contains('\\')) return raw;
        var sb = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\' && i + 1 < raw.Length && (raw[i + 1] == '\\' || raw[i + 1] == close)) i++;
            sb.Append(raw[i]);
        }
        return sb.ToString();
    }

    // Double-quote rules: backslash escapes plus $scalar / ${name} / $ENV{KEY} / $! interpolation.
    private List<StringPart> Interpolate(string raw, int start)
    {
        var parts = new List<StringPart>();
        var lit = new StringBuilder();
        void Flush() { if (lit.Length > 0) { parts.Add(new LiteralPart(lit.ToString())); lit.Clear(); } }

        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '\\' && i + 1 < raw.Length)
            {
                i = Unescape(raw, i + 1, lit, start);
                continue;
            }
            if (c == '$' && i + 1 < raw.Length)
            {
                var n = raw[i + 1];
                if (n is '!' or '@' or '?') { Flush(); parts.Add(new ScalarPart(n.ToString())); i++; continue; }
                string? name = null;
                var j = i + 1;
                if (n == '{' && i + 2 < raw.Length && IsWordStart(raw[i + 2]))
                {
                    var close = raw.IndexOf('}', i + 2);
                    if (close < 0) throw Error(start, "unterminated ${...} in string");
                    name = raw[(i + 2)..close];
                    if (!name.All(IsWord)) throw Error(start, $"only ${{name}} is supported in strings, not ${{{name}}}");
                    j = close + 1;
                }
                else if (IsWordStart(n) || n == ':' && i + 2 < raw.Length && raw[i + 2] == ':')
                {
                    var nameStart = j;
                    if (n == ':') j += 2;
                    while (j < raw.Length && (IsWord(raw[j]) || raw[j] == ':' && j + 2 < raw.Length && raw[j + 1] == ':' && IsWordStart(raw[j + 2])))
                        j += raw[j] == ':' ? 2 : 1;
                    name = raw[nameStart..j];
                    if (name.StartsWith("::", StringComparison.Ordinal)) name = "main" + name;
                }
                else if (n is >= '1' and <= '9')
                {
                    // $1, $2 ...: a capture group of the last successful match
                    while (j < raw.Length && char.IsAsciiDigit(raw[j])) j++;
                    Flush();
                    parts.Add(new ScalarPart(raw[(i + 1)..j]));
                    i = j - 1;
                    continue;
                }
                else if (n == '&')
                {
                    // $&: the whole text of the last successful match
                    Flush();
                    parts.Add(new ScalarPart("&"));
                    i++;
                    continue;
                }
                else if (char.IsAsciiDigit(n) || n is '$' or '@')
                    throw Error(start, $"interpolating ${n} in a string is not supported");

                if (name != null)
                {
                    Flush();
                    if (name == "ENV" && j < raw.Length && raw[j] == '{')
                    {
                        var close = raw.IndexOf('}', j);
                        if (close < 0) throw Error(start, "unterminated $ENV{...} in string");
                        var key = raw[(j + 1)..close].Trim().Trim('\'', '"');
                        if (!key.All(IsWord)) throw Error(start, $"unsupported $ENV{{{key}}} key in string");
                        parts.Add(new EnvPart(key));
                        i = close;
                        continue;
                    }
                    if (j < raw.Length && raw[j] is '[' or '{' ||
                        j + 2 < raw.Length && raw[j] == '-' && raw[j + 1] == '>' && raw[j + 2] is '[' or '{')
                        throw Error(start, $"interpolating an element of ${name} in a string is not supported");
                    parts.Add(new ScalarPart(name));
                    i = j - 1;
                    continue;
                }
            }
            if (c == '@' && i + 1 < raw.Length && (IsWordStart(raw[i + 1]) || raw[i + 1] is '{' or '$' or ':'))
                throw Error(start, "array interpolation (@name) in a string is not supported; write \\@");
            lit.Append(c);
        }
        Flush();
        return parts;
    }

    // Decodes the escape whose letter is at raw[i]; returns the index of its last character.
    private int Unescape(string raw, int i, StringBuilder sb, int start)
    {
        var c = raw[i];
        switch (c)
        {
            case 'n': sb.Append('\n'); return i;
            case 't': sb.Append('\t'); return i;
            case 'r': sb.Append('\r'); return i;
            case 'f': sb.Append('\f'); return i;
            case 'b': sb.Append('\b'); return i;
            case 'a': sb.Append('\a'); return i;
            case 'e': sb.Append('\x1b'); return i;
            case 'x':
                if (i + 1 < raw.Length && raw[i + 1] == '{')
                {
                    var close = raw.IndexOf('}', i);
                    if (close < 0) throw Error(start, "unterminated \\x{...}");
                    if (!int.TryParse(raw[(i + 2)..close], System.Globalization.NumberStyles.HexNumber, null, out var cp) || cp > 0x10FFFF)
                        throw Error(start, $"bad escape \\x{{{raw[(i + 2)..close]}}}");
                    AppendCodePoint(sb, cp);
                    return close;
                }
                var hexEnd = i + 1;
                while (hexEnd < raw.Length && hexEnd < i + 3 && Uri.IsHexDigit(raw[hexEnd])) hexEnd++;
                sb.Append((char)(hexEnd > i + 1 ? Convert.ToInt32(raw[(i + 1)..hexEnd], 16) : 0));
                return hexEnd - 1;
            case >= '0' and <= '7':
                var octEnd = i;
                while (octEnd < raw.Length && octEnd < i + 3 && raw[octEnd] is >= '0' and <= '7') octEnd++;
                sb.Append((char)Convert.ToInt32(raw[i..octEnd], 8));
                return octEnd - 1;
            case 'u' or 'l' or 'U' or 'L' or 'Q' or 'E' or 'N' or 'c':
                throw Error(start, $"the string escape \\{c} is not supported");
            default:
                sb.Append(c); // Perl drops the backslash of any other escape: \\ \" \$ \@ \{ ...
                return i;
        }
    }

    // Strings are byte strings: a wide character becomes its UTF-8 bytes, as Perl prints it.
    private static void AppendCodePoint(StringBuilder sb, int cp)
    {
        if (cp < 0x100) { sb.Append((char)cp); return; }
        foreach (var b in Encoding.UTF8.GetBytes(char.ConvertFromUtf32(cp))) sb.Append((char)b);
    }

    // qr// would interpolate $var and @var; we keep patterns verbatim, so refuse rather than guess.
    private void RejectRegexInterpolation(string raw, int start)
    {
        for (var i = 0; i + 1 < raw.Length; i++)
        {
            if (raw[i] == '\\') { i++; continue; }
            var n = raw[i + 1];
            if (raw[i] == '$' && (IsWordStart(n) || n is '{' or ':'))
                throw Error(start, "variable interpolation inside qr// is not supported");
            if (raw[i] == '@' && (IsWordStart(n) || n is '{' or '$' or ':'))
                throw Error(start, "array interpolation inside qr// is not supported; write \\@");
        }
    }
}
