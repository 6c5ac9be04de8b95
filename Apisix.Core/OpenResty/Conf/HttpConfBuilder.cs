using System.Net;
using System.Text.RegularExpressions;

namespace Apisix.Core.OpenResty.Conf;

/// <summary>
/// A directive this emulation does not have, reported as nginx reports one its build lacks
/// (`unknown directive "x" in /path/nginx.conf:N`), so the block fails as nginx would fail to start.
/// </summary>
public sealed class UnknownDirectiveException(Directive d)
    : NginxConfException($"unknown directive \"{d.Name}\" in {d.Source}:{d.Line}")
{
    public string Name { get; } = d.Name;
}

/// <summary>
/// Turns http-level directives into an <see cref="HttpConf"/>. A directive is either emulated,
/// or on the short list of those whose effect the emulation does not model (timeouts, buffer sizes,
/// caches: noted at debug level and ignored), or unknown: <see cref="UnknownDirectiveException"/>.
/// </summary>
public static class HttpConfBuilder
{
    /// <summary>
    /// Directives accepted with no effect here: tuning (sizes, timeouts, caches) or features whose
    /// absence does not change what a test sees through the emulation's defaults.
    /// </summary>
    public static readonly IReadOnlySet<string> NoEffect = new HashSet<string>(StringComparer.Ordinal)
    {
        // lua-nginx-module tuning
        "lua_code_cache", "lua_regex_cache_max_entries", "lua_regex_match_limit",
        "lua_malloc_trim", "lua_socket_buffer_size",
        "lua_socket_pool_size", "lua_socket_keepalive_timeout", "lua_socket_connect_timeout",
        "lua_socket_send_timeout", "lua_socket_read_timeout", "lingering_close",
        "lua_load_resty_core", "lua_package_cpath", "lua_ssl_trusted_certificate", "lua_ssl_verify_depth",
        "lua_ssl_protocols", "lua_ssl_ciphers",
        // nginx core: connection and buffer tuning, logging switches
        "server_tokens", "keepalive_timeout", "keepalive_requests", "client_header_timeout",
        "send_timeout", "client_max_body_size", "client_body_buffer_size", "client_header_buffer_size",
        "large_client_header_buffers", "postpone_output", "sendfile", "tcp_nodelay", "tcp_nopush", "resolver",
        "resolver_timeout", "access_log", "error_log", "log_subrequest", "underscores_in_headers",
        "ignore_invalid_headers", "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
        "scgi_temp_path", "uwsgi_temp_path", "client_body_in_file_only", "set_real_ip_from", "real_ip_header",
        "proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout", "types_hash_max_size",
        "server_names_hash_bucket_size", "proxy_buffering", "lua_use_default_type", "gzip_buffers",
        // TLS tuning: protocol versions, session caching, client CA list (client certificates are not requested)
        "ssl_protocols", "ssl_ciphers", "ssl_prefer_server_ciphers", "ssl_session_cache", "ssl_session_timeout",
        "ssl_session_tickets", "ssl_client_certificate", "ssl_verify_depth",
    };

    public static void AddHttpDirectives(HttpConf conf, IEnumerable<Directive> directives)
    {
        var servers = new List<ServerConf>();
        foreach (var d in directives)
        {
            if (LuaHook(d, "init_by_lua") is { } init) { conf.InitByLua.Add(init); continue; }
            if (LuaHook(d, "init_worker_by_lua") is { } initWorker) { conf.InitWorkerByLua.Add(initWorker); continue; }
            if (LuaHook(d, "exit_worker_by_lua") is { } exitWorker) { conf.ExitWorkerByLua.Add(exitWorker); continue; }
            if (LuaHook(d, "server_rewrite_by_lua") is { } serverRewrite) { conf.ServerRewriteByLua = serverRewrite; continue; }
            switch (d.Name)
            {
                case "server":
                    var s = BuildServer(conf, d);
                    conf.Servers.Add(s);
                    servers.Add(s);
                    break;
                case "lua_shared_dict": conf.SharedDicts[d.Arg(0)] = ParseSize(d.Arg(1)); break;
                case "lua_package_path": conf.LuaPackagePath = d.Arg(0); break;
                case "lua_package_cpath": conf.LuaPackageCpath = d.Arg(0); break;
                case "lua_need_request_body": conf.NeedRequestBody = d.Arg(0) == "on"; break;
                case "lua_check_client_abort": conf.CheckClientAbort = d.Arg(0) == "on"; break;
                case "rewrite_by_lua_no_postpone": conf.RewriteByLuaNoPostpone = d.Arg(0) == "on"; break;
                case "access_by_lua_no_postpone": conf.AccessByLuaNoPostpone = d.Arg(0) == "on"; break;
                case "lua_max_pending_timers": conf.MaxPendingTimers = int.Parse(d.Arg(0), System.Globalization.CultureInfo.InvariantCulture); break;
                case "lua_max_running_timers": conf.MaxRunningTimers = int.Parse(d.Arg(0), System.Globalization.CultureInfo.InvariantCulture); break;
                case "lua_thread_cache_max_entries": conf.ThreadCacheMaxEntries = int.Parse(d.Arg(0), System.Globalization.CultureInfo.InvariantCulture); break;
                case "lua_socket_log_errors": conf.LuaSocketLogErrors = d.Arg(0) == "on"; break;
                case "gzip" or "gzip_types" or "gzip_min_length": Gzip(conf.Gzip, d); break;
                case "default_type": conf.DefaultType = d.Arg(0); break;
                case "lua_http10_buffering": conf.Http10Buffering = d.Arg(0) == "on"; break;
                case "client_body_buffer_size": conf.ClientBodyBufferSize = ParseSize(d.Arg(0)); break;
                case "client_body_timeout": conf.ClientBodyTimeout = ParseTime(d.Arg(0)); break;
                case "real_ip_header": conf.RealIpHeader = d.Arg(0); break;
                case "set_real_ip_from": conf.SetRealIpFrom.Add(d.Arg(0)); break;
                case "upstream":
                    var peers = new List<string>();
                    foreach (var u in d.Block ?? [])
                    {
                        if (u.Name == "server") peers.Add(u.Arg(0));
                        else if (u.Name != "keepalive") throw new UnknownDirectiveException(u);
                    }
                    conf.Upstreams[d.Arg(0)] = peers;
                    break;
                default: Accept(conf, d); break;
            }
        }
        if (conf.DefaultType != null)
            foreach (var s in servers) s.DefaultType ??= conf.DefaultType;
    }

    /// <summary>A directive with no emulated effect: noted if on <see cref="NoEffect"/>, else unknown.</summary>
    public static void Accept(HttpConf conf, Directive d)
    {
        if (!NoEffect.Contains(d.Name)) throw new UnknownDirectiveException(d);
        if (d.Name == "resolver")
        {
            conf.HasResolver = true;
            conf.Resolvers.AddRange(d.Args.Where(a => !a.Contains('=')));
        }
        if (d.Name == "resolver_timeout") conf.ResolverTimeout = ParseTime(d.Arg(0));
        // the cosocket pool defaults, at whatever level they are written (one value here)
        if (d.Name == "lua_socket_pool_size") { conf.LuaSocketPoolSize = int.Parse(d.Arg(0), System.Globalization.CultureInfo.InvariantCulture); return; }
        if (d.Name == "lua_socket_keepalive_timeout") { conf.LuaSocketKeepaliveTimeout = ParseTime(d.Arg(0)); return; }
        conf.Ignored.Add($"{d.Name} ({d.Source}:{d.Line})");
    }

    /// <summary>
    /// `STEM_block { }`, `STEM 'code'` or `STEM_file path` (STEM: `content_by_lua`, ...) as a chunk,
    /// or null when <paramref name="d"/> is none of them. A file's path is resolved when it runs.
    /// </summary>
    public static LuaChunk? LuaHook(Directive d, string stem)
    {
        if (d.Name == stem + "_block") return Chunk(stem, d);
        if (d.Name == stem) return new LuaChunk(d.Arg(0), d.ChunkName(stem), d.Line);
        if (d.Name == stem + "_file") return new LuaChunk("", d.Arg(0), d.Line, d.Arg(0));
        return null;
    }

    public static LuaChunk Chunk(string phase, Directive d) =>
        new(d.Lua ?? "", d.ChunkName(phase), d.Line);

    public static ServerConf BuildServer(HttpConf conf, Directive server)
    {
        var s = new ServerConf();
        AddServerDirectives(conf, s, server.Block ?? []);
        return s;
    }

    // the Lua phases nginx also takes at server level (content_by_lua is a location's only);
    // a location without its own inherits the server's, as nginx merges location configurations
    private static readonly (string Phase, Func<LocationConf, LuaChunk?> Get, Action<LocationConf, LuaChunk> Set)[] ServerHooks =
    [
        ("rewrite_by_lua", l => l.RewriteByLua, (l, c) => l.RewriteByLua = c),
        ("access_by_lua", l => l.AccessByLua, (l, c) => l.AccessByLua = c),
        ("log_by_lua", l => l.LogByLua, (l, c) => l.LogByLua = c),
        ("header_filter_by_lua", l => l.HeaderFilterByLua, (l, c) => l.HeaderFilterByLua = c),
        ("body_filter_by_lua", l => l.BodyFilterByLua, (l, c) => l.BodyFilterByLua = c),
    ];

    public static void AddServerDirectives(HttpConf conf, ServerConf s, IEnumerable<Directive> directives)
    {
        foreach (var d in directives)
        {
            if (LuaHook(d, "ssl_certificate_by_lua") is { } sslHook) { s.SslCertificateByLua = sslHook; continue; }
            if (LuaHook(d, "server_rewrite_by_lua") is { } serverRewrite) { s.ServerRewriteByLua = serverRewrite; continue; }
            var hooked = false;
            foreach (var (phase, get, set) in ServerHooks)
            {
                if (LuaHook(d, phase) is not { } chunk) continue;
                s.LuaHooks.Add((get, set, chunk));
                hooked = true;
                break;
            }
            if (hooked) continue;
            switch (d.Name)
            {
                case "listen":
                    s.Listens.Add(ParseListen(d.Arg(0)) with
                    {
                        Ssl = d.Args.Skip(1).Contains("ssl"),
                        DefaultServer = d.Args.Skip(1).Any(a => a is "default_server" or "default"),
                    });
                    break;
                case "return": s.Return = ParseReturn(d); break;
                case "gzip" or "gzip_types" or "gzip_min_length": Gzip(s.Gzip, d); break;
                case "ssl_certificate": s.SslCertificate = d.Arg(0); break;
                case "ssl_certificate_key": s.SslCertificateKey = d.Arg(0); break;
                case "server_name": s.ServerNames.AddRange(d.Args); break;
                case "default_type": s.DefaultType = d.Arg(0); break;
                case "location": s.AddLocation(BuildLocation(conf, d), $"{d.Source}:{d.Line}"); break;
                case "root": s.Root = d.Arg(0); break;
                case "error_page": AddErrorPage(s.ErrorPages, d); break;
                case "set": s.SetSteps.Add(new SetStep(d.Arg(0).TrimStart('$'), d.Arg(1))); break;
                case "set_by_lua" or "set_by_lua_file" or "set_by_lua_block": s.SetSteps.Add(SetByLuaStep(d)); break;
                case "lua_need_request_body": s.NeedRequestBody = d.Arg(0) == "on"; break;
                case "lua_check_client_abort": s.CheckClientAbort = d.Arg(0) == "on"; break;
                case "lua_http10_buffering": s.Http10Buffering = d.Arg(0) == "on"; break;
                case "client_body_timeout": s.ClientBodyTimeout = ParseTime(d.Arg(0)); break;
                case "lua_socket_log_errors": conf.LuaSocketLogErrors = d.Arg(0) == "on"; break;
                default: Accept(conf, d); break;
            }
        }
        foreach (var loc in s.Locations)
        {
            if (loc.ErrorPages.Count == 0)
                foreach (var (code, page) in s.ErrorPages) loc.ErrorPages[code] = page;
            loc.Http10Buffering ??= s.Http10Buffering ?? conf.Http10Buffering;
            s.InheritHooks(loc);
        }
    }

    /// <summary>`set_by_lua $res 'code' [args]`, `set_by_lua_file $res path [args]`, `set_by_lua_block $res [args] { }`.</summary>
    private static SetStep SetByLuaStep(Directive x)
    {
        if (x.Name == "set_by_lua_block")
            return new SetStep(x.Arg(0).TrimStart('$'), "", Chunk("set_by_lua", x), x.Args.Skip(1).ToList());
        // the chunk is the second word
        var luaForm = x with { Name = x.Name.Replace("set_", "", StringComparison.Ordinal), Args = x.Args.Skip(1).ToList() };
        return new SetStep(x.Arg(0).TrimStart('$'), "", LuaHook(luaForm, "by_lua") is { } c
            ? c with { ChunkName = c.File != null ? c.ChunkName : x.ChunkName("set_by_lua") } : null,
            x.Args.Skip(2).ToList());
    }

    /// <summary>`error_page CODE... [=[STATUS]] TARGET`.</summary>
    private static void AddErrorPage(Dictionary<int, ErrorPage> pages, Directive d)
    {
        var args = d.Args.ToList();
        if (args.Count < 2) throw new NginxConfException($"invalid number of arguments in \"error_page\" directive in {d.Source}:{d.Line}");
        var target = args[^1];
        args.RemoveAt(args.Count - 1);
        int? status = null;
        var useResponse = false;
        if (args[^1].StartsWith('='))
        {
            var eq = args[^1][1..];
            args.RemoveAt(args.Count - 1);
            if (eq.Length == 0) useResponse = true;
            else if (int.TryParse(eq, out var n)) status = n;
            else throw new NginxConfException($"invalid value \"={eq}\" in {d.Source}:{d.Line}");
        }
        foreach (var code in args)
        {
            if (!int.TryParse(code, out var c) || c < 300 || c > 599)
                throw new NginxConfException($"value \"{code}\" must be between 300 and 599 in {d.Source}:{d.Line}");
            pages[c] = new ErrorPage(target, status, useResponse);
        }
    }

    private static readonly (string Phase, Action<LocationConf, LuaChunk> Set)[] LocationHooks =
    [
        ("content_by_lua", (l, c) => l.ContentByLua = c),
        ("access_by_lua", (l, c) => l.AccessByLua = c),
        ("rewrite_by_lua", (l, c) => l.RewriteByLua = c),
        ("log_by_lua", (l, c) => l.LogByLua = c),
        ("header_filter_by_lua", (l, c) => l.HeaderFilterByLua = c),
        ("body_filter_by_lua", (l, c) => l.BodyFilterByLua = c),
    ];

    public static LocationConf BuildLocation(HttpConf conf, Directive d)
    {
        string modifier = "", pattern;
        if (d.Args.Count >= 2) { modifier = d.Args[0]; pattern = d.Args[1]; }
        else pattern = d.Arg(0);
        Regex? regex = modifier switch
        {
            "~" => new Regex(pattern, RegexOptions.CultureInvariant),
            "~*" => new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase),
            _ => null,
        };
        var loc = new LocationConf { Modifier = modifier, Pattern = pattern, Regex = regex };
        foreach (var x in d.Block ?? [])
        {
            var hooked = false;
            foreach (var (phase, set) in LocationHooks)
            {
                if (LuaHook(x, phase) is not { } chunk) continue;
                set(loc, chunk);
                hooked = true;
                break;
            }
            if (hooked) continue;
            switch (x.Name)
            {
                case "default_type": loc.DefaultType = x.Arg(0); break;
                case "real_ip_header": loc.RealIpHeader = x.Arg(0); break;
                case "set_real_ip_from": loc.SetRealIpFrom.Add(x.Arg(0)); break;
                case "client_body_in_file_only": loc.ClientBodyInFileOnly = x.Arg(0) is "on" or "clean"; break;
                case "client_body_buffer_size": loc.ClientBodyBufferSize = ParseSize(x.Arg(0)); break;
                case "client_body_timeout": loc.ClientBodyTimeout = ParseTime(x.Arg(0)); break;
                case "root": loc.Root = x.Arg(0); break;
                case "index": loc.Index = x.Args.ToList(); break;
                case "set": loc.SetSteps.Add(new SetStep(x.Arg(0).TrimStart('$'), x.Arg(1))); break;
                case "lua_error_log_request_id": loc.ErrorLogRequestId = x.Arg(0).TrimStart('$'); break;
                case "set_by_lua" or "set_by_lua_file" or "set_by_lua_block": loc.SetSteps.Add(SetByLuaStep(x)); break;
                case "internal": loc.Internal = true; break;
                case "lua_socket_log_errors": loc.LuaSocketLogErrors = x.Arg(0) == "on"; break;
                case "error_page": AddErrorPage(loc.ErrorPages, x); break;
                case "rewrite":
                    if (x.Args.Count < 2 || x.Args.Count > 3 || x.Args.Count == 3 && x.Args[2] is not ("last" or "break" or "redirect" or "permanent"))
                        throw new NginxConfException($"invalid number of arguments in \"rewrite\" directive in {x.Source}:{x.Line}");
                    loc.SetSteps.Add(new SetStep("", "", Rewrite: new RewriteRule(
                        new Regex(x.Arg(0), RegexOptions.CultureInvariant), x.Arg(1), x.Args.Count > 2 ? x.Args[2] : null)));
                    break;
                case "proxy_pass": loc.ProxyPass = x.Arg(0); break;
                // the emulated proxy tries one peer only, which is `proxy_next_upstream off`; other values are not emulated
                case "proxy_next_upstream" when x.Args is ["off"]: break;
                case "proxy_set_header": loc.ProxySetHeaders.Add((x.Arg(0), x.Arg(1))); break;
                case "proxy_pass_request_body": loc.ProxyPassRequestBody = x.Arg(0) == "on"; break;
                case "proxy_http_version": loc.ProxyHttpVersion = x.Arg(0); break;
                case "proxy_read_timeout": loc.ProxyReadTimeout = ParseTime(x.Arg(0)); break;
                case "proxy_buffering": loc.ProxyBuffering = x.Arg(0) == "on"; break;
                case "echo":
                    var words = x.Args.ToList();
                    var noNewline = false;
                    // leading options, as echo-nginx-module reads them: -n, and -- to end them
                    while (words.Count > 0 && words[0] is "-n" or "--")
                    {
                        var option = words[0];
                        words.RemoveAt(0);
                        if (option == "--") break;
                        noNewline = true;
                    }
                    loc.Echo.Add((words, noNewline));
                    break;
                case "lua_need_request_body": loc.NeedRequestBody = x.Arg(0) == "on"; break;
                case "lua_check_client_abort": loc.CheckClientAbort = x.Arg(0) == "on"; break;
                case "lua_http10_buffering": loc.Http10Buffering = x.Arg(0) == "on"; break;
                case "proxy_intercept_errors": loc.ProxyInterceptErrors = x.Arg(0) == "on"; break;
                case "allow" or "deny": loc.AccessRules.Add((x.Name == "allow", x.Arg(0))); break;
                case "satisfy": loc.SatisfyAny = x.Arg(0) == "any"; break;
                case "charset": loc.Charset = x.Arg(0); break;
                case "charset_types": loc.CharsetTypes = [.. x.Args]; break;
                case "add_header":
                    loc.AddHeaders.Add((x.Arg(0), x.Arg(1), x.Args.Count > 2 && x.Args[2] == "always"));
                    break;
                case "return": loc.Return = ParseReturn(x); break;
                case "gzip" or "gzip_types" or "gzip_min_length": Gzip(loc.Gzip, x); break;
                default: Accept(conf, x); break;
            }
        }
        return loc;
    }

    /// <summary>`gzip on|off`, `gzip_types MIME...` (text/html is always one), `gzip_min_length SIZE`.</summary>
    private static void Gzip(GzipConf g, Directive d)
    {
        switch (d.Name)
        {
            case "gzip": g.On = d.Arg(0) == "on"; break;
            case "gzip_types": g.Types = ["text/html", .. d.Args]; break;
            case "gzip_min_length": g.MinLength = ParseSize(d.Arg(0)); break;
        }
    }

    /// <summary>`return CODE [TEXT]`, or `return URL` (a 302 to it).</summary>
    private static (int, string?) ParseReturn(Directive x) =>
        int.TryParse(x.Arg(0), out var code) ? (code, x.Args.Count > 1 ? x.Args[1] : null) : (302, x.Arg(0));

    public static ListenSpec ParseListen(string value)
    {
        if (value.StartsWith("unix:", StringComparison.Ordinal) || value.StartsWith('/'))
            return new ListenSpec(IPAddress.None, 0, UnixPath: value.StartsWith('/') ? value : value[5..]);
        var colon = value.LastIndexOf(':');
        if (colon < 0) return new ListenSpec(IPAddress.Any, int.Parse(value));
        var host = value[..colon].Trim('[', ']');
        var addr = host is "*" or "" ? IPAddress.Any
            : host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        return new ListenSpec(addr, int.Parse(value[(colon + 1)..]));
    }

    /// <summary>An nginx time: a number with ms, s, m, h, d, w, M or y (seconds without a unit), or several summed ("1m30s").</summary>
    public static TimeSpan ParseTime(string s)
    {
        var total = 0.0;
        foreach (Match m in Regex.Matches(s, @"(\d+)(ms|s|m|h|d|w|M|y)?"))
        {
            var n = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            total += n * (m.Groups[2].Value switch
            {
                "ms" => 0.001, "m" => 60, "h" => 3600, "d" => 86400, "w" => 604800, "M" => 2592000, "y" => 31536000, _ => 1,
            });
        }
        return TimeSpan.FromSeconds(total);
    }

    public static long ParseSize(string s)
    {
        if (s.Length == 0) return 0;
        var mult = char.ToLowerInvariant(s[^1]) switch { 'k' => 1024L, 'm' => 1024L * 1024, 'g' => 1024L * 1024 * 1024, _ => 1L };
        return long.Parse(mult == 1 ? s : s[..^1]) * mult;
    }
}
