using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// Registers the C# twins of <c>apisix/core/*.lua</c> under their Lua names. Each is a bridge
/// object that the module's Lua file (Bridges/Lua/apisix/core/&lt;m&gt;.lua) turns into the module:
/// a table of C functions taken as it is (<c>apisix.core.native</c>), or an object a few lines of
/// Lua forward to. <c>require("apisix.core")</c> (Bridges/Lua/apisix/core.lua) gathers them.
/// </summary>
public static class CoreModules
{
    public static void Register(LuaModules modules)
    {
        var asm = typeof(CoreModules).Assembly;
        foreach (var m in new[] { "tablepool", "resty.lrucache", "resty.lock" })
            modules.AddOverride(m, () => LuaModules.ReadResource(asm, "lua/" + m.Replace('.', '/') + ".lua"));
        modules.AddObject(CoreString.Name, CoreString.Create);
        modules.AddObject(ConfigUtil.Name, ConfigUtil.Create);
        modules.AddObject(CoreEnv.Name, w => new CoreEnv(w));
        modules.AddObject(CoreOs.Name, w => new CoreOs(w));
        modules.AddObject(CoreProfile.Name, w => new CoreProfile(w));
        modules.AddObject(CoreId.Name, w => new CoreId(w));
        modules.AddObject(Tablepool.Name, Tablepool.Create);
        modules.AddObject(CoreTable.Name, CoreTable.Create);
        modules.AddObject(CoreJson.Name, CoreJson.Create);
        modules.AddObject(CoreUtils.Name, CoreUtils.Create);
        modules.AddObject(RestyLrucache.Name, RestyLrucache.Create);
        modules.AddObject(CoreSchemaLua.Name, w => new CoreSchemaLua(w));
        modules.AddObject(SchemaDefLua.Name, w => new SchemaDefLua(w));
        modules.AddObject(Upstream.UpstreamLua.Name, w => new Upstream.UpstreamLua(w));
        modules.AddObject(CoreMath.Name, CoreMath.Create);
        modules.AddObject(CoreIo.Name, _ => new CoreIo());
        modules.AddObject(CoreCtx.Name, w => new CoreCtx(w));
        modules.AddObject(CoreRequestLua.Name, w => new CoreRequestLua(w));
        modules.AddObject(CoreResponseLua.Name, w => new CoreResponseLua(w));
    }
}
