// Twin of apisix/core/profile.lua
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// <c>core.profile</c>: where APISIX's yaml files are (<c>conf/NAME[-PROFILE].yaml</c> under the
/// home, the profile from <c>APISIX_PROFILE</c>). The module's fields (<c>profile</c>,
/// <c>apisix_home</c>) stay assignable in Lua, so apisix/core/profile.lua passes them in.
/// </summary>
public sealed class CoreProfile(LuaWorker worker)
{
    public const string Name = "apisix.core.profile";

    public string Profile() => worker.Nginx.Modules.GetEnv("APISIX_PROFILE") ?? "";

    public string YamlPath(string home, string profile, string fileName)
    {
        var path = home + "conf/" + fileName;
        if (profile != "" && fileName != "config-default") path += "-" + profile;
        return path + ".yaml";
    }

    public string CustomizedYamlIndex(string home) => home + "/conf/.customized_config_path";

    public string? CustomizedYamlPath(string home)
    {
        var index = CustomizedYamlIndex(home);
        return File.Exists(index) ? File.ReadAllText(index, System.Text.Encoding.Latin1) : null;
    }
}
