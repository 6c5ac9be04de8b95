using System.Security.Cryptography;
using System.Text;
using KeraLua;
using LuaState = KeraLua.Lua;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// The native half of resty.string / resty.md5 / resty.sha* / resty.random / resty.aes, bridge
/// object "crypto". All strings are byte strings.
/// <list type="bullet">
/// <item>digest(alg, data) → binary digest (md5, sha1, sha256, sha384, sha512)</item>
/// <item>hmac(alg, key, data) → binary mac</item>
/// <item>random(n) → n random bytes</item>
/// <item>bytes_to_key(hash, salt|nil, pass, rounds, key_len, iv_len) → key, iv (OpenSSL's EVP_BytesToKey)</item>
/// <item>aes(encrypt, mode, key, iv, data, padding[, tag]) → data[, tag] | nil, err</item>
/// </list>
/// </summary>
public static class CryptoLib
{
    private static readonly LuaFunction DigestFn = Digest;
    private static readonly LuaFunction HmacFn = Hmac;
    private static readonly LuaFunction RandomFn = RandomBytes;
    private static readonly LuaFunction BytesToKeyFn = BytesToKey;
    private static readonly LuaFunction AesFn = AesImpl;

    public static object Create(LuaWorker w) => LuaNative.Table(w.Lua,
        [("digest", DigestFn), ("hmac", HmacFn), ("random", RandomFn), ("bytes_to_key", BytesToKeyFn), ("aes", AesFn)]);

    private static int Guard(IntPtr p, Func<LuaState, int> body)
    {
        var L = LuaState.FromIntPtr(p);
        try
        {
            L.CheckStack(4);
            return body(L);
        }
        catch (CryptographicException e)
        {
            return LuaNative.Fail(L, e.Message);
        }
        catch (Exception e)
        {
            return LuaNative.Fail(L, "crypto error: " + e.Message);
        }
    }

    private static byte[] Bytes(LuaState L, int i) =>
        L.Type(i) == LuaType.String ? L.ToBuffer(i, false) ?? [] : Encoding.Latin1.GetBytes(LuaNative.ToBytes(L, i) ?? "");

    public static byte[]? Hash(string alg, byte[] data) => alg switch
    {
        "md5" => MD5.HashData(data),
        "sha1" => SHA1.HashData(data),
        "sha256" => SHA256.HashData(data),
        "sha384" => SHA384.HashData(data),
        "sha512" => SHA512.HashData(data),
        _ => null,
    };

    private static int Digest(IntPtr p) => Guard(p, L =>
    {
        var alg = LuaNative.ToBytes(L, 1) ?? "";
        var h = Hash(alg, Bytes(L, 2));
        if (h == null) return LuaNative.Fail(L, "unsupported digest: " + alg);
        L.PushBuffer(h);
        return 1;
    });

    private static int Hmac(IntPtr p) => Guard(p, L =>
    {
        var alg = LuaNative.ToBytes(L, 1) ?? "";
        var key = Bytes(L, 2);
        var data = Bytes(L, 3);
        byte[]? mac = alg switch
        {
            "md5" => HMACMD5.HashData(key, data),
            "sha1" => HMACSHA1.HashData(key, data),
            "sha256" => HMACSHA256.HashData(key, data),
            "sha384" => HMACSHA384.HashData(key, data),
            "sha512" => HMACSHA512.HashData(key, data),
            _ => null,
        };
        if (mac == null) return LuaNative.Fail(L, "unsupported digest: " + alg);
        L.PushBuffer(mac);
        return 1;
    });

    private static int RandomBytes(IntPtr p) => Guard(p, L =>
    {
        var n = (int)Math.Clamp(LuaNative.ToLong(L, 1) ?? 0, 0, 1 << 24);
        L.PushBuffer(RandomNumberGenerator.GetBytes(n));
        return 1;
    });

    /// <summary>OpenSSL's EVP_BytesToKey: D_i = hash^rounds(D_{i-1} ‖ pass ‖ salt), concatenated until key and iv are filled.</summary>
    public static (byte[] Key, byte[] Iv)? DeriveKey(string hash, byte[]? salt, byte[] pass, int rounds, int keyLen, int ivLen)
    {
        var outp = new List<byte>();
        byte[] prev = [];
        while (outp.Count < keyLen + ivLen)
        {
            var input = prev.Concat(pass).Concat(salt ?? []).ToArray();
            var d = Hash(hash, input);
            if (d == null) return null;
            for (int r = 1; r < Math.Max(1, rounds); r++) d = Hash(hash, d)!;
            outp.AddRange(d);
            prev = d;
        }
        var all = outp.ToArray();
        return (all[..keyLen], all[keyLen..(keyLen + ivLen)]);
    }

    private static int BytesToKey(IntPtr p) => Guard(p, L =>
    {
        var hash = LuaNative.ToBytes(L, 1) ?? "md5";
        byte[]? salt = L.Type(2) == LuaType.String ? Bytes(L, 2) : null;
        var pass = Bytes(L, 3);
        var rounds = (int)(LuaNative.ToLong(L, 4) ?? 1);
        var keyLen = (int)(LuaNative.ToLong(L, 5) ?? 16);
        var ivLen = (int)(LuaNative.ToLong(L, 6) ?? 16);
        var r = DeriveKey(hash, salt, pass, rounds, keyLen, ivLen);
        if (r == null) return LuaNative.Fail(L, "unsupported digest: " + hash);
        L.PushBuffer(r.Value.Key);
        L.PushBuffer(r.Value.Iv);
        return 2;
    });

    private static int AesImpl(IntPtr p) => Guard(p, L =>
    {
        bool encrypt = L.ToBoolean(1);
        var mode = LuaNative.ToBytes(L, 2) ?? "cbc";
        var key = Bytes(L, 3);
        var iv = Bytes(L, 4);
        var data = Bytes(L, 5);
        bool padding = L.Type(6) == LuaType.Nil || L.ToBoolean(6);

        if (mode == "gcm")
        {
            using var gcm = new AesGcm(key, 16);
            if (encrypt)
            {
                var ct = new byte[data.Length];
                var tag = new byte[16];
                gcm.Encrypt(iv, data, ct, tag);
                L.PushBuffer(ct);
                L.PushBuffer(tag);
                return 2;
            }
            if (L.Type(7) != LuaType.String) return LuaNative.Fail(L, "no tag");
            var pt = new byte[data.Length];
            try { gcm.Decrypt(iv, data, Bytes(L, 7), pt); }
            catch (CryptographicException) { return LuaNative.Fail(L, "EVP_DecryptFinal_ex failed"); }
            L.PushBuffer(pt);
            return 1;
        }

        using var aes = Aes.Create();
        aes.Key = key;
        var pad = padding ? PaddingMode.PKCS7 : PaddingMode.None;
        byte[] result;
        try
        {
            result = mode switch
            {
                "cbc" => encrypt ? aes.EncryptCbc(data, iv, pad) : aes.DecryptCbc(data, iv, pad),
                "ecb" => encrypt ? aes.EncryptEcb(data, pad) : aes.DecryptEcb(data, pad),
                "cfb8" => encrypt ? aes.EncryptCfb(data, iv, PaddingMode.None, 8) : aes.DecryptCfb(data, iv, PaddingMode.None, 8),
                "cfb1" => throw new CryptographicException("cfb1 is not supported"),
                "cfb" or "cfb128" => Cfb128(aes, data, iv, encrypt),
                "ofb" => StreamXor(aes, data, iv, ofb: true),
                "ctr" => StreamXor(aes, data, iv, ofb: false),
                _ => throw new CryptographicException("unsupported cipher mode: " + mode),
            };
        }
        catch (CryptographicException) when (!encrypt)
        {
            return LuaNative.Fail(L, "EVP_DecryptFinal_ex failed");
        }
        L.PushBuffer(result);
        return 1;
    });

    private static byte[] Cfb128(Aes aes, byte[] data, byte[] iv, bool encrypt)
    {
        var outp = new byte[data.Length];
        var reg = iv.ToArray();
        var ks = new byte[16];
        for (int off = 0; off < data.Length; off += 16)
        {
            aes.EncryptEcb(reg, ks, PaddingMode.None);
            int n = Math.Min(16, data.Length - off);
            for (int i = 0; i < n; i++) outp[off + i] = (byte)(data[off + i] ^ ks[i]);
            var fb = encrypt ? outp : data;
            if (n == 16) Array.Copy(fb, off, reg, 0, 16);
        }
        return outp;
    }

    private static byte[] StreamXor(Aes aes, byte[] data, byte[] iv, bool ofb)
    {
        var outp = new byte[data.Length];
        var reg = iv.ToArray();
        var ks = new byte[16];
        for (int off = 0; off < data.Length; off += 16)
        {
            aes.EncryptEcb(reg, ks, PaddingMode.None);
            int n = Math.Min(16, data.Length - off);
            for (int i = 0; i < n; i++) outp[off + i] = (byte)(data[off + i] ^ ks[i]);
            if (ofb) Array.Copy(ks, reg, 16);
            else
                for (int i = 15; i >= 0; i--)
                    if (++reg[i] != 0) break;
        }
        return outp;
    }
}
