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
    public static string? Env(TestFile file, string name) =>
        file.Settings.Env.TryGetValue(name, out var v) ? v : Environment.GetEnvironmentVariable(name);

    /// <summary>
    /// The log_level() a layer's Perl module calls when it is used (t::APISIX: info), or null.
    /// Like the file's own call, it wins over TEST_NGINX_LOG_LEVEL; a later call in the file wins over it.
    /// </summary>
    protected virtual string? ModuleLogLevel => null;

    /// <summary>Defaults this layer injects into a block after the file's preprocessors ran.</summary>
    public virtual void Preprocess(TestBlock block, TestFile file) { }

    /// <summary>Describe the world for a block.</summary>
    public virtual void Build(BlockWorld world, TestBlock block, TestFile file)
    {
        world.Workers = Math.Max(1, file.Settings.Workers);
        // Test::Nginx: a block's `--- log_level` over log_level() calls (the file's, then its layer
        // module's) over TEST_NGINX_LOG_LEVEL over debug
        world.LogLevel = ErrorLog.Parse(block.Text("log_level")?.Trim() is { Length: > 0 } blockLevel ? blockLevel
            : file.Settings.LogLevel ?? ModuleLogLevel ?? Env(file, "TEST_NGINX_LOG_LEVEL") ?? "debug");
        if (int.TryParse(Env(file, "TEST_NGINX_SERVER_PORT") ?? Env(file, "TEST_NGINX_PORT"), out var port)) world.ServerPort = port;
        var serverPort = world.ServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        world.Environment = name => Env(file, name) ?? (name == "TEST_NGINX_SERVER_PORT" ? serverPort : null);
        world.Modules.PackagePath.Add(Path.Combine(Root, "t", "?.lua"));
        world.Modules.PackagePath.Add(Path.Combine(Root, "t", "?", "init.lua"));

        if (Section(world, block, file, "main_config") is { } main)
            NoteIgnored(world, NginxConfParser.Parse(main, "nginx.conf"));
        if (Section(world, block, file, "http_config") is { } http)
            AddHttp(world, http);
        if (Section(world, block, file, "init_by_lua_block") is { } init)
            world.Conf.InitByLua.Add(new LuaChunk(init, "init_by_lua(nginx.conf:1)", 1));
        if (Section(world, block, file, "init_by_lua") is { } init2)
            world.Conf.InitByLua.Add(new LuaChunk(init2, "init_by_lua(nginx.conf:1)", 1));

        var server = new ServerConf();
        server.Listens.Add(new ListenSpec(System.Net.IPAddress.Any, world.ServerPort));
        server.ServerNames.Add(world.ServerName);
        if (Section(world, block, file, "config") is { } config)
            HttpConfBuilder.AddServerDirectives(world.Conf, server, NginxConfParser.Parse(config, "nginx.conf"));
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

    protected static void AddHttp(BlockWorld world, string text) =>
        HttpConfBuilder.AddHttpDirectives(world.Conf, NginxConfParser.Parse(text, "nginx.conf"));

    private static void NoteIgnored(BlockWorld world, IReadOnlyList<Directive> directives)
    {
        foreach (var d in directives)
        {
            if (d.Name == "env" && d.Arg(0).Contains('='))
            {
                var kv = d.Arg(0).Split('=', 2);
                Environment.SetEnvironmentVariable(kv[0], kv[1]);
                continue;
            }
            if (d.Name is "env" or "worker_rlimit_core" or "thread_pool") continue;
            world.Conf.Ignored.Add($"{d.Name} (main_config)");
        }
    }
}
