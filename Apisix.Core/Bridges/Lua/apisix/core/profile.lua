-- apisix.core.profile: forwards to the C# twin (Apisix.Core/Core/Profile.cs), with the module's
-- own fields as arguments since callers may reassign them.
local profile = __bridge("apisix.core.profile")

local _M = {
    version = 0.1,
    profile = profile:Profile(),
    apisix_home = (ngx and ngx.config.prefix()) or "",
}

function _M.yaml_path(self, file_name)
    return profile:YamlPath(self.apisix_home, self.profile, file_name)
end

function _M.customized_yaml_index(self)
    return profile:CustomizedYamlIndex(self.apisix_home)
end

function _M.customized_yaml_path(self)
    return profile:CustomizedYamlPath(self.apisix_home)
end

return _M
