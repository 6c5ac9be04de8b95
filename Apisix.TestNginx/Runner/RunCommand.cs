using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// The command line: `[--root DIR] [--json FILE] [--jobs N] [--parse-only] [--bench] FILE_OR_DIR...`,
/// or `diff [options] FILE_OR_DIR...` (see <see cref="Diff.DiffCommand"/>).
/// Files run in parallel (each on its own in-memory network, so no port clashes), blocks of a
/// file in order; TAP is printed file by file, then `N passed, N failed, N skipped`.
/// Exit code 0 when nothing failed, 1 on failures, 2 on bad usage.
/// </summary>
public static class RunCommand
{
    public static async Task<int> MainAsync(string[] args, TextWriter output, TextWriter error)
    {
        // `diff ...`: the same files on the real side and here, compared (Apisix.TestNginx/Diff)
        if (args.Length > 0 && args[0] == "diff") return await Diff.DiffCommand.MainAsync(args[1..], output, error);
        var root = Directory.GetCurrentDirectory();
        string? json = null;
        var parseOnly = false;
        var bench = false;
        var jobs = Math.Max(1, Environment.ProcessorCount);
        var paths = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--root" when i + 1 < args.Length: root = Path.GetFullPath(args[++i]); break;
                case "--json" when i + 1 < args.Length: json = args[++i]; break;
                case "--jobs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var j): jobs = Math.Max(1, j); i++; break;
                case "--parse-only": parseOnly = true; break;
                case "--bench": bench = true; break;
                case "-h" or "--help":
                    output.WriteLine("usage: Apisix.TestNginx [--root DIR] [--json FILE] [--jobs N] [--parse-only] [--bench] FILE_OR_DIR...");
                    output.WriteLine("       Apisix.TestNginx diff [options] FILE_OR_DIR...   (diff --help)");
                    return 0;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal))
                    {
                        error.WriteLine($"unknown option {args[i]}");
                        return 2;
                    }
                    paths.Add(args[i]);
                    break;
            }
        }
        if (paths.Count == 0)
        {
            error.WriteLine("no .t files or directories given");
            return 2;
        }
        if (parseOnly) return ParseOnlyCommand.Run(root, paths, output);

        var files = Expand(root, paths, error);
        _ = Task.Run(Apisix.Core.OpenResty.Net.ServerTls.WarmUpAsync); // nginx starts with OpenSSL loaded
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tap = new TapReporter(output);
        var outcomes = new FileOutcome[files.Count];
        var done = new TaskCompletionSource[files.Count];
        for (var i = 0; i < files.Count; i++) done[i] = new TaskCompletionSource();
        using var gate = new SemaphoreSlim(jobs);
        var runs = RunOrder.LongestFirst(files).Select(async i =>
        {
            await gate.WaitAsync();
            try { outcomes[i] = await new FileRunner(root).RunAsync(files[i]); }
            catch (Exception e) { outcomes[i] = new FileOutcome { File = files[i], Error = "runner error: " + e }; }
            finally { gate.Release(); done[i].SetResult(); }
        }).ToList();

        // Print in file order as results arrive.
        for (var i = 0; i < files.Count; i++)
        {
            await done[i].Task;
            tap.BeginFile(outcomes[i].File);
            foreach (var b in outcomes[i].Blocks) tap.Block(outcomes[i].File, b);
            tap.EndFile(outcomes[i]);
            output.Flush();
        }
        await Task.WhenAll(runs);
        var totals = tap.Finish();
        if (bench) BenchReport.Write(output, outcomes, clock.Elapsed, jobs);
        if (json != null) JsonReporter.Write(outcomes, json);
        return totals.Failed > 0 ? 1 : 0;
    }

    private static List<string> Expand(string root, List<string> paths, TextWriter error)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            var full = File.Exists(p) || Directory.Exists(p) ? Path.GetFullPath(p) : Path.GetFullPath(p, root);
            if (Directory.Exists(full))
                files.AddRange(Directory.GetFiles(full, "*.t", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            else if (File.Exists(full)) files.Add(full);
            else files.Add(full); // the loader reports it as a failing file
        }
        return files;
    }
}
