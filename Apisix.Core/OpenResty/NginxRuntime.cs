namespace Apisix.Core.OpenResty;

/// <summary>
/// Which nginx and lua-nginx-module an emulated nginx stands in for: what Lua reads as
/// <c>ngx.config.nginx_version</c> and <c>ngx.config.ngx_lua_version</c>, and so what lua-resty-http
/// puts in its default User-Agent (<c>lua-resty-http/V (Lua) ngx_lua/NNNNN</c>).
/// </summary>
/// <remarks>
/// The port stands in for APISIX, whose runtime is apisix-runtime: APISIX 93ace5d5c pins
/// apisix-runtime 1.3.6 (<c>.requirements</c>), built on OpenResty 1.29.2.4, i.e. nginx 1.29.2 and
/// lua-nginx-module 0.10.31. Plain Test::Nginx files are compared with Debian's nginx and its Lua
/// module (nginx 1.22.1, libnginx-mod-http-lua 0.10.23), the real side `diff` uses for them.
/// </remarks>
public sealed record NginxRuntime(string Name, int NginxVersion, int NgxLuaVersion, string NginxVer, string ErrorTailExtra)
{
    /// <summary>
    /// apisix-runtime 1.3.6: OpenResty 1.29.2.4 (nginx 1.29.2, ngx_lua 0.10.31), whose error pages
    /// carry apisix-nginx-module's "Powered by APISIX" line under nginx's own tail.
    /// </summary>
    public static readonly NginxRuntime ApisixRuntime = new("apisix-runtime 1.3.6 (openresty 1.29.2.4)", 1029002, 10031,
        "openresty/1.29.2.4", "<p><em>Powered by <a href=\"https://apisix.apache.org/\">APISIX</a>.</em></p>");

    /// <summary>Debian 12's nginx 1.22.1 with libnginx-mod-http-lua 0.10.23.</summary>
    public static readonly NginxRuntime DebianNginxLua = new("nginx 1.22.1 + lua-nginx-module 0.10.23 (Debian 12)", 1022001, 10023,
        "nginx/1.22.1", "");

    /// <summary>The tail of nginx's own error pages: NGINX_VER (its name alone with server_tokens off), then the runtime's extra line.</summary>
    public string ErrorPageTail(bool serverTokens = true) =>
        "<hr><center>" + (serverTokens ? NginxVer : NginxVer.Split('/')[0]) + "</center>\r\n" + ErrorTailExtra + "</body>\r\n</html>\r\n";

    /// <summary>api7-lua-resty-http (0.16.1 as APISIX installs it)'s default User-Agent on this runtime.</summary>
    public string RestyHttpUserAgent(string restyHttpVersion = "0.16.1") =>
        "lua-resty-http/" + restyHttpVersion + " (Lua) ngx_lua/" + NgxLuaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
