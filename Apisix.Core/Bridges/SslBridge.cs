using Apisix.Core.Config;
using Apisix.Core.OpenResty;
using Apisix.Core.Plugins;

namespace Apisix.Core.Bridges;

/// <summary>
/// The C# half of the Lua module <c>apisix.ssl</c> (Bridges/Lua/apisix/ssl.lua), for now only its
/// key encryption: <c>aes_encrypt_pkey</c> and <c>aes_decrypt_pkey</c> with the
/// <c>apisix.data_encryption.keyring</c> (<see cref="DataEncryption"/>). The certificate
/// functions of apisix/ssl.lua are not here.
/// </summary>
public sealed class SslBridge(LuaWorker worker, ApisixConfig config)
{
    public const string Name = "apisix.ssl";

    private DataEncryption? _keyring;
    private DataEncryption Keyring => _keyring ??= config.DataEncryption;

    /// <summary>
    /// <c>aes_encrypt_pkey(origin, field)</c>: with the field "data_encrypt", or with no field and a
    /// PEM text (starting with "---"), the base64 ciphertext under the first key; otherwise the input.
    /// </summary>
    public string? AesEncryptPkey(string? origin, string? field)
    {
        if (origin == null) return null;
        bool encrypt = field == null ? origin.StartsWith("---", StringComparison.Ordinal) : field == "data_encrypt";
        return encrypt ? Keyring.Encrypt(origin) : origin;
    }

    /// <summary><c>aes_decrypt_pkey(origin, field)</c>: the plain text, or nil and the error.</summary>
    public string? AesDecryptPkey(string? origin, string? field, out string? error)
    {
        error = null;
        if (origin == null) return null;
        if (field == null && origin.StartsWith("---", StringComparison.Ordinal)) return origin;
        var (plain, err) = Keyring.Decrypt(origin);
        if (plain == null && err == "base64 decode ssl key failed")
            worker.Nginx.Log(worker, LogLevel.Error, err, worker.CurrentRequest);
        error = err;
        return plain;
    }
}
