using System.Net;
using System.Text.RegularExpressions;

namespace Apisix.Core.OpenResty.Conf;

/// <summary>Turns http-level directives into an <see cref="HttpConf"/>; unknown directives become notices.</summary>
public static class HttpConfBuilder
{
    public static void AddHttpDirectives(HttpConf conf, IEnumerable<Directive> directives)
    {
        foreach (var d in directives)
        {
            switch (d.Name)
            {
                case "server": conf.Servers.Add(BuildServer(conf, d)); break;
                case "lua_shared_dict": conf.SharedDicts[d.Arg(0)] = ParseSize(d.Arg(1)); break;
                case "init_by_lua_block": conf.InitByLua.Add(Chunk("init_by_lua", d)); break;
                case "init_worker_by_lua_block": conf.InitWorkerByLua.Add(Chunk("init_worker_by_lua", d)); break;
                default: conf.Ignored.Add($"{d.Name} ({d.Source}:{d.Line})"); break;
            }
        }
    }

    public static LuaChunk Chunk(string phase, Directive d) => new(d.Lua ?? "", $"{phase}({d.Source}:{d.Line})", d.Line);

    public static ServerConf BuildServer(HttpConf conf, Directive server)
    {
        var s = new ServerConf();
        AddServerDirectives(conf, s, server.Block ?? []);
        return s;
    }

    public static void AddServerDirectives(HttpConf conf, ServerConf s, IEnumerable<Directive> directives)
    {
        foreach (var d in directives)
        {
            switch (d.Name)
            {
                case "listen": s.Listens.Add(ParseListen(d.Arg(0))); break;
                case "server_name": s.ServerNames.AddRange(d.Args); break;
                case "default_type": s.DefaultType = d.Arg(0); break;
                case "location": s.AddLocation(BuildLocation(conf, d), $"{d.Source}:{d.Line}"); break;
                case "root": s.Root = d.Arg(0); break;
                default: conf.Ignored.Add($"{d.Name} ({d.Source}:{d.Line})"); break;
            }
        }
    }

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
            switch (x.Name)
            {
                case "content_by_lua_block": loc.ContentByLua = Chunk("content_by_lua", x); break;
                case "access_by_lua_block": loc.AccessByLua = Chunk("access_by_lua", x); break;
                case "rewrite_by_lua_block": loc.RewriteByLua = Chunk("rewrite_by_lua", x); break;
                case "header_filter_by_lua_block": loc.HeaderFilterByLua = Chunk("header_filter_by_lua", x); break;
                case "body_filter_by_lua_block": loc.BodyFilterByLua = Chunk("body_filter_by_lua", x); break;
                case "log_by_lua_block": loc.LogByLua = Chunk("log_by_lua", x); break;
                case "default_type": loc.DefaultType = x.Arg(0); break;
                case "real_ip_header": loc.RealIpHeader = x.Arg(0); break;
                case "set_real_ip_from": loc.SetRealIpFrom.Add(x.Arg(0)); break;
                case "client_body_in_file_only": loc.ClientBodyInFileOnly = x.Arg(0) is "on" or "clean"; break;
                case "client_body_buffer_size": loc.ClientBodyBufferSize = ParseSize(x.Arg(0)); break;
                case "root": loc.Root = x.Arg(0); break;
                case "index": loc.Index = x.Args.ToList(); break;
                case "set": loc.Sets.Add((x.Arg(0).TrimStart('$'), x.Arg(1))); break;
                case "return":
                    loc.Return = (int.Parse(x.Arg(0)), x.Args.Count > 1 ? x.Args[1] : null);
                    break;
                default: conf.Ignored.Add($"{x.Name} ({x.Source}:{x.Line})"); break;
            }
        }
        return loc;
    }

    public static ListenSpec ParseListen(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon < 0) return new ListenSpec(IPAddress.Any, int.Parse(value));
        var host = value[..colon].Trim('[', ']');
        var addr = host is "*" or "" ? IPAddress.Any
            : host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        return new ListenSpec(addr, int.Parse(value[(colon + 1)..]));
    }

    public static long ParseSize(string s)
    {
        if (s.Length == 0) return 0;
        var mult = char.ToLowerInvariant(s[^1]) switch { 'k' => 1024L, 'm' => 1024L * 1024, 'g' => 1024L * 1024 * 1024, _ => 1L };
        return long.Parse(mult == 1 ? s : s[..^1]) * mult;
    }
}
