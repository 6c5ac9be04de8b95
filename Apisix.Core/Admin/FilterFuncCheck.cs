using KeraLua;

namespace Apisix.Core.Admin;

/// <summary>
/// The admin API's check of a route's <c>filter_func</c>, as routes.lua makes it: the text
/// must load as <c>"return " .. filter_func</c> and running that chunk must give a function.
/// The chunk runs in a bare Lua state of its own (no libraries), so it touches nothing.
/// Load errors read as LuaJIT words them (<c>near '&lt;eof&gt;'</c>).
/// </summary>
public static class FilterFuncCheck
{
    /// <summary>The full error_msg, or null when the text is a function.</summary>
    public static string? Validate(string filterFunc)
    {
        using var lua = new KeraLua.Lua(openLibs: false);
        string code = "return " + filterFunc;
        var status = lua.LoadString(code, code);
        if (status != LuaStatus.OK)
        {
            return "failed to load 'filter_func' string: " + LuaJitWording(lua.ToString(-1) ?? "");
        }
        if (lua.PCall(0, 1, 0) != LuaStatus.OK || lua.Type(-1) != LuaType.Function)
        {
            return "'filter_func' should be a function";
        }
        return null;
    }

    // Lua 5.4 names the end of input bare; LuaJIT quotes it like any other token
    private static string LuaJitWording(string message) =>
        message.Replace("near <eof>", "near '<eof>'", StringComparison.Ordinal);
}
