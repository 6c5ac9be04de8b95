// Twin of apisix/admin/ssl.lua, with the admin side of apisix/ssl.lua (check_ssl_conf, validate, aes_encrypt_pkey)
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;

namespace Apisix.Core.Admin;

/// <summary>
/// The ssls resource: server certificates chosen by SNI, and client certificates upstreams present
/// (<c>type = "client"</c>). A certificate and its key must parse as PEM (a <c>$secret://</c> or
/// <c>$ENV://</c> reference is taken as is); private keys are stored encrypted with the first entry of
/// <c>apisix.data_encryption.keyring</c>, as APISIX does whether or not field encryption is on.
/// </summary>
internal static class Ssl
{
    private const string HostDefPat = @"^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$";

    private static JsonObject CertificateScheme() => new() { ["type"] = "string", ["minLength"] = 128, ["maxLength"] = 64 * 1024 };
    private static JsonObject PrivateKeySchema() => new() { ["type"] = "string", ["minLength"] = 64, ["maxLength"] = 64 * 1024 };
    private static JsonArray Required(params string[] names) => new(names.Select(n => (JsonNode?)n).ToArray());

    /// <summary><c>core.schema.ssl</c>.</summary>
    public static JsonObject SchemaDef() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = SchemaDefs.IdSchema(),
            ["desc"] = SchemaDefs.DescDef(),
            ["labels"] = SchemaDefs.LabelsDef(),
            ["create_time"] = SchemaDefs.TimestampDef(),
            ["update_time"] = SchemaDefs.TimestampDef(),
            ["type"] = new JsonObject
            {
                ["description"] = "ssl certificate type, server to server certificate, client to client certificate for upstream",
                ["type"] = "string",
                ["default"] = "server",
                ["enum"] = new JsonArray("server", "client"),
            },
            ["cert"] = CertificateScheme(),
            ["key"] = PrivateKeySchema(),
            ["sni"] = new JsonObject { ["type"] = "string", ["pattern"] = HostDefPat },
            ["snis"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string", ["pattern"] = HostDefPat },
                ["minItems"] = 1,
            },
            ["certs"] = new JsonObject { ["type"] = "array", ["items"] = CertificateScheme() },
            ["keys"] = new JsonObject { ["type"] = "array", ["items"] = PrivateKeySchema() },
            ["client"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["ca"] = CertificateScheme(),
                    ["depth"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["default"] = 1 },
                    ["skip_mtls_uri_regex"] = new JsonObject
                    {
                        ["type"] = "array",
                        ["minItems"] = 1,
                        ["uniqueItems"] = true,
                        ["items"] = new JsonObject { ["description"] = "uri regular expression to skip mtls", ["type"] = "string" },
                    },
                },
                ["required"] = Required("ca"),
            },
            ["status"] = new JsonObject
            {
                ["description"] = "ssl status, 1 to enable, 0 to disable",
                ["type"] = "integer",
                ["enum"] = new JsonArray(1, 0),
                ["default"] = 1,
            },
            ["ssl_protocols"] = new JsonObject
            {
                ["description"] = "set ssl protocols",
                ["type"] = "array",
                ["maxItems"] = 3,
                ["uniqueItems"] = true,
                ["items"] = new JsonObject { ["enum"] = new JsonArray("TLSv1.1", "TLSv1.2", "TLSv1.3") },
            },
        },
        ["if"] = new JsonObject { ["properties"] = new JsonObject { ["type"] = new JsonObject { ["enum"] = new JsonArray("server") } } },
        ["then"] = new JsonObject
        {
            ["oneOf"] = new JsonArray(
                new JsonObject { ["required"] = Required("sni", "key", "cert") },
                new JsonObject { ["required"] = Required("snis", "key", "cert") }),
        },
        ["else"] = new JsonObject { ["required"] = Required("key", "cert") },
        ["additionalProperties"] = false,
    };

    public static JsonObject Schema { get; } = SchemaDef();

    /// <summary><c>secret.check_secret_uri</c>: a <c>$secret://</c> or <c>$ENV://</c> reference.</summary>
    private static bool IsSecretUri(JsonNode? v) =>
        JsonScalars.TryGetString(v, out var s)
        && (s.StartsWith("$secret://", StringComparison.Ordinal) || s.ToUpperInvariant().StartsWith("$ENV://", StringComparison.Ordinal));

    /// <summary><c>aes_decrypt_pkey(origin)</c>: PEM text as is, else the keyring's decryption.</summary>
    private static (string? Key, string? Err) DecryptKey(string key, DataEncryption? encryption)
    {
        if (key.StartsWith("---", StringComparison.Ordinal) || encryption == null) return (key, null);
        return encryption.Decrypt(key);
    }

    /// <summary><c>ngx_ssl.parse_pem_cert</c>: whether the text holds a PEM certificate OpenSSL would read.</summary>
    private static bool ParsesAsCert(string pem)
    {
        try
        {
            using var cert = X509Certificate2.CreateFromPem(pem);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException) { return false; }
    }

    /// <summary><c>ngx_ssl.parse_pem_priv_key</c>: an RSA, EC or DSA private key in PEM.</summary>
    private static bool ParsesAsKey(string pem)
    {
        Func<AsymmetricAlgorithm>[] kinds = [RSA.Create, ECDsa.Create, DSA.Create];
        foreach (var make in kinds)
        {
            using var alg = make();
            try
            {
                alg.ImportFromPem(pem);
                return true;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException) { }
        }
        return false;
    }

    /// <summary><c>validate(cert, key)</c>: the error, or null.</summary>
    public static string? Validate(string cert, string? key, DataEncryption? encryption)
    {
        if (!ParsesAsCert(cert)) return "failed to parse cert: PEM_read_bio_X509_AUX() failed";
        if (key == null) return null;
        var (plain, _) = DecryptKey(key, encryption);
        if (plain == null) return "failed to decrypt previous encrypted key";
        if (!ParsesAsKey(plain)) return "failed to parse key: PEM_read_bio_PrivateKey() failed";
        return null;
    }

    /// <summary><c>check_ssl_conf(in_dp, conf)</c>: the error, or null.</summary>
    public static string? CheckSslConf(bool inDp, JsonObject conf, DataEncryption? encryption)
    {
        if (!inDp)
        {
            var (ok, err) = JsonSchema.Check(Schema, conf);
            if (!ok) return "invalid configuration: " + err;
        }
        if (!IsSecretUri(conf["cert"]) && !IsSecretUri(conf["key"])
            && Validate(LuaText.ToLuaString(conf["cert"]), conf["key"] is { } k ? LuaText.ToLuaString(k) : null, encryption) is { } verr)
            return verr;
        if (JsonScalars.TryGetString(conf["type"], out var type) && type == "client") return null;

        var certs = conf["certs"] as JsonArray;
        var keys = conf["keys"] as JsonArray;
        var numCerts = certs?.Count ?? 0;
        if (numCerts != (keys?.Count ?? 0)) return "mismatched number of certs and keys";
        for (var i = 0; i < numCerts; i++)
        {
            if (IsSecretUri(certs![i]) || IsSecretUri(keys![i])) continue;
            if (Validate(LuaText.ToLuaString(certs[i]), LuaText.ToLuaString(keys[i]), encryption) is { } perr)
                return $"failed to handle cert-key pair[{i + 1}]: {perr}";
        }
        if (conf["client"] is JsonObject client && Validate(LuaText.ToLuaString(client["ca"]), null, encryption) is { } cerr)
            return "failed to validate client_cert: " + cerr;
        return null;
    }

    /// <summary><c>aes_encrypt_pkey(origin)</c>: a PEM key encrypted with the keyring's first entry.</summary>
    private static JsonNode? EncryptKey(JsonNode? key, DataEncryption? encryption) =>
        encryption != null && JsonScalars.TryGetString(key, out var s) && s.StartsWith("---", StringComparison.Ordinal)
            ? JsonValue.Create(encryption.Encrypt(s))
            : key;

    /// <summary>What the resource module does before storing an ssl: encrypt <c>key</c> and each of <c>keys</c>.</summary>
    public static void EncryptConf(JsonObject conf, DataEncryption? encryption)
    {
        if (conf["key"] != null) conf["key"] = EncryptKey(conf["key"]!.DeepClone(), encryption);
        if (conf["keys"] is JsonArray keys)
            for (var i = 0; i < keys.Count; i++) keys[i] = EncryptKey(keys[i]?.DeepClone(), encryption);
    }

    public static AdminResource Resource(EtcdView etcd, DataEncryption? keyring) => new()
    {
        Name = "ssls", Kind = "ssl", Etcd = etcd,
        Checker = (_, conf, _) => CheckSslConf(false, conf, keyring) is { } err ? CheckResult.Fail(err) : CheckResult.Pass(),
        EncryptConf = (_, conf) => EncryptConf(conf, keyring),
    };
}
