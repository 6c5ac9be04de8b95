using System.Net;
using System.Text.RegularExpressions;

namespace Apisix.Core.OpenResty.Conf;

/// <summary>
/// A Lua chunk from the configuration, with the name nginx gives it in tracebacks and logs. A
/// `*_by_lua_file` chunk has <see cref="File"/> (read when first run; its chunk name is the path).
/// </summary>
public sealed record LuaChunk(string Code, string ChunkName, int Line, string? File = null);

/// <summary>The http{} level of an emulated nginx: shared dicts, init hooks and servers.</summary>
public sealed class HttpConf
{
    public List<ServerConf> Servers { get; } = new();
    /// <summary>The nginx and ngx_lua this one stands in for (<c>ngx.config</c>'s versions); APISIX's runtime unless set.</summary>
    public NginxRuntime Runtime { get; set; } = NginxRuntime.ApisixRuntime;
    public Dictionary<string, long> SharedDicts { get; } = new(StringComparer.Ordinal);
    public List<LuaChunk> InitByLua { get; } = new();
    public List<LuaChunk> InitWorkerByLua { get; } = new();
    /// <summary>`exit_worker_by_lua`: run in each worker when nginx stops.</summary>
    public List<LuaChunk> ExitWorkerByLua { get; } = new();
    /// <summary>`server_rewrite_by_lua*` in http{}: for servers without their own.</summary>
    public LuaChunk? ServerRewriteByLua { get; set; }
    /// <summary>The gzip module's settings in http{}.</summary>
    public GzipConf Gzip { get; } = new();
    /// <summary>`lua_package_path` (`;;` stands for the default path), or null.</summary>
    public string? LuaPackagePath { get; set; }
    /// <summary>`lua_package_cpath`, as written (no C modules load from it here; package.cpath shows it).</summary>
    public string? LuaPackageCpath { get; set; }
    /// <summary>`lua_socket_pool_size`: a cosocket connection pool's size when neither connect nor setkeepalive gives one.</summary>
    public int LuaSocketPoolSize { get; set; } = 30;
    /// <summary>`lua_socket_keepalive_timeout`: how long an idle pooled cosocket connection is kept (0: for ever).</summary>
    public TimeSpan LuaSocketKeepaliveTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary>`lua_socket_log_errors`, when the configuration sets it.</summary>
    public bool? LuaSocketLogErrors { get; set; }
    /// <summary>
    /// Whether a `resolver` is configured (anywhere): without one a cosocket cannot connect to a host
    /// name. Null: not known (the configuration is not a plain nginx.conf), taken as configured.
    /// </summary>
    public bool? HasResolver { get; set; }
    /// <summary>The name servers of the configuration's own `resolver` directive (address[:port]), in order.</summary>
    public List<string> Resolvers { get; } = new();
    /// <summary>`resolver_timeout`: how long a name lookup may take (30s by default).</summary>
    public TimeSpan ResolverTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>`upstream NAME { server HOST:PORT; ... }`: the servers of each upstream block.</summary>
    public Dictionary<string, List<string>> Upstreams { get; } = new(StringComparer.Ordinal);
    /// <summary>`real_ip_header` / `set_real_ip_from` at http level, for locations without their own.</summary>
    public string? RealIpHeader { get; set; }
    public List<string> SetRealIpFrom { get; } = new();
    /// <summary>`client_body_buffer_size` at http level, for locations without their own (null: bodies stay in memory).</summary>
    public long? ClientBodyBufferSize { get; set; }
    /// <summary>`client_body_timeout` (between two reads of the body); null: the enclosing level's, then 60s.</summary>
    public TimeSpan? ClientBodyTimeout { get; set; }
    /// <summary>`lua_need_request_body` in http{}, for servers and locations without their own.</summary>
    public bool NeedRequestBody { get; set; }
    /// <summary>`lua_check_client_abort` in http{}: a client closing the connection while Lua runs ends the request (499) or runs ngx.on_abort's handler.</summary>
    public bool CheckClientAbort { get; set; }
    /// <summary>`rewrite_by_lua_no_postpone on`: rewrite_by_lua runs first in the rewrite phase, before `set`/`rewrite`.</summary>
    public bool RewriteByLuaNoPostpone { get; set; }
    /// <summary>`access_by_lua_no_postpone on`: access_by_lua runs first in the access phase, before `allow`/`deny`.</summary>
    public bool AccessByLuaNoPostpone { get; set; }
    /// <summary>`lua_max_pending_timers`: ngx.timer.at/every refuse more ("too many pending timers").</summary>
    public int MaxPendingTimers { get; set; } = 1024;
    /// <summary>`lua_max_running_timers`: a timer expiring with this many running is dropped (alert).</summary>
    public int MaxRunningTimers { get; set; } = 256;
    /// <summary>`lua_thread_cache_max_entries`: how many spent entry threads a worker keeps for reuse (<see cref="LuaThreadCache"/>).</summary>
    public int ThreadCacheMaxEntries { get; set; } = 1024;
    /// <summary>`default_type` at http level, for servers without their own.</summary>
    public string? DefaultType { get; set; }
    /// <summary>`lua_http10_buffering` at http level (null: not given, on).</summary>
    public bool? Http10Buffering { get; set; }
    /// <summary>Directives accepted but not emulated, reported once as notices.</summary>
    public List<string> Ignored { get; } = new();
    /// <summary>
    /// Files the static handler sees before the disk, by full path (a test harness's
    /// html/index.html and user files, kept in memory so parallel runs share no directory).
    /// </summary>
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>A file by full path: the in-memory one first, else the disk; null when neither has it.</summary>
    public byte[]? ReadFile(string path) =>
        Files.TryGetValue(path, out var data) ? data
        : File.Exists(path) ? File.ReadAllBytes(path) : null;
}

/// <summary>One `listen`: address, port, and whether it takes TLS (`listen 1983 ssl`).</summary>
/// <summary>A `listen`: address and port, or a unix-domain socket path (not emulated: nothing reaches it).</summary>
public sealed record ListenSpec(IPAddress Address, int Port, bool Ssl = false, string? UnixPath = null)
{
    /// <summary>`listen ... default_server`: the port's server for a Host no server_name matches.</summary>
    public bool DefaultServer { get; init; }
}

public sealed class ServerConf
{
    public List<ListenSpec> Listens { get; } = new();
    public List<string> ServerNames { get; } = new();
    /// <summary>`server_tokens`: whether nginx's own error pages name its version (on unless turned off).</summary>
    public bool ServerTokens { get; set; } = true;
    public string? DefaultType { get; set; }
    /// <summary>`root` at server level; null means nginx's default, `html` under the prefix.</summary>
    public string? Root { get; set; }
    public List<LocationConf> Locations { get; } = new();
    /// <summary>`set $v value;` at server level: run in the server's rewrite phase, before the location's.</summary>
    public List<SetStep> SetSteps { get; } = new();
    /// <summary>`lua_http10_buffering` at server level (null: the http level's).</summary>
    public bool? Http10Buffering { get; set; }
    /// <summary>`client_body_timeout` at server level; null: http{}'s.</summary>
    public TimeSpan? ClientBodyTimeout { get; set; }
    /// <summary>`lua_need_request_body` at server level, for locations without their own; null: the http{} one.</summary>
    public bool? NeedRequestBody { get; set; }
    /// <summary>`lua_check_client_abort` at server level; null: the http{} one.</summary>
    public bool? CheckClientAbort { get; set; }
    /// <summary>`error_page` at server level, for locations without their own.</summary>
    public Dictionary<int, ErrorPage> ErrorPages { get; } = new();
    /// <summary>`ssl_certificate` / `ssl_certificate_key`: PEM paths as written (relative ones are under the conf directory).</summary>
    public string? SslCertificate { get; set; }
    public string? SslCertificateKey { get; set; }
    /// <summary>`ssl_certificate_by_lua_block`: runs during each TLS handshake on an ssl listen, before the certificate is sent.</summary>
    public LuaChunk? SslCertificateByLua { get; set; }
    /// <summary>`server_rewrite_by_lua*`: runs in the server rewrite phase, after the server's own `set`s, before a location is chosen.</summary>
    public LuaChunk? ServerRewriteByLua { get; set; }
    /// <summary>The gzip module's settings at server level.</summary>
    public GzipConf Gzip { get; } = new();
    /// <summary>`return` at server level: answers in the server rewrite phase, before any location.</summary>
    public (int Code, string? Text)? Return { get; set; }

    /// <summary>
    /// Add a location as nginx's ngx_http_add_location does: two prefix locations (plain or ^~)
    /// with the same URI, or two exact ones, are a configuration error.
    /// </summary>
    public void AddLocation(LocationConf loc, string where)
    {
        static bool Prefix(LocationConf l) => l.Modifier is "" or "^~";
        if (loc.Regex == null)
            foreach (var other in Locations)
                if (other.Pattern == loc.Pattern && other.Regex == null
                    && (Prefix(loc) && Prefix(other) || loc.Modifier == "=" && other.Modifier == "="))
                    throw new NginxConfException($"duplicate location \"{loc.Pattern}\" in {where}");
        Locations.Add(loc);
        InheritHooks(loc);
    }

    /// <summary>
    /// Server-level Lua phases (rewrite_by_lua, access_by_lua, log_by_lua, the filters): each one a
    /// location does not set itself is the server's, as nginx merges location configurations.
    /// </summary>
    public List<(Func<LocationConf, LuaChunk?> Get, Action<LocationConf, LuaChunk> Set, LuaChunk Chunk)> LuaHooks { get; } = new();

    public void InheritHooks(LocationConf loc)
    {
        foreach (var (get, set, chunk) in LuaHooks)
            if (get(loc) == null) set(loc, chunk);
    }

    public bool ListensOn(IPAddress local, int port)
    {
        foreach (var l in Listens)
            if (l.Port == port && (l.Address.Equals(IPAddress.Any) || l.Address.Equals(local))) return true;
        return false;
    }

    /// <summary>nginx's location choice: exact, then longest prefix (final when ^~), then regexes in order.</summary>
    public LocationConf? Match(string uri)
    {
        LocationConf? bestPrefix = null;
        foreach (var loc in Locations)
        {
            if (loc.Modifier == "=" && loc.Pattern == uri) return loc;
            if (loc.Modifier is "" or "^~" && uri.StartsWith(loc.Pattern, StringComparison.Ordinal)
                && (bestPrefix == null || loc.Pattern.Length > bestPrefix.Pattern.Length))
                bestPrefix = loc;
        }
        if (bestPrefix?.Modifier == "^~") return bestPrefix;
        foreach (var loc in Locations)
            if (loc.Regex != null && loc.Regex.IsMatch(uri)) return loc;
        return bestPrefix;
    }
}

/// <summary>What the content phase of a location does.</summary>
public sealed class LocationConf
{
    public required string Modifier { get; init; }   // "", "=", "~", "~*", "^~"
    public required string Pattern { get; init; }
    public Regex? Regex { get; init; }
    public string? DefaultType { get; set; }
    /// <summary>`root` (relative to the prefix when not absolute); null: the server's.</summary>
    public string? Root { get; set; }
    /// <summary>`index` files tried for a URI ending in `/`; nginx's default is index.html.</summary>
    public List<string>? Index { get; set; }
    public LuaChunk? RewriteByLua { get; set; }
    public LuaChunk? AccessByLua { get; set; }
    public LuaChunk? ContentByLua { get; set; }
    public LuaChunk? HeaderFilterByLua { get; set; }
    public LuaChunk? BodyFilterByLua { get; set; }
    public LuaChunk? LogByLua { get; set; }
    /// <summary>`internal`: only internal redirects reach it; a client request gets 404.</summary>
    public bool Internal { get; set; }
    /// <summary>
    /// `lua_error_log_request_id $VAR` (api7's apisix-nginx-module): the variable whose value error-log
    /// lines of the location's requests end with, as <c>, request_id: "VALUE"</c>; null: none.
    /// </summary>
    public string? ErrorLogRequestId { get; set; }
    /// <summary>`lua_need_request_body on`: the body is read before the rewrite phase; null: the server's.</summary>
    public bool? NeedRequestBody { get; set; }
    /// <summary>`lua_check_client_abort`; null: the server's.</summary>
    public bool? CheckClientAbort { get; set; }
    /// <summary>`proxy_intercept_errors on`: an upstream status with an `error_page` is answered by that page.</summary>
    public bool ProxyInterceptErrors { get; set; }
    /// <summary>`proxy_pass_request_body` (on by default): off keeps the client's body from the upstream.</summary>
    public bool ProxyPassRequestBody { get; set; } = true;
    /// <summary>The gzip module's settings here (unset ones come from the server, then http{}).</summary>
    public GzipConf Gzip { get; } = new();
    /// <summary>`charset NAME` (null or "off": none): added to a Content-Type of <see cref="CharsetTypes"/> that has no charset.</summary>
    public string? Charset { get; set; }
    /// <summary>`charset_types`: the MIME types `charset` applies to (nginx's defaults when not given).</summary>
    public List<string>? CharsetTypes { get; set; }
    /// <summary>`lua_http10_buffering` (inherited from server and http; on when never given): Lua output
    /// to an HTTP/1.0 client is held until the end, to send it with a Content-Length.</summary>
    public bool? Http10Buffering { get; set; }
    /// <summary>`add_header NAME VALUE [always]` in order; `$var` in the value is interpolated.</summary>
    public List<(string Name, string Value, bool Always)> AddHeaders { get; } = new();
    /// <summary>echo-nginx-module's `echo [-n] args...` in order: the location's content (args interpolated).</summary>
    public List<(IReadOnlyList<string> Args, bool NoNewline)> Echo { get; } = new();
    /// <summary>`proxy_pass URL` (may hold variables): the location's content comes from there.</summary>
    public string? ProxyPass { get; set; }
    /// <summary>`proxy_set_header NAME VALUE` in order (an empty value drops the header).</summary>
    public List<(string Name, string Value)> ProxySetHeaders { get; } = new();
    /// <summary>`lua_socket_log_errors` in this location (null: the server's or http's).</summary>
    public bool? LuaSocketLogErrors { get; set; }
    /// <summary>`proxy_read_timeout` (between two reads from the upstream): 60s by default.</summary>
    public TimeSpan ProxyReadTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary>`proxy_buffering` (on by default): the body is passed on once read, a failed read loses what was buffered.</summary>
    public bool ProxyBuffering { get; set; } = true;
    /// <summary>`proxy_http_version`: 1.0 by default.</summary>
    public string ProxyHttpVersion { get; set; } = "1.0";
    /// <summary>`error_page CODE... [=[STATUS]] TARGET` by status (server-level ones are inherited).</summary>
    public Dictionary<int, ErrorPage> ErrorPages { get; } = new();
    /// <summary>`return CODE [text]`.</summary>
    public (int Code, string? Text)? Return { get; set; }
    /// <summary>`set $name value;` in order (rewrite phase); `$var` in the value is interpolated.</summary>
    public List<(string Name, string Value)> Sets { get; } = new();
    /// <summary>
    /// The configuration's `set $v value;` and `set_by_lua* $v ... [args]` in their order (rewrite
    /// phase, after <see cref="Sets"/>); for set_by_lua, <see cref="SetStep.Lua"/> computes the value
    /// from its interpolated arguments (ngx.arg).
    /// </summary>
    public List<SetStep> SetSteps { get; } = new();
    /// <summary>A content handler written in C# (APISIX's admin API and gateway).</summary>
    public Func<NgxRequest, Task>? Handler { get; set; }
    /// <summary>Whether nginx's static module serves this location (it has no other content handler).</summary>
    public bool IsStatic => Return == null && Handler == null && ContentByLua == null && Echo.Count == 0 && ProxyPass == null;
    /// <summary>Runs before the content handler, like an access_by_lua step of t::APISIX.</summary>
    public Func<NgxRequest, Task>? AccessHandler { get; set; }
    /// <summary>The access module's `allow` / `deny` rules, in order: the first that matches the client decides.</summary>
    public List<(bool Allow, string Address)> AccessRules { get; } = new();
    /// <summary>`satisfy any`: one access handler granting is enough (else all must).</summary>
    public bool SatisfyAny { get; set; }
    /// <summary>realip module: `real_ip_header` (null: the module is off here).</summary>
    public string? RealIpHeader { get; set; }
    /// <summary>realip module: `set_real_ip_from` addresses and CIDRs (`unix:` included as written).</summary>
    public List<string> SetRealIpFrom { get; } = new();
    /// <summary>`client_body_in_file_only on|clean`: the request body is always kept in a temp file.</summary>
    public bool ClientBodyInFileOnly { get; set; }
    /// <summary>
    /// `client_body_buffer_size` in this location: a larger body goes to a temp file. Null when the
    /// location does not set it: then the http level's applies, and without one bodies stay in
    /// memory whatever their size (nginx's default buffer, 8k/16k, is not applied).
    /// </summary>
    public long? ClientBodyBufferSize { get; set; }
    /// <summary>`client_body_timeout` (between two reads of the body); null: the enclosing level's, then 60s.</summary>
    public TimeSpan? ClientBodyTimeout { get; set; }
}

/// <summary>One `set` (Lua null: Value is interpolated) or `set_by_lua*` (Args interpolated into ngx.arg).</summary>
public sealed record SetStep(string Name, string Value, LuaChunk? Lua = null, IReadOnlyList<string>? Args = null, RewriteRule? Rewrite = null);

/// <summary>`rewrite REGEX REPLACEMENT [FLAG]` (a rewrite-phase step, in order with `set`).</summary>
public sealed record RewriteRule(Regex Regex, string Replacement, string? Flag);

/// <summary>One error_page target: Status null with UseResponseStatus false means "the error's status".</summary>
public sealed record ErrorPage(string Target, int? Status, bool UseResponseStatus);

/// <summary>
/// nginx's gzip filter settings at one level (`gzip`, `gzip_types`, `gzip_min_length`); null where
/// the level does not set it. <see cref="Resolve"/> merges location, server and http{} as nginx does.
/// </summary>
public sealed class GzipConf
{
    public bool? On { get; set; }
    public List<string>? Types { get; set; }
    public long? MinLength { get; set; }

    /// <summary>Whether gzip is on, its MIME types (text/html always among them) and its minimum length.</summary>
    public static (bool On, IReadOnlyList<string> Types, long MinLength) Resolve(GzipConf loc, GzipConf server, GzipConf? http) =>
        (loc.On ?? server.On ?? http?.On ?? false,
         loc.Types ?? server.Types ?? http?.Types ?? ["text/html"],
         loc.MinLength ?? server.MinLength ?? http?.MinLength ?? 20);
}
