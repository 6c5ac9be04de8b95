using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Apisix.Core.OpenResty;

/// <summary>
/// One emulated nginx: its http{} configuration, error log, shared dicts and workers, serving the
/// requests that reach its listens on an <see cref="INetwork"/> (in memory for the runner, sockets for the gateway). Built and started per test
/// block (nginx restarts between blocks), disposed with everything it started.
/// </summary>
public sealed class Nginx : IAsyncDisposable
{
    private static int _nextPid = 1000;
    private int _basePid = Interlocked.Add(ref _nextPid, 16);

    /// <summary>The pid the error log shows for the master (worker N adds N); a real host sets its own process id.</summary>
    public int BasePid { get => _basePid; init => _basePid = value; }
    private long _connections;
    private int _nextWorker;

    public Nginx(HttpConf conf, INetwork network, ErrorLog errorLog, LuaModules modules, string prefix, int workers = 1)
    {
        Conf = conf;
        Network = network;
        ErrorLog = errorLog;
        Modules = modules;
        Prefix = prefix;
        foreach (var (name, size) in conf.SharedDicts) SharedDicts[name] = new SharedDict(name, size);
        TcpConnectAsync = async (host, port, ct) =>
        {
            var (stream, err) = await network.ConnectAsync(host, port, ct);
            return stream ?? throw new IOException(err);
        };
        for (var i = 0; i < Math.Max(1, workers); i++) Workers.Add(new LuaWorker(this, i));
    }

    public HttpConf Conf { get; }
    public INetwork Network { get; }
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
                foreach (var chunk in Conf.InitByLua)
                    if (await RunHook(w, chunk, "init_by_lua") is { } failure) InitFailure ??= failure;
                if (InitFailure != null) return; // nginx exits when init_by_lua fails
                w.Phase = "init_worker";
                foreach (var chunk in Conf.InitWorkerByLua) await RunHook(w, chunk, "init_worker_by_lua");
                foreach (var init in WorkerInit) init(w);
                w.Phase = "timer";
            });
        }
        foreach (var s in Conf.Servers)
        {
            foreach (var l in s.Listens.Where(l => l.UnixPath == null))
                Network.Bind(l.Address, l.Port, l.Ssl ? ServerTlsOf(s) : null);
            // `listen unix:PATH`: in memory, the path leads to the server through a port of its own
            if (Network is LoopbackNetwork loopback)
                foreach (var l in s.Listens.Where(l => l.UnixPath != null).ToList())
                {
                    var port = loopback.UnixServerPort(l.UnixPath!);
                    loopback.BindUnixServer(l.UnixPath!, port);
                    s.Listens.Add(new ListenSpec(System.Net.IPAddress.Loopback, port));
                }
        }
    }

    /// <summary>
    /// The TLS side of a server's `listen ... ssl`: its ssl_certificate / ssl_certificate_key (relative
    /// paths under the conf directory, the runner's in-memory files first), and its
    /// ssl_certificate_by_lua* run on a worker during each handshake.
    /// </summary>
    private Net.ServerTls ServerTlsOf(ServerConf s)
    {
        if (s.SslCertificate == null || s.SslCertificateKey == null)
            throw new NginxConfException($"no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in {Path.Combine(Prefix, "conf", "nginx.conf")}");
        var cert = Net.ServerTls.LoadPem(ReadConfFile(s.SslCertificate), ReadConfFile(s.SslCertificateKey));
        var hook = s.SslCertificateByLua;
        return new Net.ServerTls(cert)
        {
            OnServerName = hook == null ? null : sni => RunSslCertificateHook(hook, sni),
        };
    }

    /// <summary>A file a directive names, relative to the conf directory as nginx resolves it.</summary>
    public string ReadConfFile(string path)
    {
        var full = Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(Prefix, "conf", path));
        if (Conf.Files.TryGetValue(full, out var bytes)) return System.Text.Encoding.Latin1.GetString(bytes);
        try { return File.ReadAllText(full); }
        catch (IOException e)
        {
            throw new NginxConfException($"cannot load certificate \"{full}\": BIO_new_file() failed ({e.Message})");
        }
    }

    private async Task<bool> RunSslCertificateHook(LuaChunk chunk, string? sni)
    {
        var w = Workers[Interlocked.Increment(ref _nextWorker) % Workers.Count];
        var ok = false;
        await w.Loop.RunAsync(async () =>
        {
            var phase = w.Phase;
            w.Phase = "ssl_cert";
            w.SslServerName = sni;
            try
            {
                var r = await w.RunEntry(w.Chunk(chunk), null);
                ok = r.Ok;
                if (!r.Ok) Log(w, LogLevel.Error, $"failed to run ssl_certificate_by_lua*: {r.Error}", null);
            }
            catch (LuaChunkException e) { Log(w, LogLevel.Error, e.Message, null); }
            finally
            {
                w.SslServerName = null;
                w.Phase = phase;
            }
        });
        return ok;
    }

    /// <summary>Why nginx would not have started: init_by_lua failed (its error-log message), or null.</summary>
    public string? InitFailure { get; private set; }

    /// <summary>Run an init hook; its error message (as logged) when it fails.</summary>
    private async Task<string?> RunHook(LuaWorker w, LuaChunk chunk, string directive)
    {
        LuaEntryResult r;
        try { r = await w.RunEntry(w.Chunk(chunk), null); }
        catch (LuaChunkException e) { r = new LuaEntryResult(false, false, [], e.LuaError, null); }
        catch (Exception e) { r = new LuaEntryResult(false, false, [], e.Message, null); }
        if (r.Ok) return null;
        var message = $"{directive} error: {r.Error}";
        Log(w, LogLevel.Error, r.Traceback is { Length: > 0 } tb ? $"{message}\n{tb}" : message, null);
        return message;
    }

    /// <summary>
    /// nginx's resolver for a name the network does not know, when the configuration names its own
    /// name servers: none answers here (this world has no DNS), as on a host without a network: a
    /// loopback server refuses the query, another is unreachable; the lookup then times out after
    /// resolver_timeout. Null when there is nothing to resolve (an IP literal, a known host, or no
    /// resolver directive: the network answers as before); else the lookup's error.
    /// </summary>
    /// <param name="cosocket">A Lua cosocket's lookup: while one of a name waits for its answer (even one whose
    /// request has gone: lua-nginx-module's cleanup leaves it in the resolver's queue), the next joins it and
    /// sends no query of its own.</param>
    public async Task<string?> ResolveAsync(string host, LuaWorker? w, CancellationToken ct, bool cosocket = false)
    {
        if (Conf.Resolvers.Count == 0 || Network.Resolve(host) != null) return null;
        var key = (w?.Id ?? -1, host);
        var joined = false;
        if (cosocket)
            lock (_resolving)
            {
                joined = _resolving.TryGetValue(key, out var n) && n > 0;
                _resolving[key] = n + 1;
            }
        try
        {
            if (!joined)
                foreach (var server in Conf.Resolvers)
                {
                    var addr = server.StartsWith('[') ? server[1..server.IndexOf(']')] : server.Split(':')[0];
                    var shown = server.Contains(':') && !server.StartsWith('[') || server.Contains("]:") ? server : server + ":53";
                    var loopback = System.Net.IPAddress.TryParse(addr, out var ip) && System.Net.IPAddress.IsLoopback(ip);
                    // the resolver's own log (no connection, no request): the query fails, and so does
                    // the retry ngx_resolve_name sends at once
                    for (var attempt = 0; attempt < 2; attempt++)
                    {
                        if (loopback)
                            LogResolver(w, LogLevel.Error, $"send() failed (111: Connection refused) while resolving, resolver: {shown}");
                        else
                            LogResolver(w, LogLevel.Crit, $"connect() failed (101: Network is unreachable) while resolving, resolver: {shown}");
                    }
                }
            // on the worker's timer tree: lookups that time out together fail in the order they began
            try { await (w != null ? w.Timers.DelayAsync(Conf.ResolverTimeout, ct) : Task.Delay(Conf.ResolverTimeout, ct)); }
            catch (OperationCanceledException) { }
            return $"{host} could not be resolved (110: Operation timed out)";
        }
        finally
        {
            if (cosocket)
                lock (_resolving)
                    if (--_resolving[key] == 0) _resolving.Remove(key);
        }
    }

    private readonly Dictionary<(int Worker, string Host), int> _resolving = new();

    private void LogResolver(LuaWorker? w, LogLevel level, string message)
    {
        if (ErrorLog.Enabled(level)) ErrorLog.Write(level, w == null ? _basePid : Pid(w), 0, message, "");
    }

    public void Log(LuaWorker? w, LogLevel level, string message, NgxRequest? r)
    {
        if (!ErrorLog.Enabled(level)) return; // below error_log's level: not even the request context is built
        if (r == null && w is { Phase: "init_worker" })
        {
            // init_worker_by_lua runs on a fake connection of ngx_lua's, and its lines name the context
            ErrorLog.Write(level, Pid(w), w.InitWorkerConnection ??= Interlocked.Increment(ref _connections), message, InitWorkerContext);
            return;
        }
        if (r == null && w is { Phase: "timer" })
        {
            // so does each run of an ngx.timer (one a request created also names that request's client and server)
            ErrorLog.Write(level, Pid(w), Interlocked.Increment(ref _connections), message, w.CurrentLogContext ?? TimerContext);
            return;
        }
        var ctx = r == null ? w?.CurrentLogContext ?? "" : RequestContext(r);
        ErrorLog.Write(level, w == null ? _basePid : Pid(w), r?.Connection ?? 0, message, ctx);
    }

    /// <summary>What nginx appends to a line logged in init_worker_by_lua.</summary>
    public const string InitWorkerContext = ", context: init_worker_by_lua*";

    /// <summary>What nginx appends to a line logged in an ngx.timer.</summary>
    public const string TimerContext = ", context: ngx.timer";

    private long? _agentInitConnection;

    /// <summary>A line the privileged agent logs from its init_worker_by_lua (its own fake connection, the context named).</summary>
    public void LogPrivilegedAgentInit(LogLevel level, string message) =>
        ErrorLog.Write(level, PrivilegedAgentPid, _agentInitConnection ??= Interlocked.Increment(ref _connections), message, InitWorkerContext);

    public void LogInternal(LogLevel level, string message) => Log(null, level, message, null);

    /// <summary>The pid of the privileged agent (the master_process helper APISIX enables), for its log lines.</summary>
    public int PrivilegedAgentPid => _basePid + 15;

    /// <summary>A line written by the privileged agent process from a timer (its config sync): a fake connection, the context named.</summary>
    public void LogPrivilegedAgent(LogLevel level, string message) =>
        ErrorLog.Write(level, PrivilegedAgentPid, Interlocked.Increment(ref _connections), message, TimerContext);

    private static string RequestContext(NgxRequest r)
    {
        var host = r.RequestHeader("Host");
        var server = r.Server.ServerNames.FirstOrDefault() ?? "";
        // nginx names what the connection is doing first: ngx_http_free_request sets the action
        // "logging request" before it runs the log phase (a subrequest has none)
        var action = r.Phase == "log" && !r.IsSubrequest ? " while logging request" : "";
        // client: the address realip put in place (nginx logs c->addr_text, which realip rewrites)
        var context = $"{action}, client: {r.RealIp ?? r.Http.Connection.RemoteIpAddress?.ToString()}, server: {server}, request: \"{r.Method} {r.RequestUri} {r.Protocol}\""
               + (r.LogUpstream != null ? $", upstream: \"{r.LogUpstream}\"" : "")
               + (host != null ? $", host: \"{host}\"" : "");
        // lua_error_log_request_id (apisix-nginx-module): the location's request id after nginx's own context
        if (r.Location.ErrorLogRequestId is { } idVar && r.Nginx is { } nginx && NgxVars.Get(nginx, r, idVar) is { } id)
            context += $", request_id: \"{id}\"";
        return context;
    }

    private sealed class ConnectionState(long number)
    {
        public long Number { get; } = number;
        public int Requests;
        /// <summary>The worker whose loop took the connection, found at its first request.</summary>
        public LuaWorker? Worker;
    }

    /// <summary>
    /// <c>$connection</c> and <c>$connection_requests</c>: the client connection's serial number,
    /// given at its first request and kept for the keepalive requests that follow on it, and how
    /// many requests it has carried so far.
    /// </summary>
    private (ConnectionState State, int Requests) ConnectionOf(IDictionary<object, object?>? items)
    {
        if (items == null) return (new ConnectionState(Interlocked.Increment(ref _connections)) { Requests = 1 }, 1);
        if (items.TryGetValue(typeof(ConnectionState), out var found) && found is ConnectionState known)
            return (known, Interlocked.Increment(ref known.Requests));
        var state = new ConnectionState(Interlocked.Increment(ref _connections)) { Requests = 1, Worker = WorkerOfConnection(items) };
        items[typeof(ConnectionState)] = state;
        return (state, 1);
    }

    /// <summary>The Kestrel entry point: pick server, location and worker, and serve on that worker's loop.</summary>
    public async Task HandleAsync(HttpContext http)
    {
        var local = http.Connection.LocalIpAddress ?? System.Net.IPAddress.Loopback;
        var port = http.Connection.LocalPort;
        var server = ServerFor(local, port, http.Request.Host.Host);
        if (server == null)
        {
            http.Response.StatusCode = 404;
            return;
        }
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "/";
        var q = raw.IndexOf('?');
        var path = Uri.UnescapeDataString(q < 0 ? raw : raw[..q]);
        var location = server.Match(path);
        // the connection's items looked up once: its serial number, request count and worker are kept there
        var items = http.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items;
        var (connection, connRequests) = ConnectionOf(items);
        var worker = connection.Worker ?? Workers[Interlocked.Increment(ref _nextWorker) % Workers.Count];
        var req = new NgxRequest(http, server, location ?? NotFound, connection.Number, items)
        {
            Nginx = this, Worker = worker, ConnectionRequests = connRequests,
        };
        // a regex location's captures are $1, $2... (ngx.var[1])
        if (location?.Regex?.Match(path) is { Success: true } m)
            for (var g = 1; g < m.Groups.Count; g++) req.Vars[g.ToString(System.Globalization.CultureInfo.InvariantCulture)] = m.Groups[g].Value;
        Interlocked.Increment(ref _inFlight);
        try
        {
            // a connection served by its worker's loop (the host's reactor transport) is already there
            if (worker.Loop.IsCurrent) await ServeAsync(worker, req, location == null);
            else await worker.Loop.RunAsync(() => ServeAsync(worker, req, location == null));
        }
        finally { Interlocked.Decrement(ref _inFlight); }
    }

    /// <summary>
    /// nginx's virtual server for a request on local:port: among the servers listening there, the
    /// one whose server_name is the Host (exact, "*.suffix" / ".suffix", "prefix.*", "~regex"); else
    /// the port's default_server, else the first.
    /// </summary>
    private ServerConf? ServerFor(System.Net.IPAddress local, int port, string? host)
    {
        ServerConf? first = null, byDefault = null;
        var candidates = 0;
        foreach (var s in Conf.Servers)
        {
            if (!s.ListensOn(local, port)) continue;
            first ??= s;
            candidates++;
            if (byDefault == null && IsDefaultFor(s, port)) byDefault = s;
        }
        if (candidates <= 1 || string.IsNullOrEmpty(host)) return byDefault ?? first;
        return ServerByName(local, port, host) ?? byDefault ?? first;
    }

    // apart from ServerFor: its lambdas' captures would be allocated on every request, one server or not
    private ServerConf? ServerByName(System.Net.IPAddress local, int port, string host)
    {
        host = host.ToLowerInvariant().TrimEnd('.');
        foreach (var s in Conf.Servers)
            if (s.ListensOn(local, port) && s.ServerNames.Any(n => string.Equals(n, host, StringComparison.OrdinalIgnoreCase))) return s;
        foreach (var s in Conf.Servers)
            if (s.ListensOn(local, port) && s.ServerNames.Any(n =>
                    n.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(n[1..], StringComparison.OrdinalIgnoreCase)
                    || n.StartsWith('.') && (host.EndsWith(n, StringComparison.OrdinalIgnoreCase) || host == n[1..])))
                return s;
        foreach (var s in Conf.Servers)
            if (s.ListensOn(local, port) && s.ServerNames.Any(n =>
                    n.EndsWith(".*", StringComparison.Ordinal) && host.StartsWith(n[..^1], StringComparison.OrdinalIgnoreCase)))
                return s;
        foreach (var s in Conf.Servers)
            if (s.ListensOn(local, port) && s.ServerNames.Any(n =>
                    n.StartsWith('~') && System.Text.RegularExpressions.Regex.IsMatch(host, n[1..])))
                return s;
        return null;
    }

    private static bool IsDefaultFor(ServerConf s, int port)
    {
        foreach (var l in s.Listens)
            if (l.Port == port && l.DefaultServer) return true;
        return false;
    }

    /// <summary>The worker whose loop took the connection (<see cref="ReactorTransportFactory"/>), as nginx's accepting worker serves it.</summary>
    private LuaWorker? WorkerOfConnection(IDictionary<object, object?> items)
    {
        if (!items.TryGetValue(ReactorTransportFactory.LoopItem, out var loop) || loop is not WorkerLoop l) return null;
        foreach (var w in Workers)
            if (w.Loop == l) return w;
        return null;
    }

    /// <summary>
    /// ngx.location.capture: serve `uri` inside the same worker as a subrequest of `parent` (its
    /// request headers and read body are inherited) and collect what it would have sent.
    /// </summary>
    /// <param name="varsMode">capture's share_all_vars ("share": the parent's variables themselves) or
    /// copy_all_vars ("copy": a copy of them); null: the subrequest starts with none of its own.</param>
    internal NgxRequest NewSubrequest(LuaWorker w, NgxRequest parent, string uri, string method, string? args, string? body, bool alwaysForwardBody,
        string? varsMode = null, IReadOnlyList<(string Name, string Value)>? extraVars = null)
    {
        var q = uri.IndexOf('?');
        if (q >= 0)
        {
            var own = uri[(q + 1)..];
            uri = uri[..q];
            args = args is { Length: > 0 } ? own + "&" + args : own;
        }
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Protocol = parent.Protocol;
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = uri + (args != null ? "?" + args : "");
        http.Response.Body = new MemoryStream();
        http.Connection.LocalIpAddress = parent.Http.Connection.LocalIpAddress;
        http.Connection.LocalPort = parent.Http.Connection.LocalPort;
        http.Connection.RemoteIpAddress = parent.Http.Connection.RemoteIpAddress;
        http.Connection.RemotePort = parent.Http.Connection.RemotePort;
        var location = parent.Server.Match(Uri.UnescapeDataString(uri));
        var sub = new NgxRequest(http, parent.Server, location ?? NotFound, parent.Connection)
        {
            Nginx = this, Worker = w, Parent = parent,
            Vars = varsMode == "share" ? parent.Vars
                : varsMode == "copy" ? new Dictionary<string, string?>(parent.Vars, StringComparer.Ordinal)
                : new Dictionary<string, string?>(StringComparer.Ordinal),
        };
        // the vars option: set in the subrequest (after share/copy, as ngx_http_lua_subrequest_add_extra_vars runs last)
        foreach (var (name, value) in extraVars ?? []) sub.Vars[name.ToLowerInvariant()] = value;
        sub.RequestHeaders.Clear();
        sub.RequestHeaders.AddRange(parent.RequestHeaders);
        if (body != null) { sub.Body = body; sub.BodyRead = true; }
        // without a body option the parent's body goes along to PUT and POST only (or always_forward_body)
        else if (parent.BodyRead && (alwaysForwardBody || method is "PUT" or "POST")) { sub.Body = parent.Body; sub.BodyRead = true; }
        else if (parent.BodyRead) { sub.Body = null; sub.BodyRead = true; }
        if (location?.Regex?.Match(Uri.UnescapeDataString(uri)) is { Success: true } m)
            for (var g = 1; g < m.Groups.Count; g++) sub.Vars[g.ToString(System.Globalization.CultureInfo.InvariantCulture)] = m.Groups[g].Value;
        return sub;
    }

    /// <summary>
    /// nginx's server rewrite phase, where main requests and subrequests start: the server's own
    /// `set`/`set_by_lua` and `return`, then server_rewrite_by_lua; false when the request ended there.
    /// </summary>
    private async Task<bool> ServerRewriteAsync(LuaWorker w, NgxRequest req)
    {
        foreach (var step in req.Server.SetSteps)
        {
            if (step.Lua == null) NgxVars.Set(req, step.Name, Interpolate(req, step.Value));
            else if (await SetByLua(w, req, step) is { } value) NgxVars.Set(req, step.Name, value);
            else return false;
        }
        if (req.Server.Return is { } serverReturn)
        {
            await ReturnAsync(req, serverReturn);
            return false;
        }
        if ((req.Server.ServerRewriteByLua ?? Conf.ServerRewriteByLua) is { } serverRewrite
            && !await RunPhase(w, req, "server_rewrite", serverRewrite)) return false;
        return true;
    }

    internal async Task<object?[]> CaptureAsync(LuaWorker w, NgxRequest sub)
    {
        // posted to the main request: it starts once the parent's Lua handler has returned to the loop
        var parent = sub.Parent!;
        await w.PostRequest(parent.Main);
        var http = sub.Http;
        var output = (MemoryStream)http.Response.Body;
        var location = sub.Location == NotFound ? null : sub.Location;
        var uri = sub.Uri;
        var args = sub.Args;
        Log(w, LogLevel.Debug, $"lua http subrequest \"{uri}?{args}\"", parent);
        try
        {
            // a subrequest starts in the server rewrite phase too
            if (!await ServerRewriteAsync(w, sub)) { }
            else if (location == null) await ServeStaticAsync(sub, null);
            else await ServeLocationAsync(w, sub, internalRedirects: 0);
            await sub.FinishAsync();
        }
        catch (Exception e)
        {
            Log(w, LogLevel.Error, $"unexpected error while serving the subrequest: {e.Message}", parent);
            if (!sub.HeadersSent) { sub.Status = 500; sub.SendHeaders(); }
        }
        finally
        {
            w.FreeRequest(sub);
        }
        // the capture copied each piece into a buffer of the parent's (ngx_http_lua_add_copy_chain);
        // once the body is handed to Lua they are spent (ngx_http_lua_post_subrequest)
        if (sub.CapturedPieces is { } pieces)
        {
            var bufs = pieces.Select(n => parent.LuaBufs.Get(n, parent.DebugLog)).ToList();
            foreach (var b in bufs) { b.Size = 0; parent.LuaBufs.Output(b, sent: false); }
        }
        var headers = new System.Text.StringBuilder();
        foreach (var (name, values) in http.Response.Headers)
            foreach (var v in values)
                headers.Append(name).Append('\0').Append(v).Append('\0');
        var text = sub.Method == "HEAD" ? "" : System.Text.Encoding.Latin1.GetString(output.ToArray());
        return [(long)http.Response.StatusCode, headers.ToString(), text, sub.Truncated];
    }

    private static readonly System.Text.RegularExpressions.Regex SetVarPattern = new(@"\$\{(\w+)\}|\$(\w+)");

    private static readonly LocationConf NotFound = new() { Modifier = "=", Pattern = "" };

    private async Task ServeAsync(LuaWorker w, NgxRequest req, bool noLocation)
    {
        // no closure per request: the request carries its worker (w, set where it was made)
        using var aborted = req.Http.RequestAborted.Register(static state =>
        {
            var r = (NgxRequest)state!;
            r.MarkClientGone();
            r.Worker!.Loop.Post(_ => r.Worker!.ClientAborted(r), null);
        }, req);
        try
        {
            if (!await ServerRewriteAsync(w, req)) return;
            if (noLocation)
            {
                // no location matched: the server's own configuration serves it (the static module)
                await ServeStaticAsync(req, null);
                return;
            }
            await ServeLocationAsync(w, req, internalRedirects: 0);
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
            if (!noLocation && req.Location.LogByLua is { } logByLua)
            {
                try
                {
                    var r = await w.RunEntry(w.Chunk(logByLua), req);
                    if (!r.Ok) Log(w, LogLevel.Error, $"failed to run log_by_lua*: {r.Error}\n{r.Traceback}", req);
                }
                catch (LuaChunkException e) { Log(w, LogLevel.Error, e.Message, req); }
            }
            try { OnLog?.Invoke(req); }
            catch (Exception e) { Log(w, LogLevel.Error, $"log phase failed: {e.Message}", req); }
            w.FreeRequest(req);
            ClientBodyTemp.Remove(req.BodyFile);
            Log(w, LogLevel.Debug, "http close request", req);
        }
    }

    private static readonly LuaChunk SetByLuaEntry =
        new("local fn = ...\nngx.arg = { select(2, ...) }\nreturn fn()", "set_by_lua", 0);

    /// <summary>set_by_lua: the chunk's first result (as a string) for the variable; null when it failed (500 sent).</summary>
    private async Task<string?> SetByLua(LuaWorker w, NgxRequest req, SetStep step)
    {
        req.Phase = "set";
        LuaEntryResult r;
        try
        {
            object?[] args = [w.Chunk(step.Lua!), .. (step.Args ?? []).Select(a => (object?)Interpolate(req, a))];
            r = await w.RunEntry(w.Chunk(SetByLuaEntry), req, args);
        }
        catch (LuaChunkException e) { r = new LuaEntryResult(false, false, [], e.LuaError, null); }
        if (!r.Ok)
        {
            Log(w, LogLevel.Error, $"failed to run set_by_lua*: {r.Error}" + (r.Traceback is { Length: > 0 } tb ? "\n" + tb : ""), req);
            await SendErrorPage(req, 500);
            return null;
        }
        return r.Values.Length == 0 ? "" : r.Values[0] switch
        {
            null => "",
            string str => str,
            bool b => b ? "true" : "false",
            double d => Apisix.Core.Json.LuaNumber.ToLuaString(d),
            var o => Convert.ToString(o, System.Globalization.CultureInfo.InvariantCulture) ?? "",
        };
    }

    /// <summary>`$name` and `${name}` in a directive's value, from the request's variables.</summary>
    private string Interpolate(NgxRequest req, string value)
    {
        if (!value.Contains('$')) return value;
        // a configuration's value is cut into text and `$name`/`${name}` once; a request only looks the names up
        var parts = _templates.Get(value, ParseTemplate);
        if (parts.Length == 1 && parts[0].Var is { } only) return NgxVars.Get(this, req, only) ?? "";
        var text = new System.Text.StringBuilder(value.Length + 32);
        foreach (var (literal, name) in parts)
            text.Append(name == null ? literal : NgxVars.Get(this, req, name));
        return text.ToString();
    }

    private readonly Apisix.Core.Utils.BoundedCache<(string? Literal, string? Var)[]> _templates = new(4096);

    /// <summary>A value with variables as its pieces, in order: text (Literal) or a variable's name (Var).</summary>
    private static (string? Literal, string? Var)[] ParseTemplate(string value)
    {
        var parts = new List<(string?, string?)>();
        var last = 0;
        foreach (System.Text.RegularExpressions.Match m in SetVarPattern.Matches(value))
        {
            if (m.Index > last) parts.Add((value[last..m.Index], null));
            parts.Add((null, m.Groups[1].Value + m.Groups[2].Value));
            last = m.Index + m.Length;
        }
        if (last < value.Length) parts.Add((value[last..], null));
        return [.. parts];
    }

    // add_header: only on these statuses unless `always` (ngx_http_headers_filter)
    private static readonly HashSet<int> AddHeaderStatuses = [200, 201, 204, 206, 301, 302, 303, 304, 307, 308];

    private void AddHeaders(NgxRequest req, LocationConf loc)
    {
        var status = req.Status == 0 ? 200 : req.Status;
        foreach (var (name, value, always) in loc.AddHeaders)
        {
            if (!always && !AddHeaderStatuses.Contains(status)) continue;
            var text = Interpolate(req, value);
            if (text.Length == 0) continue;
            if (!req.ResponseHeaders.TryGetValue(name, out var list)) req.ResponseHeaders[name] = list = new List<string>();
            list.Add(text);
        }
    }

    private static readonly LuaChunk BodyFilterEntry =
        new("local fn, data, eof = ...\nngx.arg = { data, eof }\nfn()\nlocal out = ngx.arg[1]\nif type(out) == \"table\" then out = table.concat(out) end\nreturn out, ngx.arg[2]", "body_filter_by_lua", 0);

    /// <summary>body_filter_by_lua: ngx.arg[1] is the data, ngx.arg[2] the eof flag; what it leaves in ngx.arg[1] is sent.</summary>
    private string RunBodyFilter(LuaWorker w, NgxRequest req, LuaChunk chunk, string data, bool last)
    {
        var phase = req.Phase;
        req.Phase = "body_filter";
        try
        {
            var run = w.RunEntry(w.Chunk(BodyFilterEntry), req, w.Chunk(chunk), data, last);
            if (!run.IsCompleted)
            {
                Log(w, LogLevel.Error, "failed to run body_filter_by_lua*: attempt to yield across C-call boundary", req);
                return data;
            }
            if (!run.Result.Ok)
            {
                Log(w, LogLevel.Error, $"failed to run body_filter_by_lua*: {run.Result.Error}\n{run.Result.Traceback}", req);
                return data;
            }
            // eof taken away: a capture never sees its subrequest's last buffer, so the body counts as truncated
            if (last && req.IsSubrequest && run.Result.Values is [_, false, ..]) req.Truncated = true;
            return run.Result.Values.Length > 0 ? run.Result.Values[0] switch
            {
                null => "",
                string str => str,
                var o => Convert.ToString(o, System.Globalization.CultureInfo.InvariantCulture) ?? "",
            } : "";
        }
        catch (LuaChunkException e) { Log(w, LogLevel.Error, e.Message, req); return data; }
        finally { req.Phase = phase; }
    }

    /// <summary>header_filter_by_lua: runs to its end at once (it cannot yield), before the headers go out.</summary>
    private void RunHeaderFilter(LuaWorker w, NgxRequest req, LuaChunk chunk)
    {
        var phase = req.Phase;
        req.Phase = "header_filter";
        var before = req.ExitStatus;
        req.ExitStatus = null;
        int? exit = null;
        try
        {
            var run = w.RunEntry(w.Chunk(chunk), req);
            if (!run.IsCompleted)
                Log(w, LogLevel.Error, "failed to run header_filter_by_lua*: attempt to yield across C-call boundary", req);
            else if (!run.Result.Ok)
            {
                // an error value that is no string gets no traceback: lua-nginx-module says "unknown reason"
                Log(w, LogLevel.Error, run.Result.Error is null or "nil"
                    ? "failed to run header_filter_by_lua*: unknown reason"
                    : $"failed to run header_filter_by_lua*: {run.Result.Error}\n{run.Result.Traceback}", req);
                // the header filter returns NGX_ERROR: the connection closes without a response
                req.Http.Abort();
            }
            else if (run.Result.Exited) exit = req.ExitStatus;
        }
        catch (LuaChunkException e) { Log(w, LogLevel.Error, e.Message, req); }
        finally
        {
            req.Phase = phase;
            req.ExitStatus = before;
        }
        if (exit is not { } st || st == 0) return;
        // ngx.exit in a header filter: an error status replaces the response with its error page;
        // another status (2xx, 444) goes out with an empty body
        req.Status = st;
        req.ForcedStatus = null;
        if (st >= 300 && st != 444)
        {
            var reason = ReasonPhrases.GetReasonPhrase(st);
            var title = reason.Length > 0 ? $"{st} {reason}" : st.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var tail = (req.Nginx?.Conf.Runtime ?? NginxRuntime.ApisixRuntime).ErrorPageTail(req.Server.ServerTokens);
            var page = $"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n{tail}";
            req.ResponseHeaders.Clear();
            req.SetResponseHeader("Content-Type", "text/html");
            req.SetResponseHeader("Content-Length", System.Text.Encoding.Latin1.GetByteCount(page).ToString(System.Globalization.CultureInfo.InvariantCulture));
            req.ReplaceBody(page);
            return;
        }
        req.ResponseHeaders.Remove("Content-Type");
        req.SetResponseHeader("Content-Length", "0");
        if (st == 444) req.SetResponseHeader("Connection", "close");
        req.ReplaceBody(null);
    }

    /// <summary>
    /// `error_page CODE [=[STATUS]] URI|@name|URL`: the error is answered by an internal redirect
    /// (GET) to the URI or named location, with the error's status, the page's own (`=`), or STATUS;
    /// a URL answers 302 with Location.
    /// </summary>
    private async Task ErrorPageAsync(NgxRequest req, int status, ErrorPage page)
    {
        req.ErrorPageUsed = true;
        if (page.Target.StartsWith("http://", StringComparison.Ordinal) || page.Target.StartsWith("https://", StringComparison.Ordinal))
        {
            req.SetResponseHeader("Location", page.Target);
            await SendErrorPage(req, page.Status ?? 302);
            return;
        }
        if (req.Method != "HEAD") req.Method = "GET";
        req.ForcedStatus = page.UseResponseStatus ? null : page.Status ?? status;
        req.Status = 0;
        req.ExitStatus = null;
        LocationConf? next;
        if (page.Target.StartsWith('@'))
            next = req.Server.Locations.FirstOrDefault(l => l.Pattern == page.Target);
        else
        {
            var q = page.Target.IndexOf('?');
            req.Uri = q < 0 ? page.Target : page.Target[..q];
            req.Args = q < 0 ? req.Args : page.Target[(q + 1)..];
            next = req.Server.Match(req.Uri);
        }
        if (next == null) await ServeStaticAsync(req, null);
        else
        {
            req.Location = next;
            await ServeLocationAsync(req.Worker!, req, internalRedirects: 1);
        }
        await req.FinishAsync(); // the page is the whole response: the failed location does not go on
    }

    private enum RewriteOutcome { NoMatch, Rewritten, Finished }

    /// <summary>
    /// `rewrite REGEX REPLACEMENT [last|break|redirect|permanent]` on the request's URI: $1.. and
    /// variables in the replacement; a replacement with its own `?` replaces the arguments (keeping
    /// the old ones after `&amp;` unless it ends in `?`); an absolute URL, redirect or permanent answers
    /// 302/301 with Location.
    /// </summary>
    private async Task<RewriteOutcome> RewriteAsync(NgxRequest req, RewriteRule rule)
    {
        var m = rule.Regex.Match(req.Uri);
        if (!m.Success) return RewriteOutcome.NoMatch;
        var replaced = System.Text.RegularExpressions.Regex.Replace(rule.Replacement, @"\$(\d)",
            g => int.Parse(g.Groups[1].Value) < m.Groups.Count ? m.Groups[int.Parse(g.Groups[1].Value)].Value : "");
        replaced = Interpolate(req, replaced);
        var absolute = replaced.StartsWith("http://", StringComparison.Ordinal) || replaced.StartsWith("https://", StringComparison.Ordinal);
        if (absolute || rule.Flag is "redirect" or "permanent")
        {
            var location = replaced;
            if (!absolute)
            {
                var host = (req.RequestHeader("Host") ?? req.Server.ServerNames.FirstOrDefault() ?? "localhost").Split(':')[0];
                var port = req.Http.Connection.LocalPort;
                location = $"http://{host}{(port == 80 ? "" : ":" + port)}{replaced}";
            }
            if (!replaced.Contains('?') && req.Args is { Length: > 0 } args) location += "?" + args;
            req.SetResponseHeader("Location", location);
            await SendErrorPage(req, rule.Flag == "permanent" ? 301 : 302);
            return RewriteOutcome.Finished;
        }
        var q = replaced.IndexOf('?');
        if (q >= 0)
        {
            var newArgs = replaced[(q + 1)..];
            var keepOld = !replaced.EndsWith('?');
            req.Args = keepOld && req.Args is { Length: > 0 } old ? (newArgs.Length > 0 ? newArgs + "&" + old : old) : (newArgs.Length > 0 ? newArgs : null);
            replaced = replaced[..q];
        }
        req.Uri = replaced;
        return RewriteOutcome.Rewritten;
    }

    /// <summary>The phases of the request's location, from rewrite to content (again after a rewrite to another location).</summary>
    /// <summary>
    /// A location's phases: rewrite and access, then the content handler. The content handler's task
    /// is the location's (no level of its own waits on it) when the phases before it completed at once.
    /// </summary>
    private Task ServeLocationAsync(LuaWorker w, NgxRequest req, int internalRedirects)
    {
        var loc = req.Location;
        var phases = RewriteAccessAsync(w, req, loc, internalRedirects);
        if (!phases.IsCompletedSuccessfully) return ContentAfterAsync(phases, w, req, loc);
        return phases.Result ? ContentAsync(w, req, loc) : Task.CompletedTask;
    }

    private async Task ContentAfterAsync(ValueTask<bool> phases, LuaWorker w, NgxRequest req, LocationConf loc)
    {
        if (await phases) await ContentAsync(w, req, loc);
    }

    /// <summary>The rewrite and access phases of <paramref name="loc"/>: true when its content phase follows.</summary>
    private async ValueTask<bool> RewriteAccessAsync(LuaWorker w, NgxRequest req, LocationConf loc, int internalRedirects)
    {
        if (loc.Internal && internalRedirects == 0 && !req.IsSubrequest)
        {
            // `internal`: a client's request never reaches it
            await SendErrorPage(req, 404);
            return false;
        }
        if (internalRedirects == 0)
        {
            // the header filters of the location the request ends in
            var before = req.HeaderFilter;
            req.HeaderFilter = () =>
            {
                before?.Invoke();
                var final = req.Location;
                AddHeaders(req, final);
                if (final.HeaderFilterByLua != null) RunHeaderFilter(w, req, final.HeaderFilterByLua);
            };
        }
        // only a location with a body filter joins each flush's pieces into one
        req.BodyFilter = loc.BodyFilterByLua is { } bodyFilter ? (data, last) => RunBodyFilter(w, req, bodyFilter, data, last) : null;
        if (loc.NeedRequestBody ?? req.Server.NeedRequestBody ?? Conf.NeedRequestBody)
        {
            await req.ReadBodyAsync();
            if (req.BodyTimedOut) { req.Http.Abort(); return false; }
        }
        // rewrite_by_lua_no_postpone: the Lua handler runs first in the rewrite phase, else last
        var rewriteFirst = Conf.RewriteByLuaNoPostpone && loc.RewriteByLua != null;
        if (rewriteFirst && !await RunPhase(w, req, "rewrite", loc.RewriteByLua!)) return false;
        // `set $name value;` runs in the rewrite phase, before access and content
        foreach (var (name, value) in loc.Sets)
            NgxVars.Set(req, name, Interpolate(req, value));
        var uriChanged = false;
        foreach (var step in loc.SetSteps)
        {
            if (step.Rewrite is { } rule)
            {
                var outcome = await RewriteAsync(req, rule);
                if (outcome == RewriteOutcome.Finished) return false;
                if (outcome == RewriteOutcome.NoMatch) continue;
                uriChanged = true;
                if (rule.Flag is "last" or "break") { uriChanged = rule.Flag == "last"; break; }
                continue;
            }
            if (step.Lua == null) NgxVars.Set(req, step.Name, Interpolate(req, step.Value));
            else if (await SetByLua(w, req, step) is { } value) NgxVars.Set(req, step.Name, value);
            else return false;
        }
        if (uriChanged)
        {
            // the URI was rewritten: find its location again (nginx gives up after 10 rounds)
            if (internalRedirects >= 10)
            {
                req.Log(LogLevel.Error, $"rewrite or internal redirection cycle while processing \"{req.Uri}\"");
                await SendErrorPage(req, 500);
                return false;
            }
            var next = req.Server.Match(req.Uri);
            if (next == null) { await ServeStaticAsync(req, null); return false; }
            req.Location = next;
            await ServeLocationAsync(w, req, internalRedirects + 1);
            return false;
        }
        if (!rewriteFirst && loc.RewriteByLua != null && !await RunPhase(w, req, "rewrite", loc.RewriteByLua)) return false;
        // the realip module's location-level settings apply from the preaccess phase
        req.ApplyRealIp();
        // nginx skips the whole access phase for subrequests (ngx_http_core_access_phase)
        // access_by_lua_no_postpone: the Lua handler runs before allow/deny, else after them
        var accessFirst = Conf.AccessByLuaNoPostpone && loc.AccessByLua != null && !req.IsSubrequest;
        if (accessFirst && !await RunPhase(w, req, "access", loc.AccessByLua!)) return false;
        if (loc.AccessHandler != null && !req.IsSubrequest)
        {
            req.Phase = "access";
            await loc.AccessHandler(req);
            if (req.Finished) return false;
        }
        // the access module (allow/deny); with `satisfy any` a rule that grants ends the phase, one
        // that forbids only counts if no later handler grants
        var denied = 0;
        if (loc.AccessRules.Count > 0 && !req.IsSubrequest && AccessRuleAllows(req, loc) is { } allowed)
        {
            if (!allowed)
            {
                if (!loc.SatisfyAny)
                {
                    req.Log(LogLevel.Error, "access forbidden by rule");
                    await SendErrorPage(req, 403);
                    return false;
                }
                denied = 403;
            }
            else if (loc.SatisfyAny) return true;
        }
        if (!accessFirst && loc.AccessByLua != null && !req.IsSubrequest)
        {
            req.LuaDeclined = false;
            req.LuaAccessRefusal = null;
            if (!await RunPhase(w, req, "access", loc.AccessByLua)) return false;
            // satisfy any: a handler that ends normally grants; one that declines leaves the verdict as it was
            if (loc.SatisfyAny && req.LuaAccessRefusal is { } refused) denied = refused;
            else if (!req.LuaDeclined) denied = 0;
        }
        if (denied != 0)
        {
            // ngx_http_core_access_phase: no access handler granted
            if (denied == 403) req.Log(LogLevel.Error, "access forbidden by rule");
            await SendErrorPage(req, denied);
            return false;
        }
        return true;
    }

    /// <summary>The content phase: the location's handler (return, a C# handler, content_by_lua, proxy_pass, echo, static files).</summary>
    private Task ContentAsync(LuaWorker w, NgxRequest req, LocationConf loc)
    {
        req.Phase = "content";
        if (loc.Return is { } ret) return ReturnAsync(req, ret);
        if (loc.Handler != null) return loc.Handler(req);
        if (loc.ContentByLua != null) return RunPhase(w, req, "content", loc.ContentByLua);
        if (loc.ProxyPass != null) return ProxyPassAsync(req, loc);
        if (loc.Echo.Count > 0)
        {
            Echo(req, loc);
            return Task.CompletedTask;
        }
        return ServeStaticAsync(req, loc);
    }

    // apart from ContentAsync: their lambdas' captures would be allocated for every content phase
    private Task ProxyPassAsync(NgxRequest req, LocationConf loc) => ProxyPass.ServeAsync(this, req, loc, v => Interpolate(req, v));

    private void Echo(NgxRequest req, LocationConf loc)
    {
        foreach (var (args, noNewline) in loc.Echo)
            req.Append(string.Join(' ', args.Select(a => Interpolate(req, a))) + (noNewline ? "" : "\n"));
    }

    /// <summary>The rewrite module's `return CODE [TEXT|URL]` (location or server level).</summary>
    private static async Task ReturnAsync(NgxRequest req, (int Code, string? Text) ret)
    {
        if (ret.Code is 301 or 302 or 303 or 307 or 308 && ret.Text != null)
        {
            // `return 3xx URL`: the URL is the Location; one starting with "/" is made
            // absolute (absolute_redirect, port_in_redirect) from the Host and local port
            req.SetResponseHeader("Location", ret.Text.StartsWith('/') ? AbsoluteLocation(req, ret.Text) : ret.Text);
            await SendErrorPage(req, ret.Code);
        }
        else if (ret.Code == 444 && !req.IsSubrequest)
        {
            // NGX_HTTP_CLOSE: the connection is closed without a response
            req.Status = 444;
            req.Http.Abort();
        }
        else if (ret.Text != null) await req.SendSimpleAsync(ret.Code, ret.Text);
        else await SendErrorPage(req, ret.Code);
    }

    /// <summary>A Location starting with "/" as nginx's header filter completes it (absolute_redirect, port_in_redirect).</summary>
    private static string AbsoluteLocation(NgxRequest req, string location)
    {
        var host = (req.RequestHeader("Host") ?? req.Server.ServerNames.FirstOrDefault() ?? "localhost").Split(':')[0];
        var port = req.Http.Connection.LocalPort;
        return $"http://{host}{(port == 80 ? "" : ":" + port)}{location}";
    }

    /// <summary>The first allow/deny rule matching the client: true (allow), false (deny), null (none matches).</summary>
    private static bool? AccessRuleAllows(NgxRequest req, LocationConf loc)
    {
        var client = req.Http.Connection.RemoteIpAddress ?? System.Net.IPAddress.Loopback;
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        foreach (var (allow, spec) in loc.AccessRules)
        {
            if (spec == "all") return allow;
            if (System.Net.IPNetwork.TryParse(spec, out var net) ? net.Contains(client)
                : System.Net.IPAddress.TryParse(spec, out var ip) && ip.Equals(client))
                return allow;
        }
        return null;
    }

    private void ReleaseThread(LuaWorker w, LuaThreadCache.Thread thread, NgxRequest req)
    {
        var cached = w.Threads.Release(thread);
        if (ErrorLog.Enabled(LogLevel.Debug)) Log(w, LogLevel.Debug, LuaThreadCache.ReleasedLine(thread, cached), req);
    }

    /// <summary>Run a *_by_lua phase; false when the request was finished in it.</summary>
    private async Task<bool> RunPhase(LuaWorker w, NgxRequest req, string phase, LuaChunk chunk)
    {
        req.Phase = phase;
        NLua.LuaFunction fn;
        // *_by_lua_file's path may hold variables ($1 of a regex location, $arg_x...)
        if (chunk.File is { } file && file.Contains('$')) chunk = chunk with { File = Interpolate(req, file) };
        try { fn = w.Chunk(chunk); }
        catch (LuaChunkException e)
        {
            Log(w, LogLevel.Error, e.Message, req);
            if (!req.HeadersSent) await SendErrorPage(req, e.Status);
            else await req.FinishAsync();
            return false;
        }
        var thread = w.Threads.Take(out var reused);
        if (ErrorLog.Enabled(LogLevel.Debug)) Log(w, LogLevel.Debug, LuaThreadCache.TakenLine(thread, reused), req);
        var r = await w.RunEntry(fn, req);
        // a thread that ended is given back at once; one that failed when the request's threads are finalized
        if (r.Ok) ReleaseThread(w, thread, req);
        if (!r.Ok)
        {
            Log(w, LogLevel.Error, $"lua entry thread aborted: runtime error: {r.Error}\n{r.Traceback}", req);
            ReleaseThread(w, thread, req);
            if (!req.HeadersSent) await SendErrorPage(req, 500);
            else await req.FinishAsync();
            return false;
        }
        if (req.ExecUri is { } execUri)
        {
            await ExecAsync(w, req, execUri, req.ExecArgs);
            return false;
        }
        if (req.UriJump)
        {
            await UriJumpAsync(w, req);
            return false;
        }
        if (req.ExitStatus is int st)
        {
            // ngx.exit(ngx.DECLINED) in rewrite/access: the phase goes on as if the handler were not there
            if (st == -5 && phase is "rewrite" or "access" or "server_rewrite" && !req.HeadersSent)
            {
                req.ExitStatus = null;
                req.LuaDeclined = true;
                return true;
            }
            // satisfy any: a refusal counts only if no other access handler grants
            if (phase == "access" && st is 403 or 401 && req.Location.SatisfyAny && !req.HeadersSent)
            {
                req.ExitStatus = null;
                req.LuaAccessRefusal = st;
                return true;
            }
            // NGX_ERROR (-1), 444, and 408 / 499 (ngx_http_terminate_request) close the connection without a response
            if (st < 0 || st is 444 or 408 or 499)
            {
                // in a subrequest, the capture sees it finalized with an error: 500 (ngx_http_lua_post_subrequest)
                if (req.IsSubrequest)
                {
                    if (!req.HeadersSent) await req.SendSimpleAsync(st < 0 ? 500 : st, "", null);
                    return false;
                }
                // ngx_http_terminate_request: the status the log phase sees
                if (st > 0 && !req.HeadersSent) req.Status = st;
                req.Http.Abort();
                return false;
            }
            // ngx_http_lua_handle_exit: an exit code of 200 or more is the status when none was set yet
            if (!req.HeadersSent && req.Status == 0 && st >= 200) req.Status = st;
            // ngx_http_lua_handle_exit: with HTTP/1.0 buffering and a status set, what Lua printed goes out
            if (req.Http10Buffering && !req.HeadersSent && req.Status != 0 && st is not (408 or 499))
            {
                await req.FinishAsync();
                return false;
            }
            if (st >= 300 && !req.HeadersSent) await SendErrorPage(req, st);
            else if (st >= 200 || phase == "content") await req.FinishAsync();
            // ngx.exit(ngx.OK) ends the phase handler only; but a response already started in
            // rewrite/access ends the request there, as when the handler returns
            else if (phase is "access" or "rewrite" or "server_rewrite" && req.HeadersSent) await req.FinishAsync();
            return !req.Finished;
        }
        if (phase is "access" or "rewrite" or "server_rewrite" && req.HeadersSent)
        {
            // lua-nginx-module: a response started in rewrite/access ends the request there
            await req.FinishAsync();
            return false;
        }
        return true;
    }

    /// <summary>
    /// ngx.exec's internal redirect: the request starts over in the location of the new URI (or the
    /// named location), from the server's rewrite phase, with a fresh ngx.ctx; at most 10 times.
    /// </summary>
    private async Task ExecAsync(LuaWorker w, NgxRequest req, string uri, string? args)
    {
        req.ExecUri = null;
        req.ExecArgs = null;
        req.ExitStatus = null;
        if (++req.InternalRedirects > 10)
        {
            req.Log(LogLevel.Error, $"rewrite or internal redirection cycle while internally redirecting to \"{uri}\"");
            await SendErrorPage(req, 500);
            return;
        }
        w.FreeRequest(req); // nginx clears the modules' contexts: ngx.ctx starts empty
        LocationConf? next;
        if (uri.StartsWith('@'))
        {
            next = req.Server.Locations.FirstOrDefault(l => l.Pattern == uri);
            if (next == null)
            {
                req.Log(LogLevel.Error, $"could not find named location \"{uri}\"");
                await SendErrorPage(req, 500);
                return;
            }
        }
        else
        {
            req.Uri = uri;
            req.Args = args;
            next = req.Server.Match(uri);
            if (next?.Regex?.Match(uri) is { Success: true } m)
                for (var g = 1; g < m.Groups.Count; g++) req.Vars[g.ToString(System.Globalization.CultureInfo.InvariantCulture)] = m.Groups[g].Value;
            foreach (var step in req.Server.SetSteps) NgxVars.Set(req, step.Name, Interpolate(req, step.Value));
        }
        if (next == null)
        {
            await ServeStaticAsync(req, null);
            await req.FinishAsync();
            return;
        }
        req.Location = next;
        await ServeLocationAsync(w, req, Math.Max(1, req.InternalRedirects));
        await req.FinishAsync();
    }

    /// <summary>
    /// ngx.req.set_uri(uri, true): as after `rewrite ... last`, the location is found again for the new
    /// URI (nginx's post-rewrite phase, at most 10 times); lua-nginx-module starts its ctx afresh.
    /// </summary>
    private async Task UriJumpAsync(LuaWorker w, NgxRequest req)
    {
        req.UriJump = false;
        if (++req.InternalRedirects > 10)
        {
            req.Log(LogLevel.Error, $"rewrite or internal redirection cycle while processing \"{req.Uri}\"");
            await SendErrorPage(req, 500);
            return;
        }
        w.FreeRequest(req);
        var next = req.Server.Match(req.Uri);
        if (next == null) { await ServeStaticAsync(req, null); return; }
        if (next.Regex?.Match(req.Uri) is { Success: true } m)
            for (var g = 1; g < m.Groups.Count; g++) req.Vars[g.ToString(System.Globalization.CultureInfo.InvariantCulture)] = m.Groups[g].Value;
        req.Location = next;
        await ServeLocationAsync(w, req, req.InternalRedirects);
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
                if (Conf.ReadFile(root + uri + index) == null) continue;
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
        var data = Conf.ReadFile(path);
        if (data == null && (Directory.Exists(path) || Conf.Files.Keys.Any(k => k.StartsWith(path + "/", StringComparison.Ordinal))))
        {
            // a directory asked for without its slash: the static module redirects to it (the
            // header filter makes a main request's Location absolute; a subrequest keeps it as is)
            var location = req.Uri + "/" + (string.IsNullOrEmpty(req.Args) ? "" : "?" + req.Args);
            req.SetResponseHeader("Location", req.IsSubrequest ? location : AbsoluteLocation(req, location));
            await SendErrorPage(req, 301);
            return;
        }
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

    private bool StaticDirExists(string dir) =>
        Directory.Exists(dir) || Conf.Files.Keys.Any(k => k.StartsWith(dir, StringComparison.Ordinal));

    public static Task SendErrorPage(NgxRequest req, int status)
    {
        // error_page: the first error of a request may be answered by another URI (only the first:
        // nginx's recursive_error_pages is off)
        if (status >= 300 && !req.HeadersSent && !req.ErrorPageUsed && req.Nginx != null && req.Worker != null
            && req.Location.ErrorPages.TryGetValue(status, out var page))
            return req.Nginx.ErrorPageAsync(req, status, page);
        // a subrequest's capture took its response when the subrequest finalized, before nginx's
        // special response (the error page) was made: the capture gets the status and no body
        if (req.IsSubrequest && status >= 300 && !req.HeadersSent) return req.SendSimpleAsync(status, "", null);
        var reason = ReasonPhrases.GetReasonPhrase(status);
        var title = reason.Length > 0 ? $"{status} {reason}" : status.ToString();
        var tail = (req.Nginx?.Conf.Runtime ?? NginxRuntime.ApisixRuntime).ErrorPageTail(req.Server.ServerTokens);
        var body = $"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n{tail}";
        if (status < 300 || status == 304) body = "";
        return req.SendSimpleAsync(status, body, status >= 300 ? "text/html" : null);
    }

    public async ValueTask DisposeAsync()
    {
        // exit_worker_by_lua runs in each worker that started, before it goes
        if (Conf.ExitWorkerByLua.Count > 0 && InitFailure == null)
        {
            foreach (var w in Workers)
            {
                try
                {
                    await w.Loop.RunAsync(async () =>
                    {
                        w.Phase = "exit_worker";
                        foreach (var chunk in Conf.ExitWorkerByLua) await RunHook(w, chunk, "exit_worker_by_lua");
                    });
                }
                catch (Exception e)
                {
                    Log(w, LogLevel.Error, "exit_worker_by_lua error: " + e.Message, null);
                }
            }
        }
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
