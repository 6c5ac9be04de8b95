namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// The OpenResty libraries this port provides in its own code: lua-cjson, ngx.re, lua-resty-http, lua-resty-redis, lua-resty-websocket,
/// the small lua-resty-* helpers, and test fallbacks. A host enables them with
/// <c>StandardLibs.Register(modules)</c> before starting nginx.
/// </summary>
public static class StandardLibs
{
    /// <summary>Modules that win over files on package.path (embedded resource lua/&lt;path&gt;.lua).</summary>
    public static readonly IReadOnlyList<string> Overrides =
    [
        "cjson", "cjson.safe", "cjson.impl",
        "ngx.re", "ngx.re_impl", "ngx.base64", "ngx.semaphore",
        "resty.http", "resty.http_headers", "resty.redis",
        "resty.aes", "resty.string", "resty.digest", "resty.hmac", "resty.md5", "resty.sha1", "resty.sha256", "resty.sha384", "resty.sha512", "resty.random",
        "resty.core", "ffi",
        "resty.websocket.protocol", "resty.websocket.common", "resty.websocket.server", "resty.websocket.client",
        "pl.stringx",
        "xml2lua", "xmlhandler.tree", "lyaml", "rapidjson",
    ];

    /// <summary>Modules used only when no file on package.path provides them (resource lua/fallback/&lt;path&gt;.lua).</summary>
    public static readonly IReadOnlyList<string> Fallbacks =
    [
        "toolkit.json", "inspect",
    ];

    /// <summary>Register the Lua modules and the C# bridge objects behind them.</summary>
    public static void Register(LuaModules modules)
    {
        var asm = typeof(StandardLibs).Assembly;
        foreach (var m in Overrides)
        {
            var res = "lua/" + m.Replace('.', '/') + ".lua";
            if (asm.GetManifestResourceInfo(res) == null) continue;
            modules.AddOverride(m, () => LuaModules.ReadResource(asm, res));
        }
        foreach (var m in Fallbacks)
        {
            var res = "lua/fallback/" + m.Replace('.', '/') + ".lua";
            if (asm.GetManifestResourceInfo(res) == null) continue;
            modules.AddFallback(m, () => LuaModules.ReadResource(asm, res));
        }
        modules.AddObject("cjson", CJsonLib.Create);
        modules.AddObject("ffi", FfiLib.Create);
        modules.AddObject("ngx.re", NgxRegexLib.Create);
        modules.AddObject("crypto", CryptoLib.Create);
        modules.AddObject("xml2lua", w => new Xml2LuaBridge(w));
        modules.AddObject("lyaml", w => new LyamlBridge(w));
        modules.AddObject("rapidjson", w => new RapidJsonBridge(w));
    }
}
