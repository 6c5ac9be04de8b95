using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>
/// <c>ngx.re.find(subject, pattern, "jo")</c> on .NET Regex: an unanchored
/// PCRE search over bytes (no UTF mode). ECMAScript mode keeps \d \w \s
/// ASCII-only like PCRE's default tables; a few PCRE-only spellings are
/// rewritten. A pattern that does not compile never matches, as ngx.re.find
/// then returns nil.
/// </summary>
internal static class PcrePattern
{
    private static readonly ConcurrentDictionary<string, Regex?> Cache = new();

    public static bool Find(string subject, string pattern)
    {
        var regex = Cache.GetOrAdd(pattern, Compile);
        if (regex == null) return false;
        return regex.IsMatch(ByteString.Normalize(subject));
    }

    private static Regex? Compile(string pattern)
    {
        string translated = Translate(ByteString.Normalize(pattern));
        try
        {
            return new Regex(translated, RegexOptions.ECMAScript | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException)
        {
            // Some constructs (lookbehind, named groups...) are not allowed in
            // ECMAScript mode; try again with .NET's own flavour.
        }
        catch (NotSupportedException)
        {
        }
        try
        {
            return new Regex(translated, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static readonly Dictionary<string, string> PosixClasses = new()
    {
        ["alpha"] = "a-zA-Z",
        ["digit"] = "0-9",
        ["alnum"] = "a-zA-Z0-9",
        ["upper"] = "A-Z",
        ["lower"] = "a-z",
        ["xdigit"] = "0-9A-Fa-f",
        ["space"] = "\\t\\n\\v\\f\\r ",
        ["blank"] = " \\t",
        ["word"] = "a-zA-Z0-9_",
        ["punct"] = "!-/:-@\\[-`{-~",
        ["cntrl"] = "\\x00-\\x1f\\x7f",
        ["print"] = " -~",
        ["graph"] = "!-~",
    };

    /// <summary>Rewrites PCRE syntax that .NET reads differently.</summary>
    private static string Translate(string p)
    {
        var sb = new StringBuilder(p.Length + 8);
        bool inClass = false;
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            if (c == '\\' && i + 1 < p.Length)
            {
                char e = p[i + 1];
                if (e == 'h') sb.Append(inClass ? " \\t" : "[ \\t]");
                else sb.Append(c).Append(e);
                i++;
                continue;
            }

            if (!inClass)
            {
                if (c == '[')
                {
                    inClass = true;
                    sb.Append(c);
                    // A ']' right after '[' or '[^' is a literal in PCRE.
                    if (i + 1 < p.Length && p[i + 1] == '^') { sb.Append('^'); i++; }
                    if (i + 1 < p.Length && p[i + 1] == ']') { sb.Append("\\]"); i++; }
                    continue;
                }
                sb.Append(c);
                continue;
            }

            if (c == ']')
            {
                inClass = false;
                sb.Append(c);
                continue;
            }
            if (c == '[')
            {
                int close = p.IndexOf(":]", i + 2, StringComparison.Ordinal);
                if (i + 1 < p.Length && p[i + 1] == ':' && close > 0
                    && PosixClasses.TryGetValue(p.Substring(i + 2, close - i - 2), out var repl))
                {
                    sb.Append(repl);
                    i = close + 1;
                    continue;
                }
                // Literal '[' inside a class; escaped so .NET never sees "-[" subtraction.
                sb.Append("\\[");
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }
}
