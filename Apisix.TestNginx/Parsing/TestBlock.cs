namespace Apisix.TestNginx.Parsing;

/// <summary>One <c>=== name</c> block of a .t file, after filters, eval and preprocessors.</summary>
public sealed class TestBlock
{
    public required int Index { get; init; }          // 1-based position in the file
    public required string Name { get; init; }        // text after "=== " (e.g. "TEST 3: foo")
    public required int Line { get; init; }          // 1-based line of the "===" line
    public string Description { get; init; } = "";

    /// <summary>Sections by name; the last occurrence of a name wins (Test::Base).</summary>
    public Dictionary<string, PerlValue> Sections { get; } = new(StringComparer.Ordinal);

    /// <summary>Filters named in each section header (e.g. "eval", "chomp"), for diagnostics.</summary>
    public Dictionary<string, IReadOnlyList<string>> Filters { get; } = new(StringComparer.Ordinal);

    /// <summary>1-based line of each section's "---" header, for diagnostics (last occurrence).</summary>
    public Dictionary<string, int> SectionLines { get; } = new(StringComparer.Ordinal);

    public bool Only { get; set; }
    public bool Skip { get; set; }
    public bool Last { get; set; }

    public bool Has(string name) => Sections.TryGetValue(name, out var v) && v is not PerlUndef;

    public PerlValue? Get(string name) => Sections.TryGetValue(name, out var v) && v is not PerlUndef ? v : null;

    /// <summary>The section as a byte string, or null when absent.</summary>
    public string? Text(string name) => Get(name)?.ToString();

    public void Set(string name, PerlValue value) => Sections[name] = value;
}
