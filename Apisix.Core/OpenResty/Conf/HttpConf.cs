using System.Net;
using System.Text.RegularExpressions;

namespace Apisix.Core.OpenResty.Conf;

/// <summary>A Lua chunk from the configuration, with the name nginx gives it in tracebacks and logs.</summary>
public sealed record LuaChunk(string Code, string ChunkName, int Line);

/// <summary>The http{} level of an emulated nginx: shared dicts, init hooks and servers.</summary>
public sealed class HttpConf
{
    public List<ServerConf> Servers { get; } = new();
    public Dictionary<string, long> SharedDicts { get; } = new(StringComparer.Ordinal);
    public List<LuaChunk> InitByLua { get; } = new();
    public List<LuaChunk> InitWorkerByLua { get; } = new();
    /// <summary>Directives accepted but not emulated, reported once as notices.</summary>
    public List<string> Ignored { get; } = new();
}

public sealed record ListenSpec(IPAddress Address, int Port);

public sealed class ServerConf
{
    public List<ListenSpec> Listens { get; } = new();
    public List<string> ServerNames { get; } = new();
    public string? DefaultType { get; set; }
    public List<LocationConf> Locations { get; } = new();

    public bool ListensOn(IPAddress local, int port) =>
        Listens.Any(l => l.Port == port && (l.Address.Equals(IPAddress.Any) || l.Address.Equals(local)));

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
    public LuaChunk? RewriteByLua { get; set; }
    public LuaChunk? AccessByLua { get; set; }
    public LuaChunk? ContentByLua { get; set; }
    public LuaChunk? HeaderFilterByLua { get; set; }
    public LuaChunk? BodyFilterByLua { get; set; }
    public LuaChunk? LogByLua { get; set; }
    /// <summary>`return CODE [text]`.</summary>
    public (int Code, string? Text)? Return { get; set; }
    /// <summary>`set $name value;` in order (rewrite phase); `$var` in the value is interpolated.</summary>
    public List<(string Name, string Value)> Sets { get; } = new();
    /// <summary>A content handler written in C# (APISIX's admin API and gateway).</summary>
    public Func<NgxRequest, Task>? Handler { get; set; }
    /// <summary>Runs before the content handler, like an access_by_lua step of t::APISIX.</summary>
    public Func<NgxRequest, Task>? AccessHandler { get; set; }
}
