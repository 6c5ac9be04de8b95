using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Perl;

/// <summary>
/// The functions and modules a .t preamble may call, bound to one file's settings.
/// They only record what the file asked for; building and running happen in later rooms.
/// </summary>
public static class TestNginxFunctions
{
    // Pragmas and helpers that change nothing we model.
    private static readonly HashSet<string> IgnoredModules = ["strict", "warnings", "utf8", "lib", "Cwd"];

    // Helper modules beside a file's test module, not test modules themselves: lua-nginx-module's
    // t::StapThread only exports systemtap scripts ($t::StapThread::GCScript) for --- stap sections.
    private static readonly HashSet<string> HelperModules = ["t::StapThread"];

    /// <param name="preprocessors">Receives <c>add_block_preprocessor</c> subs in run order (LIFO: each new one goes first).</param>
    /// <param name="blockCount">What <c>blocks()</c> returns, e.g. in <c>plan tests =&gt; blocks() * 2</c>.</param>
    public static void Install(PerlInterpreter perl, TestFile file, List<PerlCode> preprocessors, int blockCount)
    {
        var settings = file.Settings;
        perl.Print = settings.Printed.Add;
        perl.UseHandler = (module, args, line) =>
        {
            if (IgnoredModules.Contains(module) || HelperModules.Contains(module)) return;
            if (!module.StartsWith("Test::Nginx", StringComparison.Ordinal) && !module.StartsWith("t::", StringComparison.Ordinal))
                throw new PerlException(line, $"unsupported module 'use {module}'");
            settings.Module = module;
            if (args.Count > 0) SetPlan(settings, PlanText(args, line));
        };

        var f = perl.Functions;
        f["log_level"] = (a, l) => Set(a, l, 1, () => settings.LogLevel = Str(a[0], l));
        f["repeat_each"] = (a, l) => a.Count == 0
            ? Num(settings.RepeatEach)
            : Set(a, l, 1, () => settings.RepeatEach = Int(a[0], l));
        f["workers"] = (a, l) => Set(a, l, 1, () => settings.Workers = Int(a[0], l));
        f["worker_connections"] = (a, l) => Set(a, l, 1, () => settings.WorkerConnections = Int(a[0], l));
        f["no_long_string"] = (a, l) => Set(a, l, 0, () => settings.NoLongString = true);
        f["no_diff"] = (a, l) => Set(a, l, 0, () => settings.NoDiff = true);
        f["no_shuffle"] = (a, l) => Set(a, l, 0, () => settings.NoShuffle = true);
        f["no_root_location"] = (a, l) => Set(a, l, 0, () => settings.NoRootLocation = true);
        f["check_accum_error_log"] = (a, l) => Set(a, l, 0, () => settings.CheckAccumErrorLog = true);
        f["master_on"] = (a, l) => Set(a, l, 0, () => settings.MasterOn = true);
        // HUP mode needs nginx's master process, so Test::Nginx turns it on there
        f["master_process_enabled"] = (a, l) => a.Count == 1
            ? Set(a, l, 1, () => settings.MasterOn = PerlOps.Truthy(a[0]))
            : NoArgs(a, l, PerlOps.Bool(settings.MasterOn == true || settings.UseHup || perl.GetEnv("TEST_NGINX_USE_HUP") is "1"));
        f["master_off"] = (a, l) => Set(a, l, 0, () => settings.MasterOn = false);
        f["env_to_nginx"] = (a, _) =>
        {
            settings.EnvToNginx.AddRange(a.Select(v => Str(v, 0)));
            return PerlValue.Undef;
        };
        f["run_tests"] = (a, l) => Set(a, l, 0, () => settings.RunTestsCalled = true);
        f["plan"] = (a, l) =>
        {
            SetPlan(settings, PlanText(a, l));
            return PerlValue.Undef;
        };
        f["blocks"] = (a, l) => NoArgs(a, l, Num(blockCount));
        f["cwd"] = (a, l) => NoArgs(a, l, new PerlString(perl.RootDir));
        f["use_hup"] = (a, l) => Set(a, l, 0, () => settings.UseHup = true);
        f["server_root"] = (a, l) => NoArgs(a, l, new PerlString(TestNginxPaths.ServerRoot(perl.RootDir)));
        f["html_dir"] = (a, l) => NoArgs(a, l, new PerlString(TestNginxPaths.HtmlDir(perl.RootDir)));
        // Test::Nginx unshifts handlers: the last registered runs first
        f["add_cleanup_handler"] = (a, l) =>
        {
            var code = OneSub(a, l, "add_cleanup_handler");
            file.CleanupHandlers.Insert(0, () => CallHandler(perl, file, code, "cleanup handler"));
            return PerlValue.Undef;
        };
        f["add_test_cleanup_handler"] = (a, l) =>
        {
            var code = OneSub(a, l, "add_test_cleanup_handler");
            file.TestCleanupHandlers.Insert(0, block => CallHandler(perl, file, code, "test cleanup handler", new PerlBlockObject(block)));
            return PerlValue.Undef;
        };
        // t::APISIX::read_file("conf/x"): the file under $ENV{APISIX_HOME} || cwd(), whole
        f["t::APISIX::read_file"] = (a, l) =>
        {
            if (a.Count != 1) throw new PerlException(l, $"expected 1 argument(s), got {a.Count}");
            var name = Str(a[0], l);
            var home = perl.GetEnv("APISIX_HOME") is { Length: > 0 } h ? h : perl.RootDir;
            try
            {
                return new PerlString(System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(home, name))));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PerlException(l, $"cannot open {name} for reading: {e.Message}", died: true);
            }
        };
        f["add_block_preprocessor"] = (a, l) =>
        {
            if (a is not [PerlCode code]) throw new PerlException(l, "add_block_preprocessor needs one sub { ... }");
            preprocessors.Insert(0, code); // Test::Nginx unshifts: the last registered runs first
            return PerlValue.Undef;
        };
    }

    private static PerlCode OneSub(IReadOnlyList<PerlValue> args, int line, string function) =>
        args is [PerlCode code] ? code : throw new PerlException(line, $"{function} needs one sub {{ ... }}");

    private static void CallHandler(PerlInterpreter perl, TestFile file, PerlCode code, string what, params PerlValue[] args)
    {
        try { perl.Call(code, args); }
        catch (PerlException e) { throw TestFileException.FromPerl(file.Path, e, what); }
    }

    // Test::More's plan skip_all exits: nothing after it in the preamble runs.
    private static void SetPlan(FileSettings settings, string plan)
    {
        settings.Plan = plan;
        if (plan.StartsWith("skip_all", StringComparison.Ordinal)) throw new PerlExit();
    }

    // Validates the argument count, then applies the setting.
    private static PerlValue Set(IReadOnlyList<PerlValue> args, int line, int count, Action apply)
    {
        if (args.Count != count) throw new PerlException(line, $"expected {count} argument(s), got {args.Count}");
        apply();
        return PerlValue.Undef;
    }

    private static PerlValue NoArgs(IReadOnlyList<PerlValue> args, int line, PerlValue result) =>
        args.Count == 0 ? result : throw new PerlException(line, $"expected no arguments, got {args.Count}");

    private static string PlanText(IReadOnlyList<PerlValue> args, int line) => args switch
    {
        [var single] => Str(single, line),
        [var key, var value] => $"{Str(key, line)} => {Str(value, line)}",
        _ => throw new PerlException(line, "unsupported test plan (expected 'no_plan', tests => N or skip_all => REASON)"),
    };

    private static string Str(PerlValue v, int line) => PerlOps.Str(v, line);

    private static int Int(PerlValue v, int line) => (int)PerlOps.Num(v, line);

    private static PerlValue Num(int n) => new PerlString(n.ToString());
}
