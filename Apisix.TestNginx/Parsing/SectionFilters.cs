using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Parsing;

/// <summary>
/// Test::Base's section filters. Every section first gets the defaults <c>norm</c> and <c>trim</c>,
/// then the filters named in its header, left to right. A filter maps a list of values to a list
/// (most work on one string); the final list becomes the section value: none → undef,
/// one → that value, several → <see cref="PerlArray"/>.
/// </summary>
public static partial class SectionFilters
{
    private static readonly string[] Defaults = ["norm", "trim"];

    /// <summary>Evaluates Perl source in list context; the int is the source's first line number.</summary>
    public delegate List<PerlValue> Evaluator(string source, int firstLine);

    private sealed record Filter(string Name, string? Argument);

    private static readonly HashSet<string> Known =
    [
        "norm", "trim", "chomp", "chop", "unchomp", "eval", "lines", "join", "append", "prepend",
        "array", "reverse", "sort", "regexp",
    ];

    public static PerlValue Apply(RawSection section, Evaluator eval, string path)
    {
        var values = new List<PerlValue> { new PerlString(section.Value) };
        var firstLine = section.Inline ? section.Line : section.Line + 1; // where the value's text starts
        foreach (var filter in Resolve(section, path))
        {
            try
            {
                values = Run(filter, values, ref firstLine, eval);
            }
            catch (FilterException e)
            {
                throw new TestFileException(path, section.Line, $"section '{section.Name}', filter '{filter.Name}': {e.Message}");
            }
        }
        return values.Count switch
        {
            0 => PerlValue.Undef,
            1 => values[0],
            _ => new PerlArray(values),
        };
    }

    // Defaults, then header filters; "-name" removes an earlier filter and "+name" runs last (as in Test::Base).
    private static List<Filter> Resolve(RawSection section, string path)
    {
        var filters = new List<Filter>();
        var appended = new List<Filter>();
        foreach (var word in Defaults.Concat(section.Filters))
        {
            var text = word;
            var target = filters;
            if (text.StartsWith('-'))
            {
                filters.RemoveAll(f => f.Name == text[1..]);
                continue;
            }
            if (text.StartsWith('+')) { text = text[1..]; target = appended; }
            var eq = text.IndexOf('=');
            var filter = eq < 0 ? new Filter(text, null) : new Filter(text[..eq], UnescapeArgument(text[(eq + 1)..]));
            if (!Known.Contains(filter.Name))
                throw new TestFileException(path, section.Line, $"unknown filter '{filter.Name}' in section '{section.Name}'");
            target.Add(filter);
        }
        return [.. filters, .. appended];
    }

    // Test::Base turns "\s" into a space and "\n"-style escapes into their characters in filter arguments.
    private static string UnescapeArgument(string arg) =>
        arg.Replace("\\s", " ").Replace("\\n", "\n").Replace("\\t", "\t").Replace("\\r", "\r");

    private sealed class FilterException(string message) : Exception(message);

    private static List<PerlValue> Run(Filter f, List<PerlValue> values, ref int firstLine, Evaluator eval)
    {
        switch (f.Name)
        {
            case "norm":
                var text = values is [PerlUndef] ? "" : Scalar(values);
                return [new PerlString(text.Replace("\r\n", "\n").Replace('\r', '\n'))];
            case "trim":
                if (values is [PerlString only])
                {
                    var trimmed = Trim(only.Bytes, out var droppedLines);
                    firstLine += droppedLines;
                    return [new PerlString(trimmed)];
                }
                return Map(values, s => Trim(s, out _));
            case "chomp":
                return Map(values, s => s.EndsWith('\n') ? s[..^1] : s);
            case "chop":
                return Map(values, s => s.Length > 0 ? s[..^1] : s);
            case "unchomp":
                return Map(values, s => s + "\n");
            case "append":
                return Map(values, s => s + (f.Argument ?? ""));
            case "prepend":
                return Map(values, s => (f.Argument ?? "") + s);
            case "eval":
                // Test::Base keeps whatever the code returns, even "" or digits.
                return eval(Scalar(values), firstLine);
            case "lines":
                return LineRegex().Matches(Scalar(values)).Where(m => m.Length > 0).Select(m => (PerlValue)new PerlString(m.Value)).ToList();
            case "join":
                return [new PerlString(string.Join(f.Argument ?? "", values.Select(Str)))];
            case "array":
                return [new PerlArray(values)];
            case "reverse":
                return Enumerable.Reverse(values).ToList();
            case "sort":
                return values.OrderBy(Str, StringComparer.Ordinal).ToList();
            case "regexp":
                return [Regexp(Scalar(values), f.Argument)];
            default:
                throw new FilterException("not implemented");
        }
    }

    /// <summary>
    /// Test::Base's trim: drop leading blank lines, and drop whitespace that follows the last
    /// newline-terminated content line, so multi-line text ends in exactly one "\n"
    /// (spaces before that newline stay; text without any newline is left alone).
    /// </summary>
    public static string Trim(string s, out int droppedLines)
    {
        var lead = LeadingBlankLines().Match(s);
        droppedLines = lead.Value.Count(c => c == '\n');
        s = s[lead.Length..];
        var tail = TrailingAfterNewline().Match(s);
        return tail.Success ? s[..tail.Index] : s;
    }

    // The regexp filter: multi-line text defaults to /xism, one line is chomped.
    private static PerlRegex Regexp(string text, string? flags)
    {
        if (MultiLine().IsMatch(text)) flags ??= "xism";
        else if (text.EndsWith('\n')) text = text[..^1];
        return new PerlRegex(text, flags ?? "");
    }

    private static string Scalar(List<PerlValue> values) =>
        values is [var v] ? Str(v) : throw new FilterException("needs a single value, not a list");

    private static string Str(PerlValue v) => v switch
    {
        PerlString s => s.Bytes,
        PerlUndef => "",
        PerlRegex r => r.ToString(),
        _ => throw new FilterException("can't use an array reference as text"),
    };

    private static List<PerlValue> Map(List<PerlValue> values, Func<string, string> f) =>
        values.Select(v => (PerlValue)new PerlString(f(Str(v)))).ToList();

    [GeneratedRegex(@"\A([ \t]*\n)+")]
    private static partial Regex LeadingBlankLines();

    // Perl's s/(?<=\n)\s*\z// (Perl's \s on bytes is ASCII only, unlike .NET's): the first place after a newline from which only whitespace remains.
    [GeneratedRegex(@"(?<=\n)[ \t\n\r\f\v]*\z")]
    private static partial Regex TrailingAfterNewline();

    [GeneratedRegex(@"^.*\n?", RegexOptions.Multiline)]
    private static partial Regex LineRegex();

    [GeneratedRegex(@"\n.*?\n", RegexOptions.Singleline)]
    private static partial Regex MultiLine();
}
