using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Checks;

/// <summary>A Perl regex the translator can't express in .NET, or that .NET rejects.</summary>
public sealed class PerlRegexException(string message) : Exception(message);

/// <summary>
/// Compiles Perl regexes (as written in <c>qr//</c> or interpolated into <c>qr/$x/s</c>) to .NET
/// regexes that match byte strings (one char per byte) the way Perl matches byte strings.
/// <list type="bullet">
/// <item>Flags: s → Singleline, m → Multiline, i → IgnoreCase, x → IgnorePatternWhitespace,
/// n → ExplicitCapture; g, o, a, u, l, d, p are accepted and ignored. Never ECMAScript.</item>
/// <item>.NET already agrees with Perl on <c>^ $ . \A \z \Z \b \G</c>: <c>$</c> without /m matches at
/// the end and before a final newline; <c>.</c> without /s excludes only "\n".</item>
/// <item>\d \w \s (and \D \W \S) are made ASCII-only, as for Perl byte strings; \h \v \R \N get Perl's meaning.</item>
/// <item>Rewritten: <c>\Q...\E</c>, <c>\x{...}</c>, <c>\xH</c>, <c>\o{...}</c>, <c>\g{N}</c>/<c>\gN</c>, <c>\g{name}</c>,
/// <c>\k{name}</c>, <c>(?^flags:...)</c> (the stringified qr form), <c>(?P&lt;name&gt;</c>, <c>(?P=name)</c>,
/// POSIX classes <c>[:alpha:]</c>, and a <c>]</c> first in a class.</item>
/// <item>Not supported (reported as <see cref="PerlRegexException"/>): <c>\K</c>, possessive quantifiers
/// (rejected by .NET), <c>(?|...)</c>, recursion, relative back references, code blocks.</item>
/// <item>Known gaps: with /i, .NET folds Latin-1 letters too (Perl only ASCII on byte strings), and
/// \b uses .NET's Unicode word characters.</item>
/// </list>
/// </summary>
public static class PerlRegexTranslator
{
    private static readonly ConcurrentDictionary<(string, string), Regex> Cache = new();

    /// <summary>A bound on one match, so a pathological pattern can't hang a run.</summary>
    public static TimeSpan MatchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public static Regex Compile(PerlRegex regex) => Compile(regex.Pattern, regex.Flags);

    /// <exception cref="PerlRegexException">The pattern can't be translated or compiled.</exception>
    public static Regex Compile(string pattern, string flags) =>
        Cache.GetOrAdd((pattern, flags), key =>
        {
            var (translated, options) = Translate(key.Item1, key.Item2);
            try
            {
                return new Regex(translated, options, MatchTimeout);
            }
            catch (ArgumentException e)
            {
                throw new PerlRegexException($"can't compile /{key.Item1}/{key.Item2}: {e.Message}");
            }
        });

    /// <summary>The .NET pattern and options for a Perl pattern and its flags.</summary>
    public static (string Pattern, RegexOptions Options) Translate(string pattern, string flags)
    {
        var options = RegexOptions.CultureInvariant;
        foreach (var f in flags)
        {
            options |= f switch
            {
                's' => RegexOptions.Singleline,
                'm' => RegexOptions.Multiline,
                'i' => RegexOptions.IgnoreCase,
                'x' => RegexOptions.IgnorePatternWhitespace,
                'n' => RegexOptions.ExplicitCapture,
                'g' or 'o' or 'a' or 'u' or 'l' or 'd' or 'p' or 'c' or 'e' or 'r' => RegexOptions.None,
                _ => throw new PerlRegexException($"unknown regex flag '{f}' in /{pattern}/{flags}"),
            };
        }
        return (new Translation(pattern, flags.Contains('x')).Run(), options);
    }

    /// <summary>Perl's stringification of a qr object, as Test::More prints it: <c>(?^FLAGS:PATTERN)</c>.</summary>
    public static string Show(PerlRegex regex) => regex.ToString();

    // ASCII-only classes, spelled for use inside a character class.
    private const string Digit = "0-9";
    private const string Word = "a-zA-Z0-9_";
    private const string Space = @"\t\n\x0B\f\r ";
    private const string NotDigit = @"\x00-/:-\uFFFF";
    private const string NotWord = @"\x00-/:-@\[-\^`{-\uFFFF";
    private const string NotSpace = @"\x00-\x08\x0E-\x1F!-\uFFFF";
    private const string HSpace = @"\t \xA0";
    private const string NotHSpace = @"\x00-\x08\n-\x1F!-\x9F\xA1-\uFFFF";
    private const string VSpace = @"\n\x0B\f\r\x85\u2028\u2029";
    private const string NotVSpace = @"\x00-\x09\x0E-\x84\x86-\u2027\u202A-\uFFFF";

    private static readonly Dictionary<string, string> Posix = new()
    {
        ["alpha"] = "a-zA-Z", ["digit"] = "0-9", ["alnum"] = "a-zA-Z0-9", ["upper"] = "A-Z", ["lower"] = "a-z",
        ["xdigit"] = "0-9A-Fa-f", ["space"] = Space, ["blank"] = @" \t", ["word"] = Word,
        ["punct"] = @"!-/:-@\[-`{-~", ["cntrl"] = @"\x00-\x1F\x7F", ["print"] = " -~", ["graph"] = "!-~",
        ["ascii"] = @"\x00-\x7F",
    };

    private static readonly Dictionary<string, string> NegatedPosix = new()
    {
        ["alpha"] = @"\x00-@\[-`{-\uFFFF", ["digit"] = NotDigit, ["alnum"] = @"\x00-/:-@\[-`{-\uFFFF",
        ["upper"] = @"\x00-@\[-\uFFFF", ["lower"] = @"\x00-`{-\uFFFF", ["xdigit"] = @"\x00-/:-@G-`g-\uFFFF",
        ["space"] = NotSpace, ["blank"] = @"\x00-\x08\n-\x1F!-\uFFFF", ["word"] = NotWord,
        ["punct"] = @"\x00-\x20\x30-\x39A-Za-z\x7F-\uFFFF", ["cntrl"] = @" -~\x80-\uFFFF",
        ["print"] = @"\x00-\x1F\x7F-\uFFFF", ["graph"] = @"\x00-\x20\x7F-\uFFFF", ["ascii"] = @"\x80-\uFFFF",
    };

    private sealed class Translation(string p, bool extended)
    {
        private readonly StringBuilder _out = new(p.Length + 16);
        private int _i;
        private bool _inClass;
        private int _classStart;   // index in p just after "[" or "[^"

        public string Run()
        {
            while (_i < p.Length)
            {
                var c = p[_i];
                if (c == '\\') { Escape(); continue; }
                if (_inClass) { ClassChar(c); continue; }
                switch (c)
                {
                    case '[':
                        _inClass = true;
                        _out.Append('[');
                        _i++;
                        if (_i < p.Length && p[_i] == '^') { _out.Append('^'); _i++; }
                        _classStart = _i;
                        if (_i < p.Length && p[_i] == ']') { _out.Append(@"\]"); _i++; }
                        continue;
                    case '(' when _i + 1 < p.Length && p[_i + 1] == '?':
                        Group();
                        continue;
                    case '#' when extended:
                        var end = p.IndexOf('\n', _i);
                        end = end < 0 ? p.Length : end;
                        _out.Append(p, _i, end - _i); // .NET drops x-mode comments too; copied so nothing in them is translated
                        _i = end;
                        continue;
                    default:
                        _out.Append(c);
                        _i++;
                        continue;
                }
            }
            if (_inClass) throw new PerlRegexException($"unmatched [ in regex: {p}");
            return _out.ToString();
        }

        private void ClassChar(char c)
        {
            if (c == ']' && _i > _classStart)
            {
                _inClass = false;
                _out.Append(']');
                _i++;
                return;
            }
            if (c == '[')
            {
                var m = PosixClass.Match(p, _i);
                if (m.Success && m.Index == _i)
                {
                    var negated = m.Groups[1].Value == "^";
                    var table = negated ? NegatedPosix : Posix;
                    if (!table.TryGetValue(m.Groups[2].Value, out var range))
                        throw new PerlRegexException($"unknown POSIX class [:{m.Groups[2].Value}:] in regex: {p}");
                    _out.Append(range);
                    _i += m.Length;
                    return;
                }
                _out.Append(@"\["); // a literal '[' in a class; escaped so .NET never reads "-[" as subtraction
                _i++;
                return;
            }
            _out.Append(c);
            _i++;
        }

        private void Escape()
        {
            if (_i + 1 >= p.Length) throw new PerlRegexException($"trailing \\ in regex: {p}");
            var e = p[_i + 1];
            _i += 2;
            switch (e)
            {
                case 'd': Class(Digit); return;
                case 'w': Class(Word); return;
                case 's': Class(Space); return;
                case 'D': Class(NotDigit); return;
                case 'W': Class(NotWord); return;
                case 'S': Class(NotSpace); return;
                case 'h': Class(HSpace); return;
                case 'H': Class(NotHSpace); return;
                case 'v': Class(VSpace); return;
                case 'V': Class(NotVSpace); return;
                case 'R' when !_inClass: _out.Append(@"(?:\r\n|[" + VSpace + "])"); return;
                case 'N' when !_inClass && !(_i < p.Length && p[_i] == '{'): _out.Append(@"[^\n]"); return;
                case 'Q': Quote(); return;
                case 'E': return; // a stray \E ends nothing
                case 'x': Hex(); return;
                case 'o' when _i < p.Length && p[_i] == '{': Braced(8); return;
                case 'g': BackReference(); return;
                case 'k' when _i < p.Length && (p[_i] == '{' || p[_i] == '\''):
                    var close = p[_i] == '{' ? '}' : '\'';
                    var end = p.IndexOf(close, _i + 1);
                    if (end < 0) throw new PerlRegexException($"unterminated \\k in regex: {p}");
                    _out.Append(@"\k<").Append(p, _i + 1, end - _i - 1).Append('>');
                    _i = end + 1;
                    return;
                case 'K': throw new PerlRegexException($"\\K is not supported: {p}");
                case 'z' or 'Z' or 'A' or 'G' or 'b' or 'B' when !_inClass:
                    _out.Append('\\').Append(e);
                    return;
                default:
                    if (e > 0x7F) Literal(e);              // an escaped non-ASCII byte is itself
                    else _out.Append('\\').Append(e);     // \n \t \1 \. \/ \e \cX ... mean the same in .NET
                    return;
            }
        }

        // A class shorthand: bare outside a class, as ranges inside one.
        private void Class(string ranges)
        {
            if (_inClass) _out.Append(ranges);
            else _out.Append('[').Append(ranges).Append(']');
        }

        private void Quote()
        {
            var end = p.IndexOf(@"\E", _i, StringComparison.Ordinal);
            var text = end < 0 ? p[_i..] : p[_i..end];
            foreach (var ch in text) Literal(ch);
            _i = end < 0 ? p.Length : end + 2;
        }

        private void Literal(char ch)
        {
            if (char.IsAsciiLetterOrDigit(ch) || ch == '_') _out.Append(ch);
            else _out.Append(@"\u").Append(((int)ch).ToString("X4", CultureInfo.InvariantCulture));
        }

        private void Hex()
        {
            if (_i < p.Length && p[_i] == '{') { Braced(16); return; }
            var start = _i;
            while (_i < p.Length && _i - start < 2 && char.IsAsciiHexDigit(p[_i])) _i++;
            var value = _i == start ? 0 : Convert.ToInt32(p[start.._i], 16);
            Literal((char)value);
        }

        private void Braced(int radix)
        {
            var end = p.IndexOf('}', _i);
            if (end < 0) throw new PerlRegexException($"missing }} in regex escape: {p}");
            var digits = p[(_i + 1)..end].Trim();
            _i = end + 1;
            int value;
            try { value = digits.Length == 0 ? 0 : Convert.ToInt32(digits, radix); }
            catch (FormatException) { throw new PerlRegexException($"bad number in regex escape: {p}"); }
            if (value > 0xFFFF) throw new PerlRegexException($"code point above U+FFFF in regex: {p}");
            Literal((char)value);
        }

        private void BackReference()
        {
            string target;
            if (_i < p.Length && p[_i] == '{')
            {
                var end = p.IndexOf('}', _i);
                if (end < 0) throw new PerlRegexException($"unterminated \\g{{ in regex: {p}");
                target = p[(_i + 1)..end];
                _i = end + 1;
            }
            else
            {
                var start = _i;
                if (_i < p.Length && p[_i] == '-') _i++;
                while (_i < p.Length && char.IsAsciiDigit(p[_i])) _i++;
                target = p[start.._i];
            }
            if (target.StartsWith('-')) throw new PerlRegexException($"relative back references are not supported: {p}");
            if (target.Length > 0 && target.All(char.IsAsciiDigit)) _out.Append('\\').Append(target);
            else _out.Append(@"\k<").Append(target).Append('>');
        }

        // "(?" constructs: Perl's caret flag groups and Python-style names need rewriting.
        private void Group()
        {
            var rest = p.AsSpan(_i + 2);
            if (rest.StartsWith("^"))
            {
                var j = _i + 3;
                var on = new StringBuilder();
                while (j < p.Length && char.IsAsciiLetter(p[j])) on.Append(p[j++]);
                if (j >= p.Length || (p[j] != ':' && p[j] != ')'))
                    throw new PerlRegexException($"bad (?^...) group in regex: {p}");
                var kept = new string(on.ToString().Where(f => "imsxn".Contains(f)).Distinct().ToArray());
                var off = new string("imsx".Where(f => !kept.Contains(f)).ToArray());
                _out.Append("(?").Append(kept).Append(off.Length > 0 ? "-" + off : "").Append(p[j]);
                _i = j + 1;
                return;
            }
            if (rest.StartsWith("#"))
            {
                var close = p.IndexOf(')', _i);
                if (close < 0) throw new PerlRegexException($"unterminated (?# comment in regex: {p}");
                _i = close + 1; // a comment: dropped
                return;
            }
            if (rest.StartsWith("P<")) { _out.Append("(?<"); _i += 4; return; }
            if (rest.StartsWith("P="))
            {
                var end = p.IndexOf(')', _i);
                if (end < 0) throw new PerlRegexException($"unterminated (?P= in regex: {p}");
                _out.Append(@"\k<").Append(p, _i + 4, end - _i - 4).Append('>');
                _i = end + 1;
                return;
            }
            if (rest.StartsWith("|") || rest.StartsWith("P>") || rest.StartsWith("{") || rest.StartsWith("?{")
                || rest.StartsWith("R") || rest.StartsWith("&") || (rest.Length > 0 && (char.IsAsciiDigit(rest[0]) || rest[0] == '+')))
                throw new PerlRegexException($"this (?...) construct is not supported: {p}");

            // Inline flags "(?flags-flags)" or "(?flags-flags:": keep only the ones .NET knows.
            var k = _i + 2;
            while (k < p.Length && (char.IsAsciiLetter(p[k]) || p[k] == '-')) k++;
            if (k > _i + 2 && k < p.Length && (p[k] == ':' || p[k] == ')'))
            {
                var spec = new string(p[(_i + 2)..k].Where(f => f == '-' || "imsxn".Contains(f)).ToArray());
                if (spec.EndsWith('-')) spec = spec[..^1];
                if (spec.Length == 0 && p[k] == ')') { _i = k + 1; return; }
                _out.Append("(?").Append(spec).Append(p[k]);
                _i = k + 1;
                return;
            }
            _out.Append("(?");
            _i += 2;
        }

        private static readonly Regex PosixClass = new(@"\G\[:(\^?)([a-z]+):\]", RegexOptions.CultureInvariant);
    }
}
