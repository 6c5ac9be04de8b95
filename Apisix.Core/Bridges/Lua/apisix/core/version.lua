-- apisix.core.version: the version the C# side answers as (Apisix.Core/Core/Version.cs).
return { VERSION = "3.17.0" }
