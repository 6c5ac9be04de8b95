using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Parsing;

/// <summary>One <c>--- name filters</c> section as written, before any filter runs.</summary>
/// <param name="Filters">The filter words from the header ("eval", "chomp"), without the defaults.</param>
/// <param name="Inline">Written as <c>--- name: value</c>; Value is then already stripped.</param>
public sealed record RawSection(string Name, IReadOnlyList<string> Filters, string Value, bool Inline, int Line);

public sealed record RawBlock(string Name, string Description, int Line, IReadOnlyList<RawSection> Sections);

/// <summary>A .t file split into its Perl preamble and its data blocks.</summary>
public sealed record RawTestFile(string Preamble, IReadOnlyList<RawBlock> Blocks);

/// <summary>
/// Splits a .t file the way Test::Base does: Perl code up to <c>__DATA__</c> (or <c>__END__</c>),
/// then <c>===</c> blocks, each with an optional description and <c>---</c> sections.
/// Input is a Latin-1 decoded byte string.
/// </summary>
public static partial class TestBaseParser
{
    // Names Test::Base refuses as sections because they are Test::Base::Block methods.
    private static readonly HashSet<string> ReservedSections =
    [
        "name", "description", "set_value", "run_filters", "seq_num", "is_filtered", "blocks_object",
        "original_values", "block_accessor", "new", "DESTROY", "AUTOLOAD", "BEGIN", "ISA", "EXPORT",
    ];

    [GeneratedRegex(@"^__(?:DATA|END)__(?![A-Za-z0-9_])")]
    private static partial Regex DataMarker();

    // Test::Base's header: "--- " then the name (optionally in parens), then filters or ": value".
    // \w is ASCII here: the files are bytes, not characters.
    [GeneratedRegex(@"^--- +\(?([A-Za-z0-9_]+)\)? *(.*)\n\z")]
    private static partial Regex SectionHeader();

    /// <summary>Perl's \s on byte strings: ASCII only (.NET's Trim would also eat bytes 0x85 and 0xA0).</summary>
    internal static readonly char[] PerlSpace = [' ', '\t', '\n', '\r', '\f', '\v'];

    [GeneratedRegex(@":([ \t\n\r\f\v]|\z)")]
    private static partial Regex InlineMarker();

    [GeneratedRegex(@"[ \t\n\r\f\v]*:(?:[ \t\n\r\f\v]+|\z)")]
    private static partial Regex InlineSplit();

    public static RawTestFile Parse(string text, string path)
    {
        var lines = SplitLines(text);
        var dataAt = lines.FindIndex(l => DataMarker().IsMatch(l));
        if (dataAt < 0) return new RawTestFile(text, []);

        var preamble = string.Concat(lines.Take(dataAt));
        var blocks = new List<RawBlock>();
        var i = dataAt + 1;
        while (i < lines.Count && !lines[i].StartsWith("===", StringComparison.Ordinal)) i++; // text before the first block is ignored
        while (i < lines.Count)
        {
            var end = i + 1;
            while (end < lines.Count && !lines[end].StartsWith("===", StringComparison.Ordinal)) end++;
            blocks.Add(ParseBlock(lines, i, end, path));
            i = end;
        }
        return new RawTestFile(preamble, blocks);
    }

    // Lines with their "\n" kept, so concatenating them gives back the text exactly.
    private static List<string> SplitLines(string text)
    {
        var lines = new List<string>();
        var start = 0;
        while (start < text.Length)
        {
            var nl = text.IndexOf('\n', start);
            var next = nl < 0 ? text.Length : nl + 1;
            lines.Add(text[start..next]);
            start = next;
        }
        return lines;
    }

    private static RawBlock ParseBlock(List<string> lines, int first, int end, string path)
    {
        var name = lines[first][3..].Trim(PerlSpace);
        var sections = new List<RawSection>();
        var description = new System.Text.StringBuilder();
        (string Name, string After, int Line)? header = null;
        var body = new System.Text.StringBuilder();

        void Close()
        {
            if (header is not { } h) return;
            sections.Add(MakeSection(h.Name, h.After, body.ToString(), h.Line, path));
            body.Clear();
        }

        for (var i = first + 1; i < end; i++)
        {
            var m = SectionHeader().Match(lines[i]);
            if (m.Success)
            {
                Close();
                header = (m.Groups[1].Value, m.Groups[2].Value, i + 1);
            }
            else (header == null ? description : body).Append(lines[i]);
        }
        Close();

        var desc = description.ToString().Trim(PerlSpace);
        return new RawBlock(name, desc.Length == 0 ? name : desc, first + 1, sections);
    }

    private static RawSection MakeSection(string name, string rest, string value, int line, string path)
    {
        if (ReservedSections.Contains(name) || name.StartsWith('_'))
            throw new TestFileException(path, line, $"'{name}' is a reserved name in Test::Base; it can't be a section");
        if (!InlineMarker().IsMatch(rest))
            return new RawSection(name, SplitFilters(rest), value, false, line);

        // "--- name: value" (or "--- name filters: value"): a one-line value with no newline.
        if (value.Any(c => !PerlSpace.Contains(c)))
            throw new TestFileException(path, line, $"extra lines are not allowed after the inline section '{name}: ...'");
        var parts = InlineSplit().Split(rest, 2);
        return new RawSection(name, SplitFilters(parts[0]), parts.Length > 1 ? parts[1].Trim(PerlSpace) : "", true, line);
    }

    private static string[] SplitFilters(string text) =>
        text.Split(PerlSpace, StringSplitOptions.RemoveEmptyEntries);
}
