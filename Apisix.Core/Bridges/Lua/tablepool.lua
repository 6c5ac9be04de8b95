-- lua-tablepool: the C# twin (Apisix.Core/Core/Tablepool.cs) as it is.
return require("apisix.core.native")("tablepool")
