namespace Apisix.Core.OpenResty.Libs;

/// <summary>The C# side of the <c>lyaml</c> Lua module (<c>lyaml.load</c>), over the config's YAML reader.</summary>
public sealed class LyamlBridge(LuaWorker worker)
{
    /// <summary>The document as a Lua value, or null and the reader's error.</summary>
    public object? Load(object? text, out string? error)
    {
        error = null;
        if (text is not string s)
        {
            error = "bad argument #1 to 'load' (string expected)";
            return null;
        }
        try
        {
            return LuaJson.FromJson(worker.Lua, Config.YamlLoader.Load(s), arrayMt: false);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or FormatException or InvalidOperationException)
        {
            error = e.Message;
            return null;
        }
    }
}
