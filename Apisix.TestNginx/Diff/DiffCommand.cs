using System.Globalization;
using System.Text.RegularExpressions;
using Apisix.TestNginx.Runner;

namespace Apisix.TestNginx.Diff;

/// <summary>
/// <c>Apisix.TestNginx diff [options] FILE_OR_DIR...</c>: each .t file under the real prove and
/// Test::Nginx (Lua APISIX for <c>use t::APISIX</c> files, an nginx with the Lua module for plain
/// Test::Nginx files) with the capture module loaded, and under our runner; then block by block and
/// request by request: verdicts, status, headers, body, error log. Prints a table per file and
/// mode, then summaries; <c>--json</c> and <c>--html</c> write the whole comparison.
/// Exit code 0 when every verdict (and the file's plan) agrees, 1 otherwise, 2 on usage or set-up errors.
/// </summary>
public static partial class DiffCommand
{
    public const string Usage = """
        usage: Apisix.TestNginx diff [options] FILE_OR_DIR...

        Runs each .t file on the real side (prove + Test::Nginx, with the capture module
        tools/perl/TestNginxCapture.pm loaded through PERL5OPT) and on ours, and compares them.
        Files with `use t::APISIX` run on Lua APISIX: prove runs in --root (an APISIX tree with its
        dependencies installed), on the runtime named by TEST_NGINX_BINARY (or --nginx). Other files
        run on an nginx with the Lua module (default: Debian's nginx + libnginx-mod-http-lua).

          --root DIR          where prove runs and relative paths resolve (default: the working directory)
          --test-nginx DIR    a Test::Nginx checkout or its lib dir (default: $TEST_NGINX_LIB)
          --nginx PATH        the real nginx (default: $TEST_NGINX_BINARY, else nginx on PATH)
          --modules "SO SO"   dynamic modules for plain files (default: Debian's ndk + lua modules,
                              none when nginx has Lua built in)
          --lua-path DIR      an extra Lua library dir for the real side (repeatable); also sets
                              TEST_NGINX_LUA_PACKAGE_PATH for both sides
          --port N            the real side's port for plain files (default 1994; t::APISIX fixes 1984)
          --hup / --no-hup    also run with TEST_NGINX_USE_HUP=1 (nginx reloaded between blocks);
                              default: on for plain files, off for APISIX files
          --real-cache DIR    keep the real side's output and capture in DIR, reused while the file,
                              mode, set-up and TEST_NGINX_* environment are unchanged
          --real-cache-only   take the real side from --real-cache only, never run it (a file
                              missing there is reported as not run on the real side)
          --timeout S         per file and side (default 900)
          --keep              keep the real side's server root (plain files)
          --ignore-header H   do not compare header H either (repeatable)
          --lua-positions     keep the [lua] FILE.lua:LINE: FUNC(): prefix of log lines from APISIX's
                              Lua modules (dropped by default: the port's C# logs without it)
          --json FILE         write the whole comparison as JSON
          --html FILE         write it as one self-contained HTML page
          --width N           block name column width (default 60)
          --brief             tables and summaries only, no per-block details
        """;

    public static async Task<int> MainAsync(string[] args, TextWriter output, TextWriter error)
    {
        var o = new DiffOptions();
        string? json = null, html = null, testNginx = null, nginx = null, modules = null;
        var brief = false;
        var paths = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new DiffSetupException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--root": o.Root = Path.GetFullPath(Next()); break;
                    case "--test-nginx": testNginx = Next(); break;
                    case "--nginx": nginx = Next(); break;
                    case "--modules": modules = Next(); break;
                    case "--lua-path": o.LuaPaths.Add(Path.GetFullPath(Next())); break;
                    case "--port": o.Port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--hup": o.Hup = true; break;
                    case "--no-hup": o.Hup = false; break;
                    case "--real-cache": o.RealCache = Path.GetFullPath(Next()); break;
                    case "--real-cache-only": o.RealCacheOnly = true; break;
                    case "--timeout": o.Timeout = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--keep": o.Keep = true; break;
                    case "--ignore-header": o.Compare.IgnoredHeaders.Add(Next()); break;
                    case "--lua-positions": o.Compare.LuaPositions = true; break;
                    case "--json": json = Next(); break;
                    case "--html": html = Next(); break;
                    case "--width": o.Width = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--brief": brief = true; break;
                    case "-h" or "--help": output.Write(Usage); return 0;
                    default:
                        if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new DiffSetupException($"unknown option {args[i]}");
                        paths.Add(args[i]);
                        break;
                }
            }
            catch (FormatException) { error.WriteLine($"diff: {args[i - 1]} needs a number"); return 2; }
            catch (DiffSetupException e) { error.WriteLine("diff: " + e.Message); return 2; }
        }
        if (o.RealCacheOnly && o.RealCache == null)
        {
            error.WriteLine("diff: --real-cache-only needs --real-cache DIR");
            return 2;
        }
        if (paths.Count == 0)
        {
            error.WriteLine("diff: no .t files or directories given");
            error.Write(Usage);
            return 2;
        }

        var files = new List<string>();
        foreach (var p in paths)
        {
            var full = Path.GetFullPath(p, o.Root);
            if (Directory.Exists(full)) files.AddRange(Directory.GetFiles(full, "*.t", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            else if (File.Exists(full)) files.Add(full);
            else { error.WriteLine($"diff: no such file: {p}"); return 2; }
        }
        var apisixFiles = files.Where(IsApisixFile).ToHashSet();
        try
        {
            o.TestNginxLib = RealSide.FindTestNginxLib(testNginx);
            o.Prove = RealSide.CheckPerl(o.TestNginxLib);
            if (apisixFiles.Count > 0 && nginx == null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TEST_NGINX_BINARY")))
                throw new DiffSetupException("APISIX files run on APISIX's runtime: set TEST_NGINX_BINARY (or --nginx) to its nginx "
                                             + "(OpenResty built with apisix-nginx-module)");
            o.Nginx = RealSide.FindNginx(nginx);
            if (files.Count > apisixFiles.Count) o.Modules = RealSide.FindModules(modules, o.Nginx);
            foreach (var d in o.LuaPaths.Where(d => !Directory.Exists(d))) throw new DiffSetupException($"--lua-path {d} is not a directory");
            if (files.Count > apisixFiles.Count && !RealSide.PortFree(o.Port))
                throw new DiffSetupException($"port {o.Port} is in use: pick another with --port");
        }
        catch (DiffSetupException e)
        {
            error.WriteLine("diff: " + e.Message);
            return 2;
        }

        output.WriteLine($"real: {o.Nginx}, modules: {(o.Modules.Count == 0 ? "(built in)" : string.Join(" ", o.Modules))}, Test::Nginx: {o.TestNginxLib}"
                         + (files.Count > apisixFiles.Count ? $", port {o.Port}" : ""));
        var real = new RealSide(o);
        var results = new List<FileDiff>();
        foreach (var path in files)
        {
            var apisix = apisixFiles.Contains(path);
            var display = Path.GetRelativePath(o.Root, path);
            if (display.StartsWith("..", StringComparison.Ordinal)) display = path;
            var modes = (o.Hup ?? !apisix) ? new[] { false, true } : [false];
            var entries = FileBlocks.Read(path);
            if (!apisix) WarnBusyPorts(path, o.Port, output);
            foreach (var hup in modes)
            {
                var mode = hup ? "HUP" : "default";
                output.WriteLine($"{display}: {entries.Count} blocks; real {mode} ...");
                output.Flush();
                if (!apisix) RealSide.WaitPortFree(o.Port);
                var before = File.ReadAllBytes(path);
                RealRun realRun;
                try { realRun = real.Run(path, apisix, hup); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException)
                {
                    // prove could not start or its output could not be read: the file's rows say so
                    realRun = new RealRun { Output = [$"Bail out! the real side did not run: {e.Message}"] };
                }
                output.WriteLine($"{display}: ours {mode} ...");
                output.Flush();
                var sw = System.Diagnostics.Stopwatch.StartNew();
                var ours = await RunOursAsync(o, path, apisix, hup);
                var oursWall = sw.Elapsed.TotalSeconds;
                if (!File.ReadAllBytes(path).AsSpan().SequenceEqual(before))
                {
                    output.WriteLine($"warning: {display} changed during the run; the sides may have run different versions");
                    entries = FileBlocks.Read(path);
                }

                var problems = new List<string>();
                var captures = CapturedBlock.ReadJsonLines(realRun.Capture, problems);
                var compare = new CompareOptions { RealServroot = realRun.Servroot, OursServroot = Parsing.TestNginxPaths.ServerRoot(o.Root), LuaPositions = o.Compare.LuaPositions };
                foreach (var h in o.Compare.IgnoredHeaders) compare.IgnoredHeaders.Add(h);
                var diff = FileComparer.Compare(display, mode, apisix ? "Lua APISIX" : "nginx + Lua module", entries,
                    TapOutput.Parse(realRun.Output), captures, ours, compare);
                diff.RealWall = realRun.Wall;
                diff.OursWall = oursWall;
                diff.RealFromCache = realRun.FromCache;
                if (realRun.TimedOut) diff.Notes.Insert(0, $"real: prove timed out after {o.Timeout} s");
                diff.Notes.AddRange(problems.Select(p => "real: " + p));
                if (captures.Count == 0 && realRun.Output.Count > 0 && diff.Blocks.All(b => b.Real is "?" or "-"))
                    diff.Notes.Add("real: no block ran; the end of prove's output:\n  " + string.Join("\n  ", realRun.Output.TakeLast(15)));
                results.Add(diff);
                TextReport.WriteFile(output, diff, o.Width, details: !brief);
                output.Flush();
            }
        }
        TextReport.WriteSummary(output, results);
        if (json != null) File.WriteAllText(json, JsonDiffReport.ToJson(results));
        if (html != null)
        {
            var kinds = results.Select(r => r.RealKind).Distinct().ToList();
            File.WriteAllText(html, HtmlReport.Render(results, "Apisix.TestNginx diff: real vs ours",
                $"the real side ({string.Join(", ", kinds)}: {o.Nginx}, Test::Nginx {o.TestNginxLib})"));
            output.WriteLine($"HTML report: {Path.GetFullPath(html)}");
        }
        var disagree = results.Any(f => !f.PlanAgrees || f.Blocks.Any(b => !(b.VerdictAgrees || (b.Real == "-" && b.Ours == "-"))));
        return disagree ? 1 : 0;
    }

    /// <summary>Our side, in this process, with the environment the real side's run had where it matters.</summary>
    private static async Task<Reporting.FileOutcome> RunOursAsync(DiffOptions o, string path, bool apisix, bool hup)
    {
        var env = new Dictionary<string, string?>
        {
            ["TEST_NGINX_USE_HUP"] = hup ? "1" : null,
        };
        if (!apisix) env["TEST_NGINX_SERVER_PORT"] = o.Port.ToString(CultureInfo.InvariantCulture);
        if (o.LuaPaths.Count > 0) env["TEST_NGINX_LUA_PACKAGE_PATH"] = RealSide.LuaPathPrefix(o.LuaPaths) + ";";
        // this run's view only: other runs in the process (the test suite's) keep theirs
        RunEnvironment.Set(env);
        try { return await new FileRunner(o.Root).RunAsync(path); }
        catch (Exception e) { return new Reporting.FileOutcome { File = path, Error = "runner error: " + e }; }
    }

    public static bool IsApisixFile(string path)
    {
        var text = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(path));
        var data = text.IndexOf("\n__DATA__", StringComparison.Ordinal);
        return ApisixUse().IsMatch(data >= 0 ? text[..data] : text);
    }

    /// <summary>The file's own `listen N` servers need their ports free on the real side.</summary>
    private static void WarnBusyPorts(string path, int port, TextWriter output)
    {
        var text = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(path));
        var busy = ListenPort().Matches(text).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .Where(p => p != port && p != 1984 && p < 65536).Distinct().Order().Where(p => !RealSide.PortFree(p)).ToList();
        if (busy.Count > 0)
            output.WriteLine($"warning: {path} listens on port(s) {string.Join(", ", busy)}, in use now: its real-side results may be wrong");
    }

    [GeneratedRegex(@"^\s*use\s+t::APISIX\b", RegexOptions.Multiline)]
    private static partial Regex ApisixUse();

    [GeneratedRegex(@"^\s*listen\s+(?:[\d.]+:|\[[^\]]*\]:)?(\d+)\b", RegexOptions.Multiline)]
    private static partial Regex ListenPort();
}
