using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// Everything one block runs against, as a layer describes it before anything starts: the
/// nginx http{} configuration, the Lua modules, the worker count and log level, and hooks the
/// layer installs on the started nginx (access log, extra variables).
/// </summary>
public sealed class BlockWorld
{
    public HttpConf Conf { get; } = new();
    public LuaModules Modules { get; } = NewModules();

    /// <summary>Every world gets the standard OpenResty libraries (cjson, ngx.re, resty.http...).</summary>
    private static LuaModules NewModules()
    {
        var m = new LuaModules();
        Apisix.Core.OpenResty.Libs.StandardLibs.Register(m);
        return m;
    }
    public int Workers { get; set; } = 1;
    public LogLevel LogLevel { get; set; } = LogLevel.Debug;
    public bool LogSocketErrors { get; set; } = true;
    public int ServerPort { get; set; } = 1984;
    public string ServerName { get; set; } = "localhost";
    /// <summary>
    /// The environment as the block sees it: the file's %ENV, then the process's, with
    /// TEST_NGINX_SERVER_PORT defaulting to the server port as Test::Nginx sets it.
    /// </summary>
    public Func<string, string?> Environment { get; set; } = RunEnvironment.Get;
    /// <summary>Why the block cannot run here (skipped with this reason), or null.</summary>
    public string? SkipReason { get; set; }
    /// <summary>
    /// Set while the block runs when it tried to reach something this machine cannot (a public
    /// provider on the internet): if the block then fails, it is skipped with this reason instead.
    /// </summary>
    public string? SkipIfFailed { get; set; }
    /// <summary>Lines of the access log, in order.</summary>
    public List<string> AccessLog { get; } = new();
    /// <summary>Called once the nginx is built, before it starts.</summary>
    public List<Action<Nginx>> OnNginx { get; } = new();
    /// <summary>Called when the block ends, after the nginx stopped.</summary>
    public List<Func<Task>> OnStop { get; } = new();
}
