using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Apisix.Core.OpenResty;

/// <summary>
/// One emulated nginx: its http{} configuration, error log, shared dicts and workers, serving the
/// requests that reach its listens on a <see cref="LoopbackNetwork"/>. Built and started per test
/// block (nginx restarts between blocks), disposed with everything it started.
/// </summary>
public sealed class Nginx : IAsyncDisposable
{
    private static int _nextPid = 1000;
    private readonly int _basePid = Interlocked.Add(ref _nextPid, 16);
    private long _connections;
    private int _nextWorker;

    public Nginx(HttpConf conf, LoopbackNetwork network, ErrorLog errorLog, LuaModules modules, string prefix, int workers = 1)
    {
        Conf = conf;
        Network = network;
        ErrorLog = errorLog;
        Modules = modules;
        Prefix = prefix;
        foreach (var (name, size) in conf.SharedDicts) SharedDicts[name] = new SharedDict(name, size);
        TcpConnectAsync = (host, port, _) =>
        {
            var (stream, err) = network.Connect(host, port);
            return stream != null ? ValueTask.FromResult(stream) : ValueTask.FromException<Stream>(new IOException(err));
        };
        for (var i = 0; i < Math.Max(1, workers); i++) Workers.Add(new LuaWorker(this, i));
    }

    public HttpConf Conf { get; }
    public LoopbackNetwork Network { get; }
    public ErrorLog ErrorLog { get; }
    public LuaModules Modules { get; }
    public string Prefix { get; }
    public List<LuaWorker> Workers { get; } = new();
    public Dictionary<string, SharedDict> SharedDicts { get; } = new(StringComparer.Ordinal);

    /// <summary>`lua_socket_log_errors`: whether failed cosocket operations log at error level.</summary>
    public bool LogSocketErrors { get; set; } = true;

    /// <summary>
    /// How C# clients (the AI transport) open TCP connections: host, port, cancellation → the
    /// connected stream. Failures throw an <see cref="IOException"/> whose message is worded as
    /// nginx words it ("connection refused"). Defaults to <see cref="Network"/>; a standalone
    /// gateway can put real sockets here.
    /// </summary>
    public Func<string, int, CancellationToken, ValueTask<Stream>> TcpConnectAsync { get; set; }

    /// <summary>Variables nginx itself does not know (APISIX's `$upstream_*`, `$llm_*`...).</summary>
    public Func<NgxRequest, string, string?>? ResolveVar { get; set; }

    /// <summary>C# work of the init_worker phase (APISIX's http_init_worker), run on each worker's loop after init_worker_by_lua.</summary>
    public List<Action<LuaWorker>> WorkerInit { get; } = new();

    /// <summary>The log phase: called for every finished request (the access log).</summary>
    public Action<NgxRequest>? OnLog { get; set; }

    public int Pid(LuaWorker w) => _basePid + w.Id;

    /// <summary>Time requests spent in `ngx.sleep` (a benchmark's "the tests' own sleeps").</summary>
    public SleepMeter RequestSleeps { get; } = new();

    private int _inFlight;

    /// <summary>Requests being served, from arrival to the end of their log phase.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    private readonly CancellationTokenSource _stopping = new();

    /// <summary>
    /// Cancelled as soon as <see cref="DisposeAsync"/> begins. Background work started for this
    /// nginx outside Lua timers (health checkers...) stops on it.
    /// </summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Start workers: load Lua, run init_by_lua then init_worker_by_lua in each; then listen.</summary>
    public async Task StartAsync()
    {
        foreach (var n in Conf.Ignored.Distinct())
            LogInternal(LogLevel.Notice, $"directive not emulated, ignored: {n}");
        foreach (var w in Workers)
        {
            await w.InitAsync();
            await w.Loop.RunAsync(async () =>
            {
                w.Phase = "init";
                foreach (var chunk in Conf.InitByLua) await RunHook(w, chunk);
                w.Phase = "init_worker";
                foreach (var chunk in Conf.InitWorkerByLua) await RunHook(w, chunk);
                foreach (var init in WorkerInit) init(w);
                w.Phase = "timer";
            });
        }
        foreach (var s in Conf.Servers)
            foreach (var l in s.Listens)
                Network.Bind(l.Address, l.Port);
    }

    private async Task RunHook(LuaWorker w, LuaChunk chunk)
    {
        LuaEntryResult r;
        try { r = await w.RunEntry(w.Chunk(chunk), null); }
        catch (Exception e) { r = new LuaEntryResult(false, false, [], e.Message, null); }
        if (!r.Ok) Log(w, LogLevel.Error, $"{chunk.ChunkName} error: {r.Error}\n{r.Traceback}", null);
    }

    public void Log(LuaWorker? w, LogLevel level, string message, NgxRequest? r)
    {
        var ctx = r == null ? "" : RequestContext(r);
        ErrorLog.Write(level, w == null ? _basePid : Pid(w), r?.Connection ?? 0, message, ctx);
    }

    public void LogInternal(LogLevel level, string message) => Log(null, level, message, null);

    private static string RequestContext(NgxRequest r)
    {
        var host = r.RequestHeader("Host");
        var server = r.Server.ServerNames.FirstOrDefault() ?? "";
        return $", client: {r.Http.Connection.RemoteIpAddress}, server: {server}, request: \"{r.Method} {r.RequestUri} {r.Protocol}\""
               + (host != null ? $", host: \"{host}\"" : "");
    }

    /// <summary>The Kestrel entry point: pick server, location and worker, and serve on that worker's loop.</summary>
    public async Task HandleAsync(HttpContext http)
    {
        var local = http.Connection.LocalIpAddress ?? System.Net.IPAddress.Loopback;
        var port = http.Connection.LocalPort;
        var server = Conf.Servers.FirstOrDefault(s => s.ListensOn(local, port));
        if (server == null)
        {
            http.Response.StatusCode = 404;
            return;
        }
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "/";
        var path = raw.Split('?')[0];
        var location = server.Match(Uri.UnescapeDataString(path));
        var worker = Workers[Interlocked.Increment(ref _nextWorker) % Workers.Count];
        var conn = Interlocked.Increment(ref _connections);
        var req = new NgxRequest(http, server, location ?? NotFound, conn) { Nginx = this, Worker = worker };
        // a regex location's captures are $1, $2... (ngx.var[1])
        if (location?.Regex?.Match(Uri.UnescapeDataString(path)) is { Success: true } m)
            for (var g = 1; g < m.Groups.Count; g++) req.Vars[g.ToString(System.Globalization.CultureInfo.InvariantCulture)] = m.Groups[g].Value;
        Interlocked.Increment(ref _inFlight);
        try { await worker.Loop.RunAsync(() => ServeAsync(worker, req, location == null)); }
        finally { Interlocked.Decrement(ref _inFlight); }
    }

    private static readonly System.Text.RegularExpressions.Regex SetVarPattern = new(@"\$\{(\w+)\}|\$(\w+)");

    private static readonly LocationConf NotFound = new() { Modifier = "=", Pattern = "" };

    private async Task ServeAsync(LuaWorker w, NgxRequest req, bool noLocation)
    {
        using var aborted = req.Http.RequestAborted.Register(req.MarkClientGone);
        try
        {
            var loc = req.Location;
            if (noLocation)
            {
                // no location matched: the server's own configuration serves it (the static module)
                await ServeStaticAsync(req, null);
                return;
            }
            // `set $name value;` runs in the rewrite phase, before access and content
            foreach (var (name, value) in loc.Sets)
                NgxVars.Set(req, name, SetVarPattern.Replace(value, m => NgxVars.Get(this, req, m.Groups[1].Value + m.Groups[2].Value) ?? ""));
            if (loc.BodyFilterByLua is { } bodyFilter)
                req.BodyFilter = async r =>
                {
                    var phase = r.Phase;
                    r.Phase = "body_filter";
                    var res = await w.RunEntry(w.Chunk(bodyFilter), r);
                    r.Phase = phase;
                    if (!res.Ok)
                    {
                        Log(w, LogLevel.Error, $"failed to run body_filter_by_lua*: {res.Error}\n{res.Traceback}", r);
                        r.FilterChunk = "";
                    }
                };
            // the realip module's location-level settings apply from the preaccess phase
            req.ApplyRealIp();
            if (loc.AccessHandler != null)
            {
                req.Phase = "access";
                await loc.AccessHandler(req);
                if (req.Finished) return;
            }
            if (loc.AccessByLua != null && !await RunPhase(w, req, "access", loc.AccessByLua)) return;
            req.Phase = "content";
            if (loc.Return is { } ret)
            {
                if (ret.Code is 301 or 302 or 303 or 307 or 308 && ret.Text != null)
                {
                    // `return 3xx URL`: the URL is the Location; one starting with "/" is made
                    // absolute (absolute_redirect, port_in_redirect) from the Host and local port
                    var location = ret.Text;
                    if (location.StartsWith('/'))
                    {
                        var host = (req.RequestHeader("Host") ?? req.Server.ServerNames.FirstOrDefault() ?? "localhost").Split(':')[0];
                        var port = req.Http.Connection.LocalPort;
                        location = $"http://{host}{(port == 80 ? "" : ":" + port)}{location}";
                    }
                    req.SetResponseHeader("Location", location);
                    await SendErrorPage(req, ret.Code);
                }
                else if (ret.Text != null) await req.SendSimpleAsync(ret.Code, ret.Text);
                else await SendErrorPage(req, ret.Code);
            }
            else if (loc.Handler != null) await loc.Handler(req);
            else if (loc.ContentByLua != null) await RunPhase(w, req, "content", loc.ContentByLua);
            else await ServeStaticAsync(req, loc);
            await req.FinishAsync();
        }
        catch (Exception e)
        {
            Log(w, LogLevel.Error, $"unexpected error while serving the request: {e}", req);
            if (!req.HeadersSent) await SendErrorPage(req, 500);
        }
        finally
        {
            req.Phase = "log";
            if (!noLocation && req.Location?.LogByLua is { } logByLua)
            {
                var r = await w.RunEntry(w.Chunk(logByLua), req);
                if (!r.Ok) Log(w, LogLevel.Error, $"failed to run log_by_lua*: {r.Error}\n{r.Traceback}", req);
            }
            try { OnLog?.Invoke(req); }
            catch (Exception e) { Log(w, LogLevel.Error, $"log phase failed: {e.Message}", req); }
            w.FreeRequest(req.Id);
            ClientBodyTemp.Remove(req.BodyFile);
        }
    }

    /// <summary>Run a *_by_lua phase; false when the request was finished in it.</summary>
    private async Task<bool> RunPhase(LuaWorker w, NgxRequest req, string phase, LuaChunk chunk)
    {
        req.Phase = phase;
        var r = await w.RunEntry(w.Chunk(chunk), req);
        if (!r.Ok)
        {
            Log(w, LogLevel.Error, $"lua entry thread aborted: runtime error: {r.Error}\n{r.Traceback}", req);
            if (!req.HeadersSent) await SendErrorPage(req, 500);
            else await req.FinishAsync();
            return false;
        }
        if (req.ExitStatus is int st)
        {
            if (st >= 300 && !req.HeadersSent) await SendErrorPage(req, st);
            else if (st >= 200 || phase == "content") await req.FinishAsync();
            return !req.Finished;
        }
        if (phase == "access" && req.HeadersSent)
        {
            // lua-nginx-module: a response started in rewrite/access ends the request there
            await req.FinishAsync();
            return false;
        }
        return true;
    }

    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    /// <summary>
    /// nginx's index and static modules for a location without another content handler: the file
    /// at root + URI, an index file for a URI ending in `/` (an internal redirect, so locations
    /// are matched again), else 404 / 403 with the error-log line nginx writes.
    /// </summary>
    private async Task ServeStaticAsync(NgxRequest req, LocationConf? loc, int redirects = 0)
    {
        if (req.Method is not ("GET" or "HEAD" or "POST"))
        {
            await SendErrorPage(req, 405);
            return;
        }
        var uri = req.Uri;
        var root = StaticRoot(req.Server, loc);
        if (uri.EndsWith('/'))
        {
            var indexes = loc?.Index ?? ["index.html"];
            foreach (var index in indexes)
            {
                if (StaticFile(root + uri + index) == null) continue;
                req.Uri = uri + index;
                var next = req.Server.Match(req.Uri);
                if (redirects < 10 && (next == null || next.IsStatic)) await ServeStaticAsync(req, next, redirects + 1);
                else await ServeFileAsync(req, loc, root + req.Uri);
                return;
            }
            if (!StaticDirExists(root + uri))
            {
                req.Log(LogLevel.Error, $"\"{root}{uri}{indexes.FirstOrDefault()}\" is not found (2: No such file or directory)");
                await SendErrorPage(req, 404);
                return;
            }
            req.Log(LogLevel.Error, $"directory index of \"{root}{uri}\" is forbidden");
            await SendErrorPage(req, 403);
            return;
        }
        await ServeFileAsync(req, loc, root + uri);
    }

    private async Task ServeFileAsync(NgxRequest req, LocationConf? loc, string path)
    {
        var data = StaticFile(path);
        if (data == null)
        {
            req.Log(LogLevel.Error, $"open() \"{path}\" failed (2: No such file or directory)");
            await SendErrorPage(req, 404);
            return;
        }
        if (req.Method == "POST")
        {
            await SendErrorPage(req, 405);
            return;
        }
        var mtime = Conf.Files.ContainsKey(path) ? _started : new DateTimeOffset(File.GetLastWriteTimeUtc(path));
        var secs = mtime.ToUnixTimeSeconds();
        req.SetResponseHeader("Last-Modified", mtime.ToString("r", System.Globalization.CultureInfo.InvariantCulture));
        req.SetResponseHeader("ETag", $"\"{secs:x}-{data.Length:x}\"");
        req.SetResponseHeader("Accept-Ranges", "bytes");
        // nginx's built-in types when no `types` block is configured; else default_type
        var type = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".html" => "text/html",
            ".gif" => "image/gif",
            ".jpg" => "image/jpeg",
            _ => null,
        };
        await req.SendSimpleAsync(200, System.Text.Encoding.Latin1.GetString(data), type);
    }

    private string StaticRoot(ServerConf server, LocationConf? loc)
    {
        var root = (loc?.Root ?? server.Root ?? "html").TrimEnd('/');
        return Path.IsPathRooted(root) ? root : Path.Combine(Prefix, root);
    }

    private byte[]? StaticFile(string path) =>
        Conf.Files.TryGetValue(path, out var data) ? data
        : File.Exists(path) ? File.ReadAllBytes(path) : null;

    private bool StaticDirExists(string dir) =>
        Directory.Exists(dir) || Conf.Files.Keys.Any(k => k.StartsWith(dir, StringComparison.Ordinal));

    public static Task SendErrorPage(NgxRequest req, int status)
    {
        var reason = ReasonPhrases.GetReasonPhrase(status);
        var title = reason.Length > 0 ? $"{status} {reason}" : status.ToString();
        var body = $"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n";
        if (status < 300 || status == 304) body = "";
        return req.SendSimpleAsync(status, body, status >= 300 ? "text/html" : null);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        Network.Reset();
        foreach (var w in Workers) await w.DisposeAsync();
    }
}

/// <summary>Status reason phrases as nginx writes them in status lines and error pages.</summary>
public static class ReasonPhrases
{
    public static string GetReasonPhrase(int status) => status switch
    {
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Large",
        // nginx's own wording where it differs from ASP.NET's (ngx_http_special_response.c)
        408 => "Request Time-out",
        416 => "Requested Range Not Satisfiable",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status),
    };
}
