namespace Apisix.TestNginx.Parsing;

/// <summary>A parsed and evaluated .t file: its settings (from the Perl preamble) and its blocks.</summary>
public sealed class TestFile
{
    public required string Path { get; init; }
    public List<TestBlock> Blocks { get; } = new();
    public FileSettings Settings { get; } = new();
}

/// <summary>What the preamble's Test::Nginx / t::APISIX calls set for the whole file.</summary>
public sealed class FileSettings
{
    /// <summary>The test module the file uses: "t::APISIX", "Test::Nginx::Socket::Lua" or "Test::Nginx::Socket".</summary>
    public string Module { get; set; } = "";
    public string? LogLevel { get; set; }
    public int RepeatEach { get; set; } = 1;
    public int Workers { get; set; } = 1;
    public bool NoShuffle { get; set; }
    public bool NoLongString { get; set; }
    public bool NoRootLocation { get; set; }
    public string? Plan { get; set; }
    /// <summary>%ENV assignments made in BEGIN blocks or at top level.</summary>
    public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);
    /// <summary>What the preamble printed to stdout (the slurp-and-print idiom), in order.</summary>
    public List<string> Printed { get; } = new();
}
