using System.Reflection;

namespace Apisix.Core.OpenResty;

/// <summary>
/// Where `require` finds modules in an emulated worker, in order: modules registered here as
/// overrides (C# bridges and our own Lua, e.g. `apisix.core`, `resty.http`), then Lua files on
/// the package path, then fallbacks (used only when no file exists, e.g. `toolkit.json`).
/// Bridges reach C# objects through `__bridge(name)`.
/// </summary>
public sealed class LuaModules
{
    private readonly Dictionary<string, Func<string>> _overrides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<string>> _fallbacks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<LuaWorker, object>> _objects = new(StringComparer.Ordinal);

    public List<string> PackagePath { get; } = new();

    /// <summary>
    /// What package.path / package.cpath show when the configuration sets them (lua_package_path,
    /// lua_package_cpath, with ";;" standing for the default path as lua-nginx-module expands it);
    /// null: the search path itself. Lookups still go through <see cref="PackagePath"/> first; the
    /// default path's system directories are not searched (OpenResty's libraries are ours here).
    /// </summary>
    public string? VisiblePath { get; set; }
    public string? VisibleCpath { get; set; }

    /// <summary>Debian's LuaJIT default package.path and package.cpath, which ";;" expands to.</summary>
    public const string DefaultPath = "/usr/share/lua/5.1/?.lua;;./?.lua;/usr/share/luajit-2.1.0-beta3/?.lua;/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua";
    public const string DefaultCpath = "./?.so;/usr/local/lib/lua/5.1/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;/usr/local/lib/lua/5.1/loadall.so";

    /// <summary>lua-nginx-module's expansion of a configured path: ";;" becomes ";DEFAULT;".</summary>
    public static string ExpandDefault(string configured, string defaultPath) =>
        configured.Replace(";;", ";" + defaultPath + ";", StringComparison.Ordinal);

    /// <summary>The environment nginx's workers see (<c>os.getenv</c>): variables set in the worker first, then this lookup.</summary>
    public Func<string, string?> Environment { get; set; } = System.Environment.GetEnvironmentVariable;
    private readonly Dictionary<string, string> _setEnv = new(StringComparer.Ordinal);

    public string? GetEnv(string name) => _setEnv.TryGetValue(name, out var v) ? v : Environment(name);
    public void SetEnv(string name, string value) => _setEnv[name] = value;

    public void AddOverride(string module, Func<string> source) => _overrides[module] = source;
    public void AddFallback(string module, Func<string> source) => _fallbacks[module] = source;
    public void AddObject(string name, Func<LuaWorker, object> factory) => _objects[name] = factory;

    /// <summary>Register the embedded `lua/UNDER...` resources of an assembly under their module names.</summary>
    public void AddEmbedded(Assembly asm, string prefix = "lua/", bool asFallback = false, string under = "")
    {
        foreach (var res in asm.GetManifestResourceNames())
        {
            if (!res.StartsWith(prefix + under, StringComparison.Ordinal) || !res.EndsWith(".lua", StringComparison.Ordinal)) continue;
            var rel = res[prefix.Length..^4];
            var module = rel.Replace('/', '.').Replace('\\', '.');
            if (module.EndsWith(".init", StringComparison.Ordinal)) module = module[..^5];
            var name = res;
            Func<string> src = () => ReadResource(asm, name);
            if (asFallback) AddFallback(module, src); else AddOverride(module, src);
        }
    }

    public static string ReadResource(Assembly asm, string name)
    {
        using var s = asm.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"missing resource {name}");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return System.Text.Encoding.Latin1.GetString(ms.ToArray());
    }

    public string? Override(string module) => _overrides.TryGetValue(module, out var f) ? f() : null;
    public string? Fallback(string module) => _fallbacks.TryGetValue(module, out var f) ? f() : null;
    public object? Object(string name, LuaWorker w) => _objects.TryGetValue(name, out var f) ? f(w) : null;
}
