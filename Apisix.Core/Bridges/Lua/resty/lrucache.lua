-- lua-resty-lrucache: the C# twin (Apisix.Core/Core/RestyLrucache.cs) as it is.
return require("apisix.core.native")("resty.lrucache")
