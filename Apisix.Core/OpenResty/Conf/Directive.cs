namespace Apisix.Core.OpenResty.Conf;

/// <summary>
/// One nginx directive: name, arguments, and either a child block or (for *_by_lua_block)
/// the raw Lua text. Line is where the directive starts in its source, for error messages
/// and for naming Lua chunks as nginx does ("content_by_lua(nginx.conf:LINE)").
/// </summary>
public sealed record Directive(string Name, IReadOnlyList<string> Args, IReadOnlyList<Directive>? Block, string? Lua, int Line, string Source)
{
    public string Arg(int i) => i < Args.Count ? Args[i] : "";

    /// <summary>
    /// Its file as lua-nginx-module names it in chunk names: relative to nginx's conf prefix
    /// (`nginx.conf`, `../html/lua.conf` for an include), or the absolute path of a file outside it.
    /// </summary>
    public string? ChunkFile { get; init; }

    /// <summary>`PHASE(FILE:LINE)`, the file cut to its last characters after "..." when the name
    /// would pass Lua's chunk-name limit, as ngx_http_lua_gen_chunk_name does.</summary>
    public string ChunkName(string phase)
    {
        var file = ChunkFile ?? Path.GetFileName(Source);
        var line = Line.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // LJ_CHUNKNAME_MAX_LEN (56) less the tag and the line number is what the file may take
        var room = 56 - phase.Length - line.Length;
        if (file.Length > room) file = "..." + file[^(room - 3)..];
        return $"{phase}({file}:{line})";
    }
}
