namespace Apisix.Core.OpenResty.Conf;

/// <summary>
/// One nginx directive: name, arguments, and either a child block or (for *_by_lua_block)
/// the raw Lua text. Line is where the directive starts in its source, for error messages
/// and for naming Lua chunks as nginx does ("content_by_lua(nginx.conf:LINE)").
/// </summary>
public sealed record Directive(string Name, IReadOnlyList<string> Args, IReadOnlyList<Directive>? Block, string? Lua, int Line, string Source)
{
    public string Arg(int i) => i < Args.Count ? Args[i] : "";
}
