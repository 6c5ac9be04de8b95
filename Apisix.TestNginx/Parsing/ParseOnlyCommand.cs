namespace Apisix.TestNginx.Parsing;

/// <summary>
/// <c>--parse-only</c>: load every .t file (parse, Perl, filters, preprocessors) without running it,
/// one line per file, to check that the runner understands a test suite.
/// </summary>
public static class ParseOnlyCommand
{
    /// <param name="root">The runner's root directory (APISIX's repo root).</param>
    /// <param name="filesOrDirs">.t files, or directories searched recursively for *.t. Relative paths
    /// are taken from the current directory, or from <paramref name="root"/> when not found there.</param>
    /// <returns>0 when every file loaded, 1 otherwise.</returns>
    public static int Run(string root, IEnumerable<string> filesOrDirs, TextWriter output)
    {
        int files = 0, blocks = 0, errors = 0;
        foreach (var file in Expand(root, filesOrDirs))
        {
            files++;
            try
            {
                var loaded = TestFileLoader.Load(Locate(root, file), root);
                blocks += loaded.Blocks.Count;
                output.WriteLine($"{file}: {loaded.Blocks.Count} blocks");
            }
            catch (TestFileException e)
            {
                errors++;
                output.WriteLine($"{file}: ERROR {e.Detail}{(e.Line > 0 ? $" (line {e.Line})" : "")}");
            }
        }
        output.WriteLine($"parsed {files} files, {blocks} blocks, {errors} errors");
        return errors == 0 ? 0 : 1;
    }

    private static string Locate(string root, string path) =>
        Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path) ? path : Path.Combine(root, path);

    private static IEnumerable<string> Expand(string root, IEnumerable<string> filesOrDirs)
    {
        foreach (var arg in filesOrDirs)
        {
            var located = Locate(root, arg);
            if (!Directory.Exists(located))
            {
                yield return arg;
                continue;
            }
            var found = Directory.EnumerateFiles(located, "*.t", SearchOption.AllDirectories)
                .Select(f => Path.Join(arg, Path.GetRelativePath(located, f)))
                .OrderBy(f => f, StringComparer.Ordinal);
            foreach (var f in found) yield return f;
        }
    }
}
