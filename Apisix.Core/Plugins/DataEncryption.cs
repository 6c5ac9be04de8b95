using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Plugins;

/// <summary>
/// APISIX's data encryption of sensitive plugin fields
/// (<c>apisix.data_encryption</c>): AES-128-CBC where each keyring entry is
/// both key and IV, PKCS#7 padding, base64 text. Encryption uses the first
/// keyring entry; decryption tries them all in order.
///
/// <see cref="ProcessField"/> walks a dotted <c>encrypt_fields</c> path
/// through objects and arrays the way <c>plugin.lua</c> does.
/// </summary>
public sealed class DataEncryption
{
    private readonly List<byte[]> _keys = new();

    /// <param name="enabled"><c>apisix.data_encryption.enable_encrypt_fields</c> (and an etcd config provider).</param>
    /// <param name="keyring">The keyring entries; entries that are not 16 bytes are skipped.</param>
    public DataEncryption(bool enabled, IEnumerable<string> keyring)
    {
        Enabled = enabled;
        foreach (var k in keyring)
        {
            var bytes = ByteString.ToBytes(k);
            if (bytes.Length == 16) _keys.Add(bytes);
        }
    }

    /// <summary>Whether plugin fields are encrypted at all (<c>plugin.enable_gde()</c>).</summary>
    public bool Enabled { get; }

    /// <summary><c>aes_encrypt_pkey(origin, "data_encrypt")</c>: the base64 ciphertext, or the input when there is no key.</summary>
    public string Encrypt(string plain)
    {
        if (_keys.Count == 0) return plain;
        using var aes = Create(_keys[0]);
        var cipher = aes.EncryptCbc(ByteString.ToBytes(plain), _keys[0], PaddingMode.PKCS7);
        return Convert.ToBase64String(cipher);
    }

    /// <summary>
    /// <c>aes_decrypt_pkey(origin, "data_encrypt")</c>: the plain text, or null
    /// and the error when the text is not base64 or no key opens it. Without
    /// keys the input comes back unchanged.
    /// </summary>
    public (string? Plain, string? Error) Decrypt(string cipherText)
    {
        if (_keys.Count == 0) return (cipherText, null);

        byte[] data;
        try
        {
            // ngx.decode_base64 takes text without its '=' padding too
            var padded = cipherText.Length % 4 is 2 or 3 ? cipherText + new string('=', 4 - cipherText.Length % 4) : cipherText;
            data = Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return (null, "base64 decode ssl key failed");
        }

        foreach (var key in _keys)
        {
            try
            {
                using var aes = Create(key);
                var plain = aes.DecryptCbc(data, key, PaddingMode.PKCS7);
                return (ByteString.FromBytes(plain), null);
            }
            catch (CryptographicException)
            {
                // try the next key
            }
        }
        return (null, "decrypt ssl key failed");
    }

    private static Aes Create(byte[] key)
    {
        var aes = Aes.Create();
        aes.Key = key;
        return aes;
    }

    /// <summary>
    /// Applies <paramref name="operation"/> to the string(s) at a dotted
    /// <paramref name="keyPath"/> under <paramref name="conf"/>: a leaf string,
    /// each string of a leaf array, or each string value of a leaf object.
    /// Intermediate arrays are walked element by element. Failures are
    /// reported through <paramref name="onError"/> (the path as APISIX logs it,
    /// and the error) and leave the value unchanged.
    /// </summary>
    public static void ProcessField(JsonNode? conf, string keyPath,
        Func<string, (string? Result, string? Error)> operation, Action<string, string>? onError = null)
    {
        if (conf is not JsonObject obj) return;

        int dot = keyPath.IndexOf('.');
        if (dot < 0)
        {
            if (!obj.TryGetPropertyValue(keyPath, out var val) || val == null) return;

            if (JsonScalars.TryGetString(val, out string s))
            {
                var (r, err) = operation(s);
                if (r == null) onError?.Invoke(keyPath, err ?? "");
                else obj[keyPath] = r;
            }
            else if (IsLuaArray(val))
            {
                if (val is JsonArray arr)
                {
                    for (int i = 0; i < arr.Count; i++)
                    {
                        if (JsonScalars.TryGetString(arr[i], out string item))
                        {
                            var (r, err) = operation(item);
                            if (r == null) onError?.Invoke(keyPath + "] index [" + (i + 1), err ?? "");
                            else arr[i] = r;
                        }
                    }
                }
            }
            else if (val is JsonObject map)
            {
                foreach (var key in map.Select(p => p.Key).ToList())
                {
                    if (JsonScalars.TryGetString(map[key], out string item))
                    {
                        var (r, err) = operation(item);
                        if (r == null) onError?.Invoke(keyPath + "." + key, err ?? "");
                        else map[key] = r;
                    }
                }
            }
            return;
        }

        string segment = keyPath.Substring(0, dot);
        string rest = keyPath.Substring(dot + 1);
        if (!obj.TryGetPropertyValue(segment, out var next) || next == null) return;

        if (next is JsonArray list)
        {
            foreach (var item in list)
            {
                if (item is JsonObject) ProcessField(item, rest, operation, onError);
            }
        }
        else if (next is JsonObject)
        {
            ProcessField(next, rest, operation, onError);
        }
    }

    /// <summary>LuaJIT's <c>table.isarray</c> on a decoded value: arrays and empty tables.</summary>
    private static bool IsLuaArray(JsonNode node) =>
        node is JsonArray || (node is JsonObject o && o.Count == 0);
}
