// Twin of apisix/core/version.lua
namespace Apisix.Core;

/// <summary><c>core.version</c>: the APISIX version this port answers as.</summary>
public static class CoreVersion
{
    public const string Name = "apisix.core.version";
    public const string Version = Admin.AdminOptions.ApisixVersion;
}
