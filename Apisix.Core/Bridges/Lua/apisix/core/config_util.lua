-- apisix.core.config_util: the C# twin (Apisix.Core/Core/ConfigUtil.cs) as it is.
return require("apisix.core.native")("apisix.core.config_util")
