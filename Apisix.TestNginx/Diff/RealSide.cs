using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Apisix.TestNginx.Diff;

/// <summary>Thrown when the real side cannot be set up (nothing to run); the message says what to install or pass.</summary>
public sealed class DiffSetupException(string message) : Exception(message);

/// <summary>What a file's run on the real side left: prove's output (stdout and stderr together) and the capture.</summary>
public sealed class RealRun
{
    public List<string> Output { get; set; } = new();
    public List<string> Capture { get; set; } = new();
    public double Wall { get; set; }
    public int ExitCode { get; set; }
    public bool TimedOut { get; set; }
    public string? Servroot { get; set; }
    public bool FromCache { get; set; }
}

/// <summary>
/// The real side: the file under the real <c>prove</c> and Test::Nginx, with the capture module
/// loaded through <c>PERL5OPT</c>. Two kinds, chosen per file by its test module:
/// <list type="bullet">
/// <item>plain Test::Nginx files (<c>use Test::Nginx::Socket::Lua</c>): an nginx with the Lua module
/// (Debian's nginx and libnginx-mod-http-lua, or OpenResty), on <see cref="DiffOptions.Port"/>, in a
/// fresh server root per run (<c>TEST_NGINX_SERVROOT</c>);</item>
/// <item>APISIX files (<c>use t::APISIX</c>): prove runs in the APISIX tree (<c>--root</c>, with its
/// dependencies installed), on APISIX's runtime named by <c>TEST_NGINX_BINARY</c>, in that tree's
/// <c>t/servroot</c> and on the ports t::APISIX fixes (1984, 1980...).</item>
/// </list>
/// </summary>
public sealed class RealSide(DiffOptions options)
{
    public static readonly string[] DebianModules =
        ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"];

    public const string Apt = "apt-get install nginx libnginx-mod-http-lua lua-resty-core libtest-base-perl "
                              + "libtest-longstring-perl liblist-moreutils-perl libtext-diff-perl libhttp-message-perl "
                              + "liburi-perl libipc-run-perl libwww-perl";

    /// <summary>The capture module's directory: tools/perl beside the runner.</summary>
    public static string CaptureModuleDir => Path.Combine(AppContext.BaseDirectory, "tools", "perl");

    public static string CaptureModulePath => Path.Combine(CaptureModuleDir, "TestNginxCapture.pm");

    // ---- set-up checks ------------------------------------------------------------------------

    /// <summary>The lib directory of a Test::Nginx checkout (the dir itself or its lib/).</summary>
    public static string FindTestNginxLib(string? given)
    {
        var cand = given ?? Environment.GetEnvironmentVariable("TEST_NGINX_LIB");
        if (string.IsNullOrEmpty(cand))
            throw new DiffSetupException("Test::Nginx not given: pass --test-nginx DIR (a checkout: git clone "
                                         + "https://github.com/openresty/test-nginx) or set TEST_NGINX_LIB");
        foreach (var lib in new[] { Path.Combine(cand, "lib"), cand })
            if (File.Exists(Path.Combine(lib, "Test", "Nginx", "Socket", "Lua.pm"))) return Path.GetFullPath(lib);
        throw new DiffSetupException($"Test::Nginx not found at {cand} (no lib/Test/Nginx/Socket/Lua.pm): git clone "
                                     + "https://github.com/openresty/test-nginx and pass its path");
    }

    /// <summary>The nginx binary: --nginx, else $TEST_NGINX_BINARY, else nginx on PATH or /usr/sbin/nginx.</summary>
    public static string FindNginx(string? given)
    {
        var cand = given ?? Environment.GetEnvironmentVariable("TEST_NGINX_BINARY");
        if (!string.IsNullOrEmpty(cand))
        {
            var path = cand.Contains('/') ? cand : Which(cand) ?? cand;
            if (!File.Exists(path)) throw new DiffSetupException($"nginx not found at {cand}: install it (Debian: {Apt})");
            return Path.GetFullPath(path);
        }
        return Which("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx"
            : throw new DiffSetupException($"nginx not found on PATH or at /usr/sbin/nginx: install it (Debian: {Apt})"));
    }

    /// <summary>Dynamic modules to load: --modules, else none when nginx has Lua built in, else Debian's two.</summary>
    public static List<string> FindModules(string? given, string nginx)
    {
        if (given != null)
        {
            var mods = given.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
            var missing = mods.Where(m => !File.Exists(m)).ToList();
            if (missing.Count > 0) throw new DiffSetupException($"nginx module not found: {string.Join(" ", missing)} (Debian: {Apt})");
            return mods;
        }
        var (code, v) = RunQuick(nginx, ["-V"]);
        if (code == -1) throw new DiffSetupException($"cannot run {nginx} -V: {v}");
        if (v.Contains("lua-nginx-module") || v.Contains("ngx_lua") || v.Contains("openresty", StringComparison.OrdinalIgnoreCase)) return [];
        var absent = DebianModules.Where(m => !File.Exists(m)).ToList();
        if (absent.Count > 0)
            throw new DiffSetupException($"nginx has no Lua module ({string.Join(" ", absent)} missing): install "
                                         + $"libnginx-mod-http-lua (Debian: {Apt}) or pass --modules");
        return [.. DebianModules];
    }

    /// <summary>prove on PATH and Test::Nginx loading from <paramref name="lib"/>.</summary>
    public static string CheckPerl(string lib)
    {
        var prove = Which("prove") ?? throw new DiffSetupException($"prove not found on PATH: install Perl (Debian: {Apt})");
        var (code, output) = RunQuick("perl", ["-I" + lib, "-MTest::Nginx::Socket::Lua", "-MJSON::PP", "-e", "1"]);
        if (code != 0)
        {
            var m = System.Text.RegularExpressions.Regex.Match(output, @"Can't locate (\S+)\.pm");
            var what = m.Success ? $"Perl module {m.Groups[1].Value.Replace('/', ':').Replace(":", "::")} missing"
                : $"Test::Nginx does not load ({output.Trim().Split('\n')[0]})";
            throw new DiffSetupException($"{what}: install the Perl deps (Debian: {Apt})");
        }
        if (!File.Exists(CaptureModulePath))
            throw new DiffSetupException($"the capture module is missing beside the runner: {CaptureModulePath} (rebuild Apisix.TestNginx)");
        return prove;
    }

    public static bool PortFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            l.Start();
            l.Stop();
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>After a run nginx may take a moment to release its port: wait up to 5 s.</summary>
    public static void WaitPortFree(int port)
    {
        var sw = Stopwatch.StartNew();
        while (!PortFree(port) && sw.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(100);
    }

    // ---- running --------------------------------------------------------------------------------

    /// <summary>The file's run, or its cached copy (--real-cache): keyed by the file's bytes, the mode, the real side's set-up and TEST_NGINX_* environment.</summary>
    public RealRun Run(string path, bool apisix, bool hup)
    {
        if (options.RealCache == null) return RunUncached(path, apisix, hup);
        var key = CacheKey(path, apisix, hup);
        var cached = Path.Combine(options.RealCache, $"{Path.GetFileName(path)}-{key}.json");
        if (File.Exists(cached))
        {
            try
            {
                var run = JsonSerializer.Deserialize<RealRun>(File.ReadAllText(cached))!;
                run.FromCache = true;
                return run;
            }
            catch (JsonException) { /* a broken cache entry: run again */ }
        }
        if (options.RealCacheOnly)
            throw new InvalidOperationException($"no cached run of {path} in {options.RealCache} for this set-up (--real-cache-only)");
        var fresh = RunUncached(path, apisix, hup);
        if (!fresh.TimedOut)
        {
            Directory.CreateDirectory(options.RealCache);
            File.WriteAllText(cached, JsonSerializer.Serialize(fresh));
        }
        return fresh;
    }

    public string CacheKey(string path, bool apisix, bool hup)
    {
        var parts = new List<string>
        {
            Convert.ToBase64String(SHA256.HashData(File.ReadAllBytes(path))),
            Convert.ToBase64String(SHA256.HashData(File.ReadAllBytes(CaptureModulePath))),
            apisix ? "apisix" : "plain", hup ? "hup" : "default", options.Nginx ?? "", string.Join(" ", options.Modules),
            options.Port.ToString(), options.Root, string.Join(";", options.LuaPaths),
        };
        // plain files gained prove -I.: only those loading a t::X helper run differently with it, so
        // only their earlier cached runs (dead on "Can't locate t/X.pm") are left behind
        if (!apisix && System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(path), @"^\s*use\s+t::", System.Text.RegularExpressions.RegexOptions.Multiline))
            parts.Add("prove -I.");
        // the real server root became .../servroot: runs of files that look at its name are stale
        if (!apisix && File.ReadAllText(path).Contains("servroot", StringComparison.Ordinal))
            parts.Add("servroot named servroot");
        foreach (var (k, v) in Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                     .Select(e => ((string)e.Key, (string?)e.Value ?? "")).Where(e => e.Item1.StartsWith("TEST_NGINX_", StringComparison.Ordinal))
                     .OrderBy(e => e.Item1, StringComparer.Ordinal))
            parts.Add(k + "=" + v);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", parts))))[..24].ToLowerInvariant();
    }

    private RealRun RunUncached(string path, bool apisix, bool hup)
    {
        var capture = Path.Combine(Path.GetTempPath(), $"diff-capture-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
        string? servroot = null;
        var psi = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = options.Root,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // stdout and stderr in one stream, in the order prove and the test print them
        foreach (var a in new[] { "-c", "exec \"$@\" 2>&1", "sh", options.Prove!, "-v", "--nocolor" })
            psi.ArgumentList.Add(a);
        // plain files: prove -I. -I<lib>, as lua-nginx-module's CI runs it, so a file that uses a t::X
        // helper (t::StapThread) finds it under the current directory, which Perl no longer searches
        if (!apisix) psi.ArgumentList.Add("-I.");
        psi.ArgumentList.Add("-I" + options.TestNginxLib!);
        if (apisix) psi.ArgumentList.Add("-I.");
        // relative to where prove runs, so TAP names read as in a plain run (t/x.t TEST 1: ...)
        var rel = Path.GetRelativePath(options.Root, Path.GetFullPath(path, options.Root));
        psi.ArgumentList.Add(rel.StartsWith("..", StringComparison.Ordinal) ? path : rel);

        var env = psi.Environment;
        env["TEST_NGINX_NO_SHUFFLE"] = "1";
        env.Remove("TEST_NGINX_USE_HUP");
        if (hup)
        {
            // Test::Nginx reloads nginx with SIGHUP between blocks; that needs the master process
            env["TEST_NGINX_USE_HUP"] = "1";
            env["TEST_NGINX_MASTER_PROCESS"] = "on";
        }
        env["TEST_NGINX_CAPTURE"] = capture;
        var perl5opt = $"-I{CaptureModuleDir} -MTestNginxCapture";
        env["PERL5OPT"] = env.TryGetValue("PERL5OPT", out var existing) && !string.IsNullOrEmpty(existing) ? existing + " " + perl5opt : perl5opt;
        if (options.Nginx != null)
        {
            env["TEST_NGINX_BINARY"] = options.Nginx;
            env["PATH"] = Path.GetDirectoryName(options.Nginx) + ":" + (env.TryGetValue("PATH", out var p) ? p : "");
        }
        if (!apisix)
        {
            // a fresh directory per run, still named servroot as Test::Nginx's t/servroot is: tests
            // match paths against /servroot(_N)?/ (004-require.t's package.path, for one)
            servroot = Path.Combine(Directory.CreateTempSubdirectory("diff-").FullName, "servroot");
            Directory.CreateDirectory(servroot);
            env["TEST_NGINX_SERVROOT"] = servroot;
            env["TEST_NGINX_PORT"] = options.Port.ToString();
            env["TEST_NGINX_SERVER_PORT"] = options.Port.ToString();
            if (options.Modules.Count > 0) env["TEST_NGINX_LOAD_MODULES"] = string.Join(" ", options.Modules);
            else env.Remove("TEST_NGINX_LOAD_MODULES");
        }
        else servroot = Path.Combine(options.Root, "t", "servroot");
        if (options.LuaPaths.Count > 0)
        {
            env["TEST_NGINX_INIT_BY_LUA"] = $"package.path = '{LuaPathPrefix(options.LuaPaths)}' .. package.path";
            env["TEST_NGINX_LUA_PACKAGE_PATH"] = LuaPathPrefix(options.LuaPaths) + ";";
        }

        var run = new RealRun { Servroot = servroot };
        var sw = Stopwatch.StartNew();
        try
        {
            using var proc = Process.Start(psi)!;
            proc.StandardInput.Close();
            var lines = new List<string>();
            var reader = Task.Run(() =>
            {
                // bytes as Latin-1, so a body with invalid UTF-8 in a diagnostic survives
                using var r = new StreamReader(proc.StandardOutput.BaseStream, Encoding.Latin1);
                while (r.ReadLine() is { } line) lock (lines) lines.Add(line);
            });
            if (!proc.WaitForExit(TimeSpan.FromSeconds(options.Timeout)))
            {
                run.TimedOut = true;
                try { proc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                proc.WaitForExit();
            }
            reader.Wait(TimeSpan.FromSeconds(10));
            run.ExitCode = run.TimedOut ? -1 : proc.ExitCode;
            lock (lines) run.Output = lines.Select(l => Reporting.ByteStrings.ToText(l)).ToList();
        }
        finally
        {
            run.Wall = sw.Elapsed.TotalSeconds;
            StopLeftoverNginx(servroot);
            if (File.Exists(capture))
            {
                run.Capture = File.ReadAllLines(capture, Encoding.UTF8).ToList();
                File.Delete(capture);
            }
            if (!apisix && !options.Keep && servroot != null)
                try { Directory.Delete(Path.GetDirectoryName(servroot)!, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return run;
    }

    public static string LuaPathPrefix(IEnumerable<string> dirs) =>
        string.Concat(dirs.Select(Path.GetFullPath).Select(d => $"{d}/?.lua;{d}/?/init.lua;"));

    /// <summary>Test::Nginx stops its nginx at the end; if prove was killed, stop the one it left (by its pid file).</summary>
    private static void StopLeftoverNginx(string? servroot)
    {
        if (servroot == null) return;
        var pidFile = Path.Combine(servroot, "logs", "nginx.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)) return;
        try
        {
            using var p = Process.GetProcessById(pid);
            if (!p.ProcessName.Contains("nginx", StringComparison.Ordinal) && !p.ProcessName.Contains("openresty", StringComparison.Ordinal)) return;
            p.Kill();
            p.WaitForExit(3000);
        }
        catch (ArgumentException) { }
        catch (InvalidOperationException) { }
    }

    private static string? Which(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = Path.Combine(dir, name);
            if (File.Exists(f)) return f;
        }
        return null;
    }

    private static (int Code, string Output) RunQuick(string file, IEnumerable<string> args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(30000)) { p.Kill(true); return (-1, "timed out"); }
            return (p.ExitCode, o.Result + e.Result);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}
