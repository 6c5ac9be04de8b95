namespace Apisix.Core.OpenResty.Libs;

/// <summary>The C# side of the <c>xml2lua</c> Lua module: parse into the tree handler's table.</summary>
public sealed class Xml2LuaBridge(LuaWorker worker)
{
    /// <summary>The root table, or null and xml2lua's error message.</summary>
    public object? Parse(object? xml, out string? error)
    {
        error = null;
        if (xml is not string s)
        {
            error = "Error Parsing XML [char=1]\n";
            return null;
        }
        var (root, err) = Xml2Lua.Parse(s);
        if (root == null)
        {
            error = err;
            return null;
        }
        return Xml2Lua.ToLua(worker.Lua, root);
    }
}
