using System.Globalization;
using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// The order files start in when they run in parallel: the ones expected to take longest first,
/// so a long file does not start last and stretch the run. Expected cost is read from the text:
/// the literal seconds of its `ngx.sleep(N)` calls and `--- wait: N` sections, which dominate
/// these files' run time. Results are still reported in the order the files were given.
/// </summary>
public static partial class RunOrder
{
    [GeneratedRegex(@"ngx\.sleep\(\s*([0-9]*\.?[0-9]+)\s*\)|^--- wait:\s*([0-9]*\.?[0-9]+)", RegexOptions.Multiline)]
    private static partial Regex Pauses();

    /// <summary>Seconds of pauses written in the file (0 when it cannot be read).</summary>
    public static double ExpectedSleep(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
        double sum = 0;
        foreach (Match m in Pauses().Matches(text))
        {
            var g = m.Groups[1].Success ? m.Groups[1] : m.Groups[2];
            sum += double.Parse(g.Value, CultureInfo.InvariantCulture);
        }
        return sum;
    }

    /// <summary>Indexes of <paramref name="files"/>, longest expected first; ties keep their order.</summary>
    public static int[] LongestFirst(IReadOnlyList<string> files) =>
        Enumerable.Range(0, files.Count).OrderByDescending(i => ExpectedSleep(files[i])).ToArray();
}
