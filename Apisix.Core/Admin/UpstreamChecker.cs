using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;

namespace Apisix.Core.Admin;

/// <summary>
/// <c>apisix/upstream.lua</c>'s checks of an upstream conf, as the admin API
/// runs them (<c>check_upstream_conf(false, conf)</c>): IPv6 node hosts in
/// brackets, the upstream schema (defaults written into the conf), ports of
/// "host:port" node keys, the referenced client certificate, pass_host
/// rewrite needing upstream_host, and the chash key.
/// </summary>
public static class UpstreamChecker
{
    /// <summary>
    /// Checks <paramref name="conf"/>; returns null or the error message.
    /// <paramref name="getSsl"/> looks up <c>/ssls/ID</c> (status and stored
    /// value); null skips the client certificate reference check.
    /// </summary>
    /// <summary>
    /// <c>upstream.check_schema</c>: IPv6 hosts of list-form nodes must be bracketed, then the
    /// upstream schema (its defaults written into <paramref name="conf"/>). Null or the error.
    /// </summary>
    public static string? CheckSchema(JsonObject conf)
    {
        if (conf["nodes"] is JsonArray list)
        {
            foreach (var n in list)
            {
                if (n is JsonObject node && JsonScalars.TryGetString(node["host"], out string host)
                    && IsIPv6(host) && !host.StartsWith('['))
                {
                    return "IPv6 address must be enclosed with '[' and ']'";
                }
            }
        }
        var (ok, err) = JsonSchema.Check(SchemaDefs.Upstream, conf);
        return ok ? null : err;
    }

    public static string? Check(JsonObject conf, Func<string, (int Status, JsonNode? Value)>? getSsl = null,
        Func<string, string?, string?>? validateClientCert = null)
    {
        if (CheckSchema(conf) is { } schemaErr) return "invalid configuration: " + schemaErr;

        if (conf["nodes"] is JsonObject map && map.Count > 0)
        {
            foreach (var (addr, _) in map)
            {
                var (_, port) = ParseAddr(addr);
                if (port is double p && (p < 1 || p > 65535))
                    return "invalid port " + LuaNumber.ToLuaString(p);
            }
        }

        if (conf["tls"] is JsonObject tls && tls.TryGetPropertyValue("client_cert_id", out var certId)
            && LuaText.IsTruthy(certId) && getSsl != null)
        {
            string sslId = LuaText.ToLuaString(certId);
            var (status, value) = getSsl(sslId);
            if (status != 200)
                return "failed to fetch ssl info by ssl id [" + sslId + "], response code: " + status;
            if (value is JsonObject v && !(JsonScalars.TryGetString(v["type"], out string t) && t == "client"))
                return "failed to fetch ssl info by ssl id [" + sslId + "], wrong ssl type";
        }

        if (JsonScalars.TryGetString(conf["pass_host"], out string passHost) && passHost == "rewrite")
        {
            var uh = conf["upstream_host"];
            if (uh == null || (JsonScalars.TryGetString(uh, out string uhs) && uhs == ""))
                return "`upstream_host` can't be empty when `pass_host` is `rewrite`";
        }

        if (validateClientCert != null && conf["tls"] is JsonObject tls2
            && JsonScalars.TryGetString(tls2["client_cert"], out string cert))
        {
            string? key = JsonScalars.TryGetString(tls2["client_key"], out string k) ? k : null;
            string? cerr = validateClientCert(cert, key);
            if (cerr != null) return cerr;
        }

        if (!(JsonScalars.TryGetString(conf["type"], out string type) && type == "chash")) return null;

        string? hashOn = JsonScalars.TryGetString(conf["hash_on"], out string h) ? h : null;
        if (hashOn != "consumer" && !LuaText.FieldIsTruthy(conf, "key")) return "missing key";

        JsonObject? keySchema;
        switch (hashOn)
        {
            case null:
                return "type is chash, err: hash_on is nil";
            case "vars":
                keySchema = SchemaDefs.HashVars;
                break;
            case "header" or "cookie":
                keySchema = SchemaDefs.HashHeader;
                break;
            case "consumer":
                keySchema = null;
                break;
            case "vars_combinations":
                keySchema = SchemaDefs.HashVarsCombinations;
                break;
            default:
                return "type is chash, err: invalid hash_on type " + hashOn;
        }

        if (keySchema != null)
        {
            var (ok, err) = JsonSchema.Check(keySchema, conf["key"]);
            if (!ok) return "invalid configuration: " + err;
        }

        return null;
    }

    /// <summary>
    /// <c>upstream.encrypt_conf</c>: a PEM <c>tls.client_key</c> is stored
    /// encrypted with the first keyring entry.
    /// </summary>
    public static void EncryptConf(JsonNode? conf, DataEncryption? encryption)
    {
        if (encryption == null || conf is not JsonObject o || o["tls"] is not JsonObject tls) return;
        if (JsonScalars.TryGetString(tls["client_key"], out string key) && key.StartsWith("---", StringComparison.Ordinal))
            tls["client_key"] = encryption.Encrypt(key);
    }

    /// <summary>lua-resty-ipmatcher's parse_ipv6: an IPv6 literal, brackets allowed.</summary>
    internal static bool IsIPv6(string host)
    {
        if (host.Length >= 2 && host[0] == '[' && host[^1] == ']') host = host.Substring(1, host.Length - 2);
        return InetPton.IsIPv6(host);
    }

    /// <summary><c>core.utils.parse_addr</c>: host and port (null when there is none).</summary>
    public static (string Host, double? Port) ParseAddr(string addr)
    {
        if (addr.StartsWith('['))
        {
            if (addr.EndsWith(']')) return (addr, null);
            int pos = addr.LastIndexOf(':', Math.Max(0, addr.Length - 2));
            if (pos < 1 || addr[pos - 1] != ']') return (addr, null);
            return (addr.Substring(0, pos), LuaText.ToNumber(addr.Substring(pos + 1)));
        }

        int colons = 0;
        foreach (char c in addr)
        {
            if (c == '.') return ParseIPv4OrHost(addr);
            if (c == ':' && ++colons == 2) return (addr, null);
        }
        return ParseIPv4OrHost(addr);
    }

    private static (string, double?) ParseIPv4OrHost(string addr)
    {
        if (addr.Length < 2) return (addr, null);
        int pos = addr.LastIndexOf(':', addr.Length - 2);
        if (pos < 0) return (addr, null);
        return (addr.Substring(0, pos), LuaText.ToNumber(addr.Substring(pos + 1)));
    }
}
