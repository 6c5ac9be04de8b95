namespace Apisix.TestNginx.Reporting;

/// <summary>
/// TAP output close to what <c>prove -v</c> shows, with one test point per block:
/// <code>
/// # t/plugin/ai-proxy.t
/// ok 1 - t/plugin/ai-proxy.t TEST 1: set route
/// not ok 2 - t/plugin/ai-proxy.t TEST 2: send request
/// #   Failed test 'TEST 2: send request - status code ok'
/// #          got: '500'
/// #     expected: '200'
/// # WARNING: TEST 2: send request - ... [alert] ...
/// ok 3 - t/plugin/ai-proxy.t TEST 3: stream # SKIP no upstream
/// not ok 4 - t/plugin/broken.t # file error
/// # t/plugin/broken.t:12: ...
/// 1..4
/// 2 passed, 2 failed, 1 skipped
/// </code>
/// Failure messages are printed under their block, every line as a <c>#</c> comment (a message's first
/// line, the check's name, is dropped when the next line repeats it as <c>Failed test '...'</c>).
/// A file that failed to load or run is one failing test point. The plan comes last, then the summary.
/// Names and messages are byte strings and are written as UTF-8 text.
/// </summary>
public sealed class TapReporter(TextWriter output)
{
    private int _number;
    private readonly List<FileOutcome> _files = new();

    /// <summary>Prints the header comment of a file, before its blocks run.</summary>
    public void BeginFile(string file) => output.WriteLine($"# {file}");

    /// <summary>Prints one block's test point (call as blocks finish, for live output).</summary>
    public void Block(string file, BlockOutcome block)
    {
        _number++;
        var name = ByteStrings.ToText(block.Name).Replace("#", "\\#"); // TAP reads an unescaped # as a directive
        switch (block.Status)
        {
            case BlockOutcome.Skip:
                output.WriteLine($"ok {_number} - {file} {name} # SKIP{(block.Message is { } why ? " " + OneLine(why) : "")}");
                break;
            case BlockOutcome.Pass:
                output.WriteLine($"ok {_number} - {file} {name}");
                break;
            default:
                output.WriteLine($"not ok {_number} - {file} {name}");
                WriteComment(block.Message);
                break;
        }
        foreach (var w in block.Warnings) WriteComment(w);
    }

    /// <summary>Records a finished file; prints a failing test point when it has an error.</summary>
    public void EndFile(FileOutcome file)
    {
        _files.Add(file);
        if (file.Error == null) return;
        _number++;
        output.WriteLine($"not ok {_number} - {file.File} # file error");
        WriteComment(file.Error);
    }

    /// <summary>Prints the plan and the summary line; returns the totals.</summary>
    public RunTotals Finish()
    {
        output.WriteLine($"1..{_number}");
        var totals = RunTotals.Of(_files);
        output.WriteLine(totals.ToString());
        output.Flush();
        return totals;
    }

    /// <summary>Prints a whole run at once.</summary>
    public RunTotals Write(IEnumerable<FileOutcome> files)
    {
        foreach (var file in files)
        {
            BeginFile(file.File);
            foreach (var block in file.Blocks) Block(file.File, block);
            EndFile(file);
        }
        return Finish();
    }

    private void WriteComment(string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        var lines = ByteStrings.ToText(text).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            // A failure's first line is its name; skip it when Test::More's "Failed test" line follows.
            if (!line.StartsWith('#') && i + 1 < lines.Length && lines[i + 1].StartsWith($"#   Failed test '{line}'", StringComparison.Ordinal))
                continue;
            output.WriteLine(line.StartsWith('#') ? line : line.Length == 0 ? "#" : "# " + line);
        }
    }

    private static string OneLine(string s) => ByteStrings.ToText(s).Replace('\n', ' ').Replace("#", "\\#");
}
