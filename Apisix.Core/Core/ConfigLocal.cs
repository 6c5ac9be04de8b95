// Twin of apisix/core/config_local.lua
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Core;

/// <summary>
/// <c>core.config_local</c>: the local configuration (conf/config.yaml merged over the defaults,
/// <c>deployment.etcd</c> also as <c>etcd</c>), read once. For Lua it is handed over as one
/// table per worker, kept until <c>clear_cache</c>, as the Lua module keeps its copy.
/// </summary>
public sealed class ConfigLocal(ApisixConfig config)
{
    public const string Name = "apisix.core.config_local";

    /// <summary><c>local_conf()</c>: the whole configuration.</summary>
    public JsonObject LocalConf() => (JsonObject)config.Root.DeepClone();

    /// <summary>The Lua half: the configuration as a Lua table.</summary>
    public sealed class Bridge(LuaWorker worker, ConfigLocal local)
    {
        public object? LocalConf() => LuaJson.FromJson(worker.Lua, local.LocalConf());
    }
}
