using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// A PCRE pattern as ngx.re compiles it, run on .NET's regex engine. The translation keeps PCRE's
/// meaning where .NET differs: every capture group (named or not) becomes a plain numbered group so
/// numbering follows PCRE (left to right, names included), names are kept in a side table and
/// named back-references become numbered ones; \d \w \s \b are ASCII-only (PCRE without UCP);
/// \h \v \R \N \Q..\E \x{...} \o{...} possessive quantifiers and POSIX classes are rewritten.
/// Subjects are byte strings; with the "u" option pattern and subject are UTF-8 and offsets are
/// mapped back to bytes. Compile errors use PCRE1's wording and ngx_lua's format
/// (`pcre_compile() failed: missing ) in "..."`), which is what APISIX's tests expect.
/// </summary>
public sealed class NgxRegex
{
    private static readonly ConcurrentDictionary<(string Pattern, string Options), (NgxRegex? Regex, string? Error)> Cache = new();
    private static readonly List<NgxRegex> ById = new();
    private static readonly object IdLock = new();

    /// <summary>How long one match may run before it fails like PCRE's match limit.</summary>
    public static TimeSpan MatchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    private NgxRegex(Regex regex, int groups, List<(string Name, int Group)> names, bool utf8, bool dupNames, string translated)
    {
        Regex = regex;
        GroupCount = groups;
        Names = names;
        Utf8 = utf8;
        DupNames = dupNames;
        Translated = translated;
    }

    public int Id { get; private set; }
    public Regex Regex { get; }
    /// <summary>The number of capture groups, as PCRE counts them.</summary>
    public int GroupCount { get; }
    /// <summary>Named groups in pattern order (a name may repeat with the D option).</summary>
    public List<(string Name, int Group)> Names { get; }
    public bool Utf8 { get; }
    public bool DupNames { get; }
    public string Translated { get; }

    public static NgxRegex? ById_(long id)
    {
        lock (IdLock) return id >= 1 && id <= ById.Count ? ById[(int)id - 1] : null;
    }

    /// <summary>Compile (cached); the error is ngx_lua's message.</summary>
    public static (NgxRegex? Regex, string? Error) Get(string pattern, string options)
    {
        return Cache.GetOrAdd((pattern, options), static k =>
        {
            var r = Compile(k.Pattern, k.Options);
            if (r.Regex != null)
            {
                lock (IdLock)
                {
                    ById.Add(r.Regex);
                    r.Regex.Id = ById.Count;
                }
            }
            return r;
        });
    }

    private static string Fail(string message, string pattern, int offset)
    {
        if (offset < 0 || offset >= pattern.Length) return $"pcre_compile() failed: {message} in \"{pattern}\"";
        return $"pcre_compile() failed: {message} in \"{pattern}\" at \"{pattern[offset..]}\"";
    }

    private static (NgxRegex? Regex, string? Error) Compile(string patternBytes, string options)
    {
        bool utf8 = options.Contains('u') || options.Contains('U');
        var ro = RegexOptions.CultureInvariant;
        if (options.Contains('i')) ro |= RegexOptions.IgnoreCase;
        if (options.Contains('m')) ro |= RegexOptions.Multiline;
        if (options.Contains('s')) ro |= RegexOptions.Singleline;
        bool extended = options.Contains('x');
        if (extended) ro |= RegexOptions.IgnorePatternWhitespace;
        bool dup = options.Contains('D');
        bool anchored = options.Contains('a');

        string pattern = patternBytes;
        if (utf8)
        {
            try { pattern = new UTF8Encoding(false, true).GetString(Encoding.Latin1.GetBytes(patternBytes)); }
            catch (DecoderFallbackException) { return (null, Fail("invalid UTF-8 string", patternBytes, -1)); }
        }

        var tr = new Translator(pattern, extended, dup);
        var err = tr.Run();
        if (err != null) return (null, Fail(err.Value.Message, patternBytes, SourceOffsetToBytes(pattern, err.Value.Offset, utf8)));

        var translated = tr.Output;
        if (anchored) translated = "\\G(?:" + translated + (extended ? "\n)" : ")");
        try
        {
            var regex = new Regex(translated, ro, MatchTimeout);
            return (new NgxRegex(regex, tr.Groups, tr.NameList, utf8, dup, translated), null);
        }
        catch (RegexParseException e)
        {
            var src = tr.SourceOffset(e.Offset - (anchored ? 5 : 0));
            var (msg, atEnd) = PcreMessage(e);
            return (null, Fail(msg, patternBytes, atEnd ? -1 : SourceOffsetToBytes(pattern, src, utf8)));
        }
        catch (ArgumentException e)
        {
            return (null, Fail(e.Message, patternBytes, -1));
        }
    }

    private static int SourceOffsetToBytes(string pattern, int offset, bool utf8)
    {
        if (offset < 0 || !utf8) return offset;
        offset = Math.Min(offset, pattern.Length);
        return Encoding.UTF8.GetByteCount(pattern.AsSpan(0, offset));
    }

    private static (string Message, bool AtEnd) PcreMessage(RegexParseException e) => e.Error switch
    {
        RegexParseError.ReversedCharacterRange => ("range out of order in character class", false),
        RegexParseError.ReversedQuantifierRange => ("numbers out of order in {} quantifier", false),
        RegexParseError.QuantifierAfterNothing => ("nothing to repeat", false),
        RegexParseError.NestedQuantifiersNotParenthesized => ("nothing to repeat", false),
        RegexParseError.InsufficientClosingParentheses => ("missing )", true),
        RegexParseError.InsufficientOpeningParentheses => ("unmatched parentheses", false),
        RegexParseError.UnterminatedBracket => ("missing terminating ] for character class", true),
        RegexParseError.UnescapedEndingBackslash => ("\\ at end of pattern", true),
        RegexParseError.UndefinedNumberedReference => ("reference to non-existent subpattern", false),
        RegexParseError.UndefinedNamedReference => ("reference to non-existent subpattern", false),
        RegexParseError.InvalidUnicodePropertyEscape => ("malformed \\P or \\p sequence", false),
        RegexParseError.UnrecognizedUnicodeProperty => ("unknown property name after \\P or \\p", false),
        RegexParseError.QuantifierOrCaptureGroupOutOfRange => ("number too big in {} quantifier", false),
        RegexParseError.InvalidGroupingConstruct => ("unrecognized character after (? or (?-", false),
        RegexParseError.AlternationHasTooManyConditions => ("conditional group contains more than two branches", false),
        _ => (e.Message, false),
    };

    // Subjects ---------------------------------------------------------------------------------

    /// <summary>A subject prepared for matching: the text the regex sees and the byte offsets of its chars.</summary>
    public sealed class Subject
    {
        public required byte[] Bytes { get; init; }
        public required string Text { get; init; }
        /// <summary>u mode: byte offset of each char index (length Text.Length + 1); null when chars are bytes.</summary>
        public int[]? ByteOf { get; init; }
        /// <summary>u mode: char index for each byte offset, rounded up to the next char start.</summary>
        public int[]? CharOf { get; init; }

        public int ToByte(int charIndex) => ByteOf == null ? charIndex : ByteOf[charIndex];
        public int ToChar(int byteOffset) => CharOf == null ? byteOffset : CharOf[Math.Min(byteOffset, CharOf.Length - 1)];
        public int ByteLength => Bytes.Length;
    }

    [ThreadStatic] private static Subject? _lastUtf8;

    /// <summary>Prepare a byte subject; null (and PCRE's error code text) when u mode finds invalid UTF-8.</summary>
    public Subject? Prepare(byte[] bytes, out string? error)
    {
        error = null;
        if (!Utf8) return new Subject { Bytes = bytes, Text = Encoding.Latin1.GetString(bytes) };
        var last = _lastUtf8;
        if (last != null && last.Bytes.AsSpan().SequenceEqual(bytes)) return last;
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException)
        {
            error = "pcre_exec() failed: -10";
            return null;
        }
        var byteOf = new int[text.Length + 1];
        var charOf = new int[bytes.Length + 1];
        int b = 0;
        for (int c = 0; c < text.Length; c++)
        {
            byteOf[c] = b;
            int len;
            if (char.IsHighSurrogate(text[c]) && c + 1 < text.Length)
            {
                len = 4;
                byteOf[c + 1] = b; // the low surrogate shares the code point's start
                for (int k = 0; k < len; k++) charOf[b + k] = k == 0 ? c : c + 2;
                b += len;
                c++;
                continue;
            }
            int cp = text[c];
            len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
            for (int k = 0; k < len; k++) charOf[b + k] = k == 0 ? c : c + 1;
            b += len;
        }
        byteOf[text.Length] = b;
        charOf[bytes.Length] = text.Length;
        var s = new Subject { Bytes = bytes, Text = text, ByteOf = byteOf, CharOf = charOf };
        _lastUtf8 = s;
        return s;
    }

    /// <summary>One match at or after byte offset <paramref name="start"/>; null when none.</summary>
    public Match? Exec(Subject s, int start, out string? error)
    {
        error = null;
        if (start > s.ByteLength) return null;
        try
        {
            var m = Regex.Match(s.Text, s.ToChar(start));
            return m.Success ? m : null;
        }
        catch (RegexMatchTimeoutException)
        {
            error = "pcre_exec() failed: -8";
            return null;
        }
    }

    // Replacement templates -----------------------------------------------------------------------

    /// <summary>A compiled ngx.re.sub template: literal pieces and capture references ($0, $1, ${1}, ${name}, $$).</summary>
    public sealed record Template(List<object> Parts);

    private static readonly ConcurrentDictionary<(long, string), Template?> Templates = new();

    private static readonly ConcurrentDictionary<string, string> TemplateErrors = new();

    /// <summary>
    /// Compiles a replacement template as ngx_http_lua_compile_complex_value does: $N and ${N} are
    /// captures, $$ a dollar; a name ($x, ${x}) is refused (named captures are not supported there).
    /// Null when it does not compile, with the error-log line in <paramref name="logLine"/>.
    /// </summary>
    public Template? CompileTemplate(string replace) => CompileTemplate(replace, out _);

    public Template? CompileTemplate(string replace, out string? logLine)
    {
        var template = Templates.GetOrAdd((Id, replace), k => Compile(k.Item2));
        logLine = template == null ? TemplateErrors.GetValueOrDefault(replace) : null;
        return template;

        static Template? Compile(string s)
        {
            var parts = new List<object>();
            var lit = new StringBuilder();
            Template? Fail(string line)
            {
                TemplateErrors[s] = line;
                return null;
            }
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c != '$') { lit.Append(c); continue; }
                var j = i + 1;
                if (j == s.Length) return Fail($"lua script: invalid capturing variable name found in \"{s}\"");
                if (s[j] == '$') { lit.Append('$'); i = j; continue; }
                var bracket = s[j] == '{';
                if (bracket && ++j == s.Length) return Fail($"lua script: invalid capturing variable name found in \"{s}\"");
                var numeric = char.IsAsciiDigit(s[j]);
                var start = j;
                var closed = false;
                for (; j < s.Length; j++)
                {
                    var ch = s[j];
                    if (ch == '}' && bracket) { closed = true; break; }
                    if (numeric ? !char.IsAsciiDigit(ch) : !(char.IsAsciiLetterOrDigit(ch) || ch == '_')) break;
                }
                var name = s[start..j];
                if (bracket && !closed) return Fail($"the closing bracket in \"{name}\" variable is missing");
                if (name.Length == 0) return Fail($"lua script: invalid capturing variable name found in \"{s}\"");
                if (!numeric) return Fail($"attempt to use named capturing variable \"{name}\" (named captures not supported yet)");
                Flush();
                parts.Add(int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue);
                i = closed ? j : j - 1;
            }
            Flush();
            return new Template(parts);

            void Flush()
            {
                if (lit.Length > 0) parts.Add(lit.ToString());
                lit.Clear();
            }
        }
    }

    // The translator ------------------------------------------------------------------------------

    private readonly record struct TranslateError(string Message, int Offset);

    private sealed class Translator(string p, bool extended, bool dupNames)
    {
        private const string Word = "A-Za-z0-9_";
        private readonly StringBuilder _out = new();
        private readonly List<(int Out, int Src)> _marks = new();
        private readonly Dictionary<string, List<int>> _names = new(StringComparer.Ordinal);
        private readonly Stack<int> _openAt = new();   // output offset of each open group
        private int _i;
        private int _lastAtom = -1;                     // output offset where the last quantifiable atom starts

        public int Groups { get; private set; }
        public List<(string Name, int Group)> NameList { get; } = new();
        public string Output => _out.ToString();

        public int SourceOffset(int outOffset)
        {
            int src = p.Length;
            foreach (var (o, s) in _marks)
            {
                if (o > outOffset) break;
                src = s;
            }
            return src;
        }

        private void Mark() => _marks.Add((_out.Length, _i));

        private void Atom(string s)
        {
            Mark();
            _lastAtom = _out.Length;
            _out.Append(s);
        }

        public TranslateError? Run()
        {
            // PCRE's leading verbs: (*UTF8), (*UCP), (*CRLF)...
            while (_i < p.Length && p.AsSpan(_i).StartsWith("(*"))
            {
                int close = p.IndexOf(')', _i);
                if (close < 0) break;
                _i = close + 1;
            }
            while (_i < p.Length)
            {
                var err = Step();
                if (err != null) return err;
            }
            if (_openAt.Count > 0) return new TranslateError("missing )", p.Length);
            return null;
        }

        private TranslateError? Step()
        {
            char c = p[_i];
            switch (c)
            {
                case '\\':
                    return Escape();
                case '[':
                    return CharClass();
                case '(':
                    return OpenGroup();
                case ')':
                    if (_openAt.Count == 0) return new TranslateError("unmatched parentheses", _i);
                    Mark();
                    _out.Append(')');
                    _lastAtom = _openAt.Pop();
                    _i++;
                    return null;
                case '|':
                    Mark();
                    _out.Append('|');
                    _lastAtom = -1;
                    _i++;
                    return null;
                case '*':
                case '+':
                case '?':
                    return Quantifier(1);
                case '{':
                    {
                        int len = QuantifierBraceLength(_i);
                        if (len > 0) return Quantifier(len);
                        Atom("\\{");
                        _i++;
                        return null;
                    }
                case '#' when extended:
                    while (_i < p.Length && p[_i] != '\n') _i++;
                    return null;
                case ' ' or '\t' or '\n' or '\r' or '\f' or '\v' when extended:
                    _i++;
                    return null;
                case '^' or '$':
                    Mark();
                    _out.Append(c);
                    _lastAtom = -1;
                    _i++;
                    return null;
                case '.':
                    Atom(".");
                    _i++;
                    return null;
                default:
                    Atom(Literal(c));
                    _i++;
                    return null;
            }
        }

        private static string Literal(char c) => c switch
        {
            ' ' or '#' => "\\" + c,
            '}' or ']' => "\\" + c,
            _ => c.ToString(),
        };

        /// <summary>Length of a valid {n}, {n,}, {n,m} at <paramref name="at"/>, else 0 (then '{' is a literal in PCRE).</summary>
        private int QuantifierBraceLength(int at)
        {
            int j = at + 1;
            int d1 = j;
            while (j < p.Length && char.IsAsciiDigit(p[j])) j++;
            if (j == d1) return 0;
            if (j < p.Length && p[j] == '}') return j - at + 1;
            if (j >= p.Length || p[j] != ',') return 0;
            j++;
            while (j < p.Length && char.IsAsciiDigit(p[j])) j++;
            if (j < p.Length && p[j] == '}') return j - at + 1;
            return 0;
        }

        private TranslateError? Quantifier(int len)
        {
            if (_lastAtom < 0) return new TranslateError("nothing to repeat", _i);
            var q = p.Substring(_i, len);
            if (len > 1)
            {
                var inner = q[1..^1].Split(',');
                if (inner.Length == 2 && inner[1].Length > 0 &&
                    long.Parse(inner[0], CultureInfo.InvariantCulture) > long.Parse(inner[1], CultureInfo.InvariantCulture))
                    return new TranslateError("numbers out of order in {} quantifier", _i + len - 1);
            }
            _i += len;
            Mark();
            if (_i < p.Length && p[_i] == '+')
            {
                // possessive: X*+ is (?>X*)
                _out.Insert(_lastAtom, "(?>");
                _out.Append(q).Append(')');
                _i++;
            }
            else
            {
                _out.Append(q);
                if (_i < p.Length && p[_i] == '?') { _out.Append('?'); _i++; }
            }
            // a quantified atom cannot be quantified again
            _lastAtom = -1;
            return null;
        }

        private string ReadName(char close, out bool ok)
        {
            int start = _i;
            while (_i < p.Length && (char.IsLetterOrDigit(p[_i]) || p[_i] == '_')) _i++;
            ok = _i < p.Length && p[_i] == close && _i > start;
            var name = p.Substring(start, _i - start);
            if (ok) _i++;
            return name;
        }

        private TranslateError? OpenGroup()
        {
            int at = _i;
            Mark();
            int openOut = _out.Length;
            if (_i + 1 < p.Length && p[_i + 1] == '*')
                return new TranslateError("(*VERB) not recognized or malformed", _i);
            if (_i + 1 >= p.Length || p[_i + 1] != '?')
            {
                Groups++;
                _out.Append('(');
                _openAt.Push(openOut);
                _lastAtom = -1;
                _i++;
                return null;
            }
            // (? constructs
            _i += 2;
            if (_i >= p.Length) return new TranslateError("unrecognized character after (? or (?-", _i);
            char k = p[_i];
            switch (k)
            {
                case ':' or '=' or '!' or '>':
                    _out.Append("(?").Append(k);
                    _i++;
                    break;
                case '<' when _i + 1 < p.Length && p[_i + 1] is '=' or '!':
                    _out.Append("(?<").Append(p[_i + 1]);
                    _i += 2;
                    break;
                case '<' or '\'':
                    {
                        _i++;
                        var name = ReadName(k == '<' ? '>' : '\'', out var ok);
                        if (!ok) return new TranslateError("syntax error in subpattern name (missing terminator)", _i);
                        var e = AddName(name, at);
                        if (e != null) return e;
                        _out.Append('(');
                        break;
                    }
                case 'P':
                    {
                        _i++;
                        if (_i < p.Length && p[_i] == '<')
                        {
                            _i++;
                            var name = ReadName('>', out var ok);
                            if (!ok) return new TranslateError("syntax error in subpattern name (missing terminator)", _i);
                            var e = AddName(name, at);
                            if (e != null) return e;
                            _out.Append('(');
                            break;
                        }
                        if (_i < p.Length && p[_i] == '=')
                        {
                            _i++;
                            var name = ReadName(')', out var ok);
                            if (!ok || !_names.TryGetValue(name, out var gs)) return new TranslateError("reference to non-existent subpattern", _i);
                            _lastAtom = _out.Length;
                            _out.Append("(?:\\").Append(gs[0]).Append(')');
                            return null;
                        }
                        return new TranslateError("recursive call could loop indefinitely", _i);
                    }
                case '#':
                    {
                        int close = p.IndexOf(')', _i);
                        if (close < 0) return new TranslateError("missing ) after comment", p.Length);
                        _i = close + 1;
                        return null;
                    }
                case '(':
                    {
                        // conditional group: (?(1)..|..), (?(<name>)..), (?('name')..), (?(name)..), or a lookaround condition
                        _i++;
                        if (_i < p.Length && p[_i] == '?')
                        {
                            // lookaround condition: the inner group is translated on its own
                            _i--;
                            _out.Append("(?");
                            break;
                        }
                        string? cond = null;
                        if (_i < p.Length && char.IsAsciiDigit(p[_i]))
                        {
                            int s = _i;
                            while (_i < p.Length && char.IsAsciiDigit(p[_i])) _i++;
                            cond = p[s.._i];
                            if (_i >= p.Length || p[_i] != ')') return new TranslateError("malformed number or name after (?(", _i);
                            _i++;
                        }
                        else
                        {
                            char close = ')';
                            if (_i < p.Length && p[_i] == '<') { _i++; close = '>'; }
                            else if (_i < p.Length && p[_i] == '\'') { _i++; close = '\''; }
                            var name = ReadName(close, out var ok);
                            if (!ok) return new TranslateError("malformed number or name after (?(", _i);
                            if (close != ')')
                            {
                                if (_i >= p.Length || p[_i] != ')') return new TranslateError("malformed number or name after (?(", _i);
                                _i++;
                            }
                            if (!_names.TryGetValue(name, out var gs)) return new TranslateError("reference to non-existent subpattern", _i);
                            cond = gs[0].ToString(CultureInfo.InvariantCulture);
                        }
                        _out.Append("(?(").Append(cond).Append(')');
                        break;
                    }
                case '|':
                    return new TranslateError("branch reset groups are not supported", _i);
                case 'R' or '&' or '+':
                    return new TranslateError("recursive call could loop indefinitely", _i);
                default:
                    {
                        if (char.IsAsciiDigit(k) || (k == '-' && _i + 1 < p.Length && char.IsAsciiDigit(p[_i + 1])))
                            return new TranslateError("recursive call could loop indefinitely", _i);
                        // inline options (?imsx-imsx) or (?imsx-imsx:...)
                        var sb = new StringBuilder();
                        while (_i < p.Length && p[_i] is 'i' or 'm' or 's' or 'x' or 'J' or 'U' or 'X' or '-')
                        {
                            if (p[_i] is 'i' or 'm' or 's' or 'x' or '-') sb.Append(p[_i]);
                            else if (p[_i] == 'U') return new TranslateError("the U option is not supported", _i);
                            _i++;
                        }
                        if (_i >= p.Length) return new TranslateError("missing )", p.Length);
                        if (p[_i] == ')')
                        {
                            _i++;
                            if (sb.Length > 0 && sb.ToString() != "-") _out.Append("(?").Append(sb).Append(')');
                            return null;
                        }
                        if (p[_i] == ':')
                        {
                            _i++;
                            _out.Append("(?").Append(sb).Append(':');
                            break;
                        }
                        return new TranslateError("unrecognized character after (? or (?-", _i);
                    }
            }
            _openAt.Push(openOut);
            _lastAtom = -1;
            return null;
        }

        private TranslateError? AddName(string name, int at)
        {
            Groups++;
            if (_names.TryGetValue(name, out var list))
            {
                if (!dupNames) return new TranslateError("two named subpatterns have the same name", _i - 1);
                list.Add(Groups);
            }
            else _names[name] = new List<int> { Groups };
            NameList.Add((name, Groups));
            return null;
        }

        private bool TryBackrefName(out int group)
        {
            group = -1;
            if (_i >= p.Length) return false;
            char open = p[_i];
            char close = open switch { '<' => '>', '\'' => '\'', '{' => '}', _ => '\0' };
            if (close == '\0') return false;
            _i++;
            var name = ReadName(close, out var ok);
            if (!ok) return false;
            if (name.All(char.IsAsciiDigit)) { group = int.Parse(name, CultureInfo.InvariantCulture); return true; }
            if (!_names.TryGetValue(name, out var gs)) return false;
            group = gs[0];
            return true;
        }

        private TranslateError? Escape()
        {
            int at = _i;
            if (_i + 1 >= p.Length) return new TranslateError("\\ at end of pattern", p.Length);
            char e = p[_i + 1];
            _i += 2;
            switch (e)
            {
                case 'd': Atom("[0-9]"); return null;
                case 'D': Atom("[^0-9]"); return null;
                case 'w': Atom("[" + Word + "]"); return null;
                case 'W': Atom("[^" + Word + "]"); return null;
                case 's': Atom("[\\t\\n\\x0B\\f\\r\\x20]"); return null;
                case 'S': Atom("[^\\t\\n\\x0B\\f\\r\\x20]"); return null;
                case 'h': Atom("[\\t\\x20\\xA0]"); return null;
                case 'H': Atom("[^\\t\\x20\\xA0]"); return null;
                case 'v': Atom("[\\n\\x0B\\f\\r\\x85]"); return null;
                case 'V': Atom("[^\\n\\x0B\\f\\r\\x85]"); return null;
                case 'R': Atom("(?:\\r\\n|[\\n\\x0B\\f\\r\\x85])"); return null;
                case 'N': Atom("[^\\n]"); return null;
                case 'b':
                    Mark();
                    _out.Append("(?:(?<=[" + Word + "])(?![" + Word + "])|(?<![" + Word + "])(?=[" + Word + "]))");
                    _lastAtom = -1;
                    return null;
                case 'B':
                    Mark();
                    _out.Append("(?:(?<=[" + Word + "])(?=[" + Word + "])|(?<![" + Word + "])(?![" + Word + "]))");
                    _lastAtom = -1;
                    return null;
                case 'A' or 'z' or 'Z' or 'G':
                    Mark();
                    _out.Append('\\').Append(e);
                    _lastAtom = -1;
                    return null;
                case 'K':
                    return new TranslateError("\\K is not supported", at);
                case 'X' or 'C':
                    return new TranslateError("\\" + e + " is not supported", at);
                case 'L' or 'l' or 'U' or 'u':
                    return new TranslateError("PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u", at + 1);
                case 'Q':
                    {
                        int end = p.IndexOf("\\E", _i, StringComparison.Ordinal);
                        var lit = end < 0 ? p[_i..] : p[_i..end];
                        _i = end < 0 ? p.Length : end + 2;
                        if (lit.Length == 0) return null;
                        // quantifiers apply to the last char only
                        foreach (var ch in lit) Atom(Regex.Escape(ch.ToString()));
                        return null;
                    }
                case 'E':
                    return null;
                case 'k':
                    {
                        if (!TryBackrefName(out var g)) return new TranslateError("\\k is not followed by a braced, angle-bracketed, or quoted name", _i);
                        Atom("(?:\\" + g + ")");
                        return null;
                    }
                case 'g':
                    {
                        int g;
                        if (_i < p.Length && p[_i] == '{')
                        {
                            int close = p.IndexOf('}', _i);
                            if (close < 0) return new TranslateError("a numbered reference must not be zero", _i);
                            var inner = p[(_i + 1)..close];
                            _i = close + 1;
                            if (int.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out g))
                            {
                                if (g < 0) g = Groups + 1 + g;
                            }
                            else if (_names.TryGetValue(inner, out var gs)) g = gs[0];
                            else return new TranslateError("reference to non-existent subpattern", _i);
                        }
                        else if (_i < p.Length && (char.IsAsciiDigit(p[_i]) || p[_i] == '-'))
                        {
                            int s = _i;
                            if (p[_i] == '-') _i++;
                            while (_i < p.Length && char.IsAsciiDigit(p[_i])) _i++;
                            g = int.Parse(p[s.._i], CultureInfo.InvariantCulture);
                            if (g < 0) g = Groups + 1 + g;
                        }
                        else return new TranslateError("subroutine calls are not supported", _i);
                        if (g <= 0) return new TranslateError("a numbered reference must not be zero", _i);
                        Atom("(?:\\" + g + ")");
                        return null;
                    }
                case 'x':
                    {
                        int cp = ParseHex();
                        Atom(CharEscape(cp));
                        return null;
                    }
                case 'o':
                    {
                        if (_i < p.Length && p[_i] == '{')
                        {
                            int close = p.IndexOf('}', _i);
                            if (close < 0) return new TranslateError("missing } after \\o{", _i);
                            int cp = System.Convert.ToInt32(p[(_i + 1)..close], 8);
                            _i = close + 1;
                            Atom(CharEscape(cp));
                            return null;
                        }
                        Atom("o");
                        return null;
                    }
                case '0':
                    {
                        int v = 0, n = 0;
                        while (n < 2 && _i < p.Length && p[_i] is >= '0' and <= '7') { v = v * 8 + (p[_i] - '0'); _i++; n++; }
                        Atom(CharEscape(v));
                        return null;
                    }
                case >= '1' and <= '9':
                    {
                        int s = _i - 1;
                        while (_i < p.Length && char.IsAsciiDigit(p[_i])) _i++;
                        var num = p[s.._i];
                        int g = int.Parse(num, CultureInfo.InvariantCulture);
                        if (g < 10 || g <= Groups)
                        {
                            Atom("(?:\\" + g + ")");
                            return null;
                        }
                        // octal escape (\101) when not a valid back-reference
                        _i = s;
                        int v = 0, n = 0;
                        while (n < 3 && _i < p.Length && p[_i] is >= '0' and <= '7') { v = v * 8 + (p[_i] - '0'); _i++; n++; }
                        if (n == 0) return new TranslateError("reference to non-existent subpattern", s);
                        Atom(CharEscape(v & 0xFF));
                        return null;
                    }
                case 'p' or 'P':
                    {
                        var prop = ReadProperty(out var err);
                        if (err != null) return new TranslateError(err, _i);
                        Atom("\\" + e + "{" + prop + "}");
                        return null;
                    }
                case 'a': Atom("\\a"); return null;
                case 'e': Atom("\\x1B"); return null;
                case 'f': Atom("\\f"); return null;
                case 'n': Atom("\\n"); return null;
                case 'r': Atom("\\r"); return null;
                case 't': Atom("\\t"); return null;
                case 'c':
                    {
                        if (_i >= p.Length) return new TranslateError("\\c at end of pattern", p.Length);
                        int cp = char.ToUpperInvariant(p[_i]) ^ 0x40;
                        _i++;
                        Atom(CharEscape(cp));
                        return null;
                    }
                default:
                    // any other escaped char stands for itself (PCRE1 accepts unknown letter escapes)
                    Atom(char.IsLetterOrDigit(e) ? e.ToString() : "\\" + e);
                    return null;
            }
        }

        private int ParseHex()
        {
            if (_i < p.Length && p[_i] == '{')
            {
                int close = p.IndexOf('}', _i);
                if (close > 0 && int.TryParse(p.AsSpan(_i + 1, close - _i - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v))
                {
                    _i = close + 1;
                    return v;
                }
                return 0;
            }
            int val = 0, n = 0;
            while (n < 2 && _i < p.Length && Uri.IsHexDigit(p[_i])) { val = val * 16 + System.Convert.ToInt32(p[_i].ToString(), 16); _i++; n++; }
            return val;
        }

        private static string CharEscape(int cp)
        {
            if (cp <= 0xFF) return "\\x" + cp.ToString("X2", CultureInfo.InvariantCulture);
            if (cp <= 0xFFFF) return "\\u" + cp.ToString("X4", CultureInfo.InvariantCulture);
            var s = char.ConvertFromUtf32(cp);
            return "(?:\\u" + ((int)s[0]).ToString("X4", CultureInfo.InvariantCulture) + "\\u" + ((int)s[1]).ToString("X4", CultureInfo.InvariantCulture) + ")";
        }

        private string ReadProperty(out string? error)
        {
            error = null;
            if (_i >= p.Length) { error = "malformed \\P or \\p sequence"; return ""; }
            string name;
            if (p[_i] == '{')
            {
                int close = p.IndexOf('}', _i);
                if (close < 0) { error = "malformed \\P or \\p sequence"; return ""; }
                name = p[(_i + 1)..close];
                _i = close + 1;
            }
            else
            {
                name = p[_i].ToString();
                _i++;
            }
            if (name.StartsWith('^')) name = name[1..];
            return name switch
            {
                "Any" => "L}\\P{L",
                "L&" => "L",
                "Han" => "IsCJKUnifiedIdeographs",
                "Latin" => "IsBasicLatin",
                "Greek" => "IsGreek",
                "Cyrillic" => "IsCyrillic",
                _ => name,
            };
        }

        private TranslateError? CharClass()
        {
            int at = _i;
            Mark();
            int start = _out.Length;
            _out.Append('[');
            _i++;
            if (_i < p.Length && p[_i] == '^') { _out.Append('^'); _i++; }
            bool first = true;
            while (true)
            {
                if (_i >= p.Length) return new TranslateError("missing terminating ] for character class", p.Length);
                char c = p[_i];
                if (c == ']' && !first)
                {
                    _out.Append(']');
                    _i++;
                    _lastAtom = start;
                    return null;
                }
                first = false;
                if (c == '[')
                {
                    if (_i + 1 < p.Length && p[_i + 1] is ':' or '.' or '=')
                    {
                        int close = p.IndexOf(":]", _i + 2, StringComparison.Ordinal);
                        if (close > 0)
                        {
                            var name = p[(_i + 2)..close];
                            bool neg = name.StartsWith('^');
                            if (neg) name = name[1..];
                            if (!PosixClasses.TryGetValue(name, out var repl))
                                return new TranslateError("unknown POSIX class name", _i);
                            if (neg) return new TranslateError("negated POSIX classes are not supported", _i);
                            _out.Append(repl);
                            _i = close + 2;
                            continue;
                        }
                    }
                    _out.Append("\\[");
                    _i++;
                    continue;
                }
                if (c == '\\')
                {
                    if (_i + 1 >= p.Length) return new TranslateError("\\ at end of pattern", p.Length);
                    char e = p[_i + 1];
                    _i += 2;
                    switch (e)
                    {
                        case 'd': _out.Append("0-9"); break;
                        case 'w': _out.Append(Word); break;
                        case 's': _out.Append("\\t\\n\\x0B\\f\\r\\x20"); break;
                        case 'h': _out.Append("\\t\\x20\\xA0"); break;
                        case 'v': _out.Append("\\n\\x0B\\f\\r\\x85"); break;
                        case 'D' or 'W' or 'S': _out.Append('\\').Append(e); break;
                        case 'b': _out.Append("\\x08"); break;
                        case 'e': _out.Append("\\x1B"); break;
                        case 'x': _out.Append(CharEscape(ParseHex())); break;
                        case '0':
                            {
                                int v = 0, n = 0;
                                while (n < 2 && _i < p.Length && p[_i] is >= '0' and <= '7') { v = v * 8 + (p[_i] - '0'); _i++; n++; }
                                _out.Append(CharEscape(v));
                                break;
                            }
                        case >= '1' and <= '7':
                            {
                                int v = e - '0', n = 1;
                                while (n < 3 && _i < p.Length && p[_i] is >= '0' and <= '7') { v = v * 8 + (p[_i] - '0'); _i++; n++; }
                                _out.Append(CharEscape(v & 0xFF));
                                break;
                            }
                        case 'p' or 'P':
                            {
                                var prop = ReadProperty(out var err);
                                if (err != null) return new TranslateError(err, _i);
                                _out.Append('\\').Append(e).Append('{').Append(prop).Append('}');
                                break;
                            }
                        case 'Q':
                            {
                                int end = p.IndexOf("\\E", _i, StringComparison.Ordinal);
                                var lit = end < 0 ? p[_i..] : p[_i..end];
                                _i = end < 0 ? p.Length : end + 2;
                                foreach (var ch in lit) _out.Append(ClassLiteral(ch));
                                break;
                            }
                        case 'E': break;
                        case 'a' or 'f' or 'n' or 'r' or 't': _out.Append('\\').Append(e); break;
                        case 'c':
                            if (_i < p.Length) { _out.Append(CharEscape(char.ToUpperInvariant(p[_i]) ^ 0x40)); _i++; }
                            break;
                        default:
                            _out.Append(char.IsLetterOrDigit(e) ? e.ToString() : "\\" + e);
                            break;
                    }
                    continue;
                }
                _out.Append(ClassLiteral(c));
                _i++;
            }
        }

        private static string ClassLiteral(char c) => c switch
        {
            '[' or ']' or '\\' or '^' or '#' => "\\" + c,
            ' ' => "\\x20",
            _ => c.ToString(),
        };

        private static readonly Dictionary<string, string> PosixClasses = new()
        {
            ["alpha"] = "a-zA-Z", ["digit"] = "0-9", ["alnum"] = "a-zA-Z0-9", ["upper"] = "A-Z", ["lower"] = "a-z",
            ["xdigit"] = "0-9A-Fa-f", ["space"] = "\\t\\n\\x0B\\f\\r\\x20", ["blank"] = "\\x20\\t", ["word"] = "a-zA-Z0-9_",
            ["punct"] = "!-/:-@\\[-`{-~", ["cntrl"] = "\\x00-\\x1F\\x7F", ["print"] = "\\x20-~", ["graph"] = "!-~",
            ["ascii"] = "\\x00-\\x7F",
        };
    }
}
