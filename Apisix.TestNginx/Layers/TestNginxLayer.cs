using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Runner;

namespace Apisix.TestNginx.Layers;

/// <summary>
/// Test::Nginx::Socket(::Lua) itself: a block's `http_config` at http level, its `config` inside
/// `server { listen 1984; server_name localhost; }`, `init_by_lua(_block)`, the file's log level
/// (debug by default) and worker count. No request is sent unless the block has one.
/// Layers such as t::APISIX derive from this and add their defaults in one place.
/// </summary>
public class TestNginxLayer(string root)
{
    public string Root { get; } = root;

    /// <summary>An environment variable as the file sees it: its BEGIN block's %ENV first, then the process's.</summary>
    public static string? Env(TestFile file, string name) => Env(file, name, RunEnvironment.Get);

    private static string? Env(TestFile file, string name, Func<string, string?> ambient) =>
        file.Settings.Env.TryGetValue(name, out var v) ? v : ambient(name);

    /// <summary>
    /// The log_level() a layer's Perl module calls when it is used (t::APISIX: info), or null.
    /// Like the file's own call, it wins over TEST_NGINX_LOG_LEVEL; a later call in the file wins over it.
    /// </summary>
    protected virtual string? ModuleLogLevel => null;

    /// <summary>Defaults this layer injects into a block after the file's preprocessors ran.</summary>
    public virtual void Preprocess(TestBlock block, TestFile file) { }

    /// <summary>Describe the world for a block.</summary>
    /// <summary>
    /// Test::Nginx::Socket sections this runner does not implement: a block using one is skipped
    /// with this reason rather than run without it.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> UnsupportedSections = new Dictionary<string, string>
    {
        ["curl"] = "requests sent with curl",
        ["http2"] = "HTTP/2",
        ["http3"] = "HTTP/3",
        ["raw_request_middle_delay"] = "delays between request packets",
    };

    /// <summary>Why the block cannot run here because of a section it uses, or null.</summary>
    public static string? UnsupportedSection(TestBlock block) =>
        UnsupportedSections.Where(kv => block.Has(kv.Key))
            .Select(kv => $"--- {kv.Key} ({kv.Value}) is not supported by this runner").FirstOrDefault();

    public virtual void Build(BlockWorld world, TestBlock block, TestFile file)
    {
        world.SkipReason ??= UnsupportedSection(block) ?? MockTcpServer.Unsupported(block) ?? MockUdpServer.Unsupported(block);
        world.Workers = Math.Max(1, file.Settings.Workers);
        // Test::Nginx: a block's `--- log_level` over log_level() calls (the file's, then its layer
        // module's) over TEST_NGINX_LOG_LEVEL over debug
        world.LogLevel = ErrorLog.Parse(block.Text("log_level")?.Trim() is { Length: > 0 } blockLevel ? blockLevel
            : file.Settings.LogLevel ?? ModuleLogLevel ?? Env(file, "TEST_NGINX_LOG_LEVEL") ?? "debug");
        if (int.TryParse(Env(file, "TEST_NGINX_SERVER_PORT") ?? Env(file, "TEST_NGINX_PORT"), out var port)) world.ServerPort = port;
        var serverPort = world.ServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var ambient = RunEnvironment.Capture(); // Lua reads it later, on the worker's threads
        world.Environment = name => Env(file, name, ambient) ?? (name == "TEST_NGINX_SERVER_PORT" ? serverPort : null);
        world.Modules.Environment = name => Env(file, name, ambient);
        world.Modules.PackagePath.Add(Path.Combine(Root, "t", "?.lua"));
        world.Modules.PackagePath.Add(Path.Combine(Root, "t", "?", "init.lua"));

        AddUserFiles(world, block, file); // written before nginx reads its conf: an `include` may name one

        var main = Section(world, block, file, "main_config");
        var http = Section(world, block, file, "http_config");
        var layout = new ConfLayout(file.Settings.EnvToNginx.Count, main, http);
        if (main != null)
            AddMain(world, NginxConfParser.Parse(main, ConfPath, layout.MainLine, ReadConfFile(world)));
        if (http != null)
            HttpConfBuilder.AddHttpDirectives(world.Conf, NginxConfParser.Parse(http, ConfPath, layout.HttpLine, ReadConfFile(world)));
        if (world.Conf.LuaPackagePath is { } luaPath)
            world.Modules.PackagePath.InsertRange(0, luaPath.Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Replace("$prefix", TestNginxPaths.ServerRoot(Root), StringComparison.Ordinal)));
        // a plain Test::Nginx nginx.conf has no resolver unless the block writes one (t::APISIX's has)
        if (GetType() == typeof(TestNginxLayer))
        {
            world.Conf.HasResolver ??= false;
            // ngx.config's versions: a plain Test::Nginx file stands for Debian's nginx + ngx_lua (what
            // `diff` compares it with); t::APISIX keeps APISIX's runtime, HttpConf's default
            world.Conf.Runtime = NginxRuntime.DebianNginxLua;
            // package.path and package.cpath as lua-nginx-module sets them from the directives
            var prefix = TestNginxPaths.ServerRoot(Root);
            if (world.Conf.LuaPackagePath is { } shownPath)
                world.Modules.VisiblePath = LuaModules.ExpandDefault(shownPath.Replace("$prefix", prefix, StringComparison.Ordinal), LuaModules.DefaultPath);
            if (world.Conf.LuaPackageCpath is { } shownCpath)
                world.Modules.VisibleCpath = LuaModules.ExpandDefault(shownCpath.Replace("$prefix", prefix, StringComparison.Ordinal), LuaModules.DefaultCpath);
        }
        if (Section(world, block, file, "init_by_lua_block") is { } init)
            world.Conf.InitByLua.Add(new LuaChunk(init, "init_by_lua(nginx.conf:1)", 1));
        if (Section(world, block, file, "init_by_lua") is { } init2)
            world.Conf.InitByLua.Add(new LuaChunk(init2, "init_by_lua(nginx.conf:1)", 1));

        var server = new ServerConf();
        server.Listens.Add(new ListenSpec(System.Net.IPAddress.Any, world.ServerPort));
        server.ServerNames.Add(world.ServerName);
        if (Section(world, block, file, "config") is { } config)
            HttpConfBuilder.AddServerDirectives(world.Conf, server, NginxConfParser.Parse(config, ConfPath, layout.ConfigLine, ReadConfFile(world)));
        if (world.Conf.LuaSocketLogErrors is { } logSocketErrors) world.LogSocketErrors = logSocketErrors;
        server.DefaultType ??= world.Conf.DefaultType ?? "text/plain"; // Test::Nginx's http{} has `default_type text/plain;`
        world.Conf.Servers.Insert(0, server);
        // Test::Nginx writes html/index.html into the server root for every block
        world.Conf.Files[Path.Combine(HtmlDir, "index.html")] = IndexHtml;
        if (AddsRootLocation(file))
            server.AddLocation(new LocationConf { Modifier = "", Pattern = "/", Root = HtmlDir, Index = ["index.html", "index.htm"] },
                "nginx.conf (Test::Nginx's root location; the file may call no_root_location())");
        // Test::Nginx's http{} has `access_log logs/access.log;`: every server, nginx's combined format
        world.OnNginx.Add(nginx => nginx.OnLog = req =>
        {
            lock (world.AccessLog) world.AccessLog.Add(AccessLogFormat.Format(req, AccessLogFormat.Combined));
        });
        ConfigureMainServer(world, server, block, file);
    }

    /// <summary>The server root's html directory (nginx's prefix is t/servroot).</summary>
    protected string HtmlDir => TestNginxPaths.HtmlDir(Root);

    private static readonly byte[] IndexHtml =
        System.Text.Encoding.ASCII.GetBytes("<html><head><title>It works!</title></head><body>It works!</body></html>");

    /// <summary>
    /// Whether Test::Nginx appends its `location / { root html; index index.html index.htm; }` to
    /// the 1984 server: unless the file called no_root_location(). t::APISIX calls it itself.
    /// </summary>
    protected virtual bool AddsRootLocation(TestFile file) =>
        !file.Settings.NoRootLocation && file.Settings.Module.StartsWith("Test::Nginx", StringComparison.Ordinal);

    /// <summary>
    /// A section that becomes nginx configuration, with <c>$TEST_NGINX_*</c> expanded as
    /// Test::Nginx expands them (a variable that is not set fails the block).
    /// </summary>
    protected static string? Section(BlockWorld world, TestBlock block, TestFile file, string name) =>
        block.Text(name) is { } text ? TestNginxEnv.Expand(text, file.Path, block.Name, world.Environment) : null;

    /// <summary>Where a layer adds its own locations to the 1984 server.</summary>
    protected virtual void ConfigureMainServer(BlockWorld world, ServerConf server, TestBlock block, TestFile file) { }

    /// <summary>
    /// `--- user_files`: files Test::Nginx writes before nginx starts, under html/ unless the name is
    /// absolute; a text of `>>> name [date]` headers each followed by the body, or an eval'd array of
    /// [name, body, date]. They are kept in memory (<see cref="HttpConf.Files"/>), where the static
    /// module, `*_by_lua_file` and `require` look first, so files running in parallel share nothing.
    /// </summary>
    /// <summary>What `include` reads: a user file of the block (kept in memory), else the disk.</summary>
    private static Func<string, string?> ReadConfFile(BlockWorld world) => path =>
        world.Conf.ReadFile(path) is { } bytes ? System.Text.Encoding.Latin1.GetString(bytes) : null;

    private void AddUserFiles(BlockWorld world, TestBlock block, TestFile file)
    {
        var files = new List<(string Name, string Body)>();
        switch (block.Get("user_files"))
        {
            case null: return;
            case PerlArray list:
                foreach (var item in list.Items)
                {
                    if (item is not PerlArray entry || entry.Items.Count == 0)
                        throw new TestFileException(file.Path, block.Line, $"{block.Name} - --- user_files: each entry must be [name, body, date]");
                    files.Add((entry.Items[0].ToString(), entry.Items.Count > 1 ? entry.Items[1].ToString() : ""));
                }
                break;
            case var text:
                string? name = null;
                var body = new System.Text.StringBuilder();
                foreach (var line in SplitKeepingNewlines(text.ToString()))
                {
                    var m = System.Text.RegularExpressions.Regex.Match(line, @">>> (\S+)");
                    if (!m.Success) { body.Append(line); continue; }
                    if (name != null) files.Add((name, body.ToString()));
                    name = m.Groups[1].Value;
                    body.Clear();
                }
                if (name != null) files.Add((name, body.ToString()));
                break;
        }
        foreach (var (name, body) in files)
        {
            var path = name.StartsWith('/') ? name : Path.Combine(HtmlDir, name);
            var expanded = TestNginxEnv.Expand(body, file.Path, block.Name, world.Environment);
            world.Conf.Files[path] = System.Text.Encoding.Latin1.GetBytes(expanded);
        }
    }

    private static IEnumerable<string> SplitKeepingNewlines(string text)
    {
        var start = 0;
        while (start < text.Length)
        {
            var nl = text.IndexOf('\n', start);
            var end = nl < 0 ? text.Length : nl + 1;
            yield return text[start..end];
            start = end;
        }
    }

    /// <summary>The nginx.conf Test::Nginx writes, as nginx names it in messages.</summary>
    protected string ConfPath => Path.Combine(TestNginxPaths.ServerRoot(Root), "conf", "nginx.conf");

    // main-level directives whose effect the emulation does not model (process and worker tuning)
    private static readonly HashSet<string> MainNoEffect =
    [
        "worker_rlimit_core", "worker_rlimit_nofile", "thread_pool", "worker_shutdown_timeout", "timer_resolution",
        "pcre_jit", "working_directory", "load_module", "lua_shared_dict_zone_lock",
    ];

    private static void AddMain(BlockWorld world, IReadOnlyList<Directive> directives)
    {
        foreach (var d in directives)
        {
            if (d.Name == "env")
            {
                if (d.Arg(0).Contains('='))
                {
                    // what the workers see (os.getenv), not the process: other runs share it
                    var kv = d.Arg(0).Split('=', 2);
                    world.Modules.SetEnv(kv[0], kv[1]);
                }
                continue;
            }
            if (!MainNoEffect.Contains(d.Name)) throw new UnknownDirectiveException(d);
            world.Conf.Ignored.Add($"{d.Name} ({d.Source}:{d.Line})");
        }
    }

    /// <summary>
    /// Where each section lands in the nginx.conf Test::Nginx writes (its fixed lines: worker and
    /// error-log settings, seven `env` lines, one per env_to_nginx(), then main_config, the http{}
    /// head, http_config, the 1984 server's head, then config), so directives and inline Lua chunks
    /// carry the line numbers real nginx gives them.
    /// </summary>
    private readonly record struct ConfLayout(int EnvCount, string? Main, string? Http)
    {
        private int Base => 13 + EnvCount;
        private static int Lines(string? text) => text?.Count(c => c == '\n') ?? 0;
        public int MainLine => Base + 3;
        public int HttpLine => Base + 12 + Lines(Main);
        public int ConfigLine => Base + 26 + Lines(Main) + Lines(Http);
    }
}
