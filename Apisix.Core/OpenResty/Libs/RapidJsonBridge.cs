namespace Apisix.Core.OpenResty.Libs;

/// <summary>The C# side of the <c>rapidjson</c> Lua module: encoding a Lua value as lua-rapidjson does.</summary>
public sealed class RapidJsonBridge(LuaWorker worker)
{
    /// <summary>The text, or null and the error lua-rapidjson would raise.</summary>
    public string? Encode(object? value, bool sortKeys, out string? error)
    {
        error = null;
        var (node, err) = LuaJson.TryToJson(worker.Lua, value);
        if (err != null)
        {
            error = err;
            return null;
        }
        try
        {
            return Utils.RapidJson.Encode(node, sortKeys);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }
}
