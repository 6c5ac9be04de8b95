namespace Apisix.TestNginx.Parsing;

/// <summary>A parsed and evaluated .t file: its settings (from the Perl preamble) and its blocks.</summary>
public sealed class TestFile
{
    public required string Path { get; init; }
    public List<TestBlock> Blocks { get; } = new();
    public FileSettings Settings { get; } = new();

    /// <summary>
    /// <c>add_cleanup_handler</c> subs, in the order Test::Nginx runs them (newest first): after the
    /// file's last block. A handler that dies throws <see cref="TestFileException"/>.
    /// </summary>
    public List<Action> CleanupHandlers { get; } = new();

    /// <summary><c>add_test_cleanup_handler</c> subs (newest first): run with each block after it ran.</summary>
    public List<Action<TestBlock>> TestCleanupHandlers { get; } = new();

    /// <summary>
    /// The blocks Test::Base would run: only the first <c>--- ONLY</c> block if there is one;
    /// otherwise every block without <c>--- SKIP</c>, stopping after the first <c>--- LAST</c>.
    /// </summary>
    public IReadOnlyList<TestBlock> SelectedBlocks()
    {
        var selected = new List<TestBlock>();
        foreach (var block in Blocks)
        {
            if (block.Only) return [block];
            if (block.Skip) continue;
            selected.Add(block);
            if (block.Last) break;
        }
        return selected;
    }
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
    /// <summary>`no_diff()`: Test::Nginx then shows a failed body as got/expected instead of a diff; we always do.</summary>
    public bool NoDiff { get; set; }
    public bool NoRootLocation { get; set; }
    /// <summary>`check_accum_error_log()`: each request's checks see the block's whole error log, not only its own lines.</summary>
    public bool CheckAccumErrorLog { get; set; }
    /// <summary>"no_plan", or "tests => N" / "skip_all => reason" from <c>use X tests => N</c> or <c>plan ...</c>.</summary>
    public string? Plan { get; set; }
    public int? WorkerConnections { get; set; }
    /// <summary>Set by <c>master_on()</c> / <c>master_off()</c>; null when the file calls neither.</summary>
    public bool? MasterOn { get; set; }
    /// <summary>Names (or NAME=value) passed to <c>env_to_nginx(...)</c>.</summary>
    public List<string> EnvToNginx { get; } = new();
    /// <summary>Whether the preamble called <c>run_tests()</c> (without it Test::Nginx runs nothing).</summary>
    public bool RunTestsCalled { get; set; }
    /// <summary>%ENV changes made in BEGIN blocks or at top level; null: made undefined (<c>undef</c>, <c>delete</c>).</summary>
    public Dictionary<string, string?> Env { get; } = new(StringComparer.Ordinal);
    /// <summary><c>use_hup()</c>: reload nginx between blocks, as with TEST_NGINX_USE_HUP=1.</summary>
    public bool UseHup { get; set; }
    /// <summary>What the preamble printed to stdout (the slurp-and-print idiom), in order.</summary>
    public List<string> Printed { get; } = new();
}
