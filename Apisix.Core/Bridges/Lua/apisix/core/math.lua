-- apisix.core.math: the C# twin (Apisix.Core/Core/Math.cs) as it is.
return require("apisix.core.native")("apisix.core.math")
