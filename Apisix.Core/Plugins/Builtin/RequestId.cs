using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// Port of <c>apisix/plugins/request-id.lua</c>: gives each request an id in a header (kept when
/// the client already sent a non-empty one), forwards it upstream and, by default, echoes it in
/// the response. The id generators are in <see cref="RequestIdAlgorithms"/>.
/// </summary>
public sealed class RequestIdPlugin : IPlugin, IRewritePhase, IHeaderFilterPhase
{
    /// <summary>The default <c>range_id.char_set</c>, as upstream spells it (its "IGK" typo included).</summary>
    public const string DefaultCharSet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789";

    private readonly JsonObject _schema = BuildSchema();

    public string Name => "request-id";
    public int Priority => 12015;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    /// <summary>Where the generators draw from; tests may swap it for a seeded one.</summary>
    public RequestIdAlgorithms Algorithms { get; set; } = new();

    private static JsonObject BuildSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["header_name"] = new JsonObject { ["type"] = "string", ["default"] = "X-Request-Id" },
            ["include_in_response"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["algorithm"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("uuid", "nanoid", "range_id", "ksuid", "uuidv7"),
                ["default"] = "uuid",
            },
            ["range_id"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["length"] = new JsonObject { ["type"] = "integer", ["minimum"] = 6, ["default"] = 16 },
                    ["char_set"] = new JsonObject { ["type"] = "string", ["minLength"] = 6, ["default"] = DefaultCharSet },
                },
                ["default"] = new JsonObject { ["length"] = 16, ["char_set"] = DefaultCharSet },
            },
        },
    };

    private static string HeaderName(JsonObject conf) =>
        JsonScalars.TryGetString(conf["header_name"], out var h) ? h : "X-Request-Id";

    private static bool IncludeInResponse(JsonObject conf) =>
        !JsonScalars.TryGetBoolean(conf["include_in_response"], out var b) || b;

    /// <summary>The id for one request, by the conf's algorithm (uuid when unset or unknown).</summary>
    public string Generate(JsonObject conf)
    {
        var algorithm = JsonScalars.TryGetString(conf["algorithm"], out var a) ? a : "uuid";
        switch (algorithm)
        {
            case "uuidv7": return Algorithms.UuidV7();
            case "nanoid": return Algorithms.NanoId();
            case "ksuid": return Algorithms.Ksuid();
            case "range_id":
                {
                    var range = conf["range_id"] as JsonObject;
                    var length = JsonScalars.TryGetNumber(range?["length"], out var l) ? (int)l : 16;
                    var charSet = JsonScalars.TryGetString(range?["char_set"], out var cs) ? cs : DefaultCharSet;
                    return Algorithms.RangeId(length, charSet);
                }
            default: return Algorithms.UuidV4();
        }
    }

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        var name = HeaderName(conf);
        var sent = ctx.Request.RequestHeader(name);
        string id;
        if (string.IsNullOrEmpty(sent))
        {
            id = Generate(conf);
            SetRequestHeader(ctx, name, id);
        }
        else id = sent;

        if (IncludeInResponse(conf)) ctx.Items["request-id-" + name] = id;
        if (ctx.Var["apisix_request_id"] != null) ctx.Var["apisix_request_id"] = id;
        return ValueTask.FromResult(PhaseResult.Continue);
    }

    public void HeaderFilter(JsonObject conf, ApiCtx ctx)
    {
        if (!IncludeInResponse(conf)) return;
        var name = HeaderName(conf);
        if (ctx.Request.ResponseHeaders.TryGetValue(name, out var values) && values.Count > 0 && values[0] != "") return;
        var id = ctx.Items.GetValueOrDefault("request-id-" + name) as string;
        ctx.Request.SetResponseHeader(name, id);
    }

    /// <summary>
    /// <c>core.request.set_header(ctx, name, value)</c>: replaces every value of the header (so it
    /// is what the proxy forwards) and drops ctx.var's cached copy, under the same key upstream
    /// clears (<c>"http_" .. lower(name)</c>, dashes kept).
    /// </summary>
    private static void SetRequestHeader(ApiCtx ctx, string name, string value)
    {
        var headers = ctx.Request.RequestHeaders;
        headers.RemoveAll(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
        headers.Add((name, value));
        ctx.Var["http_" + name.ToLowerInvariant()] = null;
    }
}

/// <summary>
/// The id generators request-id offers: random v4 UUIDs (resty.jit-uuid), nanoid (21 chars of the
/// URL-safe 64-letter alphabet from 6 random bits each), range_id (characters drawn uniformly from
/// a set), KSUID (27 base62 characters: a seconds timestamp since 1400000000, then 16 random
/// bytes) and v7 UUIDs as <c>core.utils.generate_uuid_v7</c> builds them (ms timestamp, an 18-bit
/// sequence within the same ms, 56 random bits drawn once per ms).
/// </summary>
public sealed class RequestIdAlgorithms
{
    public const string NanoIdAlphabet = "-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    public const int NanoIdSize = 21;
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private const long KsuidEpoch = 1400000000;

    private readonly Random? _random;
    private long _v7LastMs;
    private int _v7Seq;
    private readonly byte[] _v7Rand = new byte[7];

    /// <param name="random">A seeded source for tests; null uses the system's cryptographic RNG
    /// for the random bytes and <see cref="Random.Shared"/> where upstream uses math.random.</param>
    /// <param name="clock">Unix time in milliseconds; null uses the system clock.</param>
    public RequestIdAlgorithms(Random? random = null, Func<long>? clock = null)
    {
        _random = random;
        Clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    public Func<long> Clock { get; }

    private void Fill(Span<byte> bytes)
    {
        if (_random != null) _random.NextBytes(bytes);
        else RandomNumberGenerator.Fill(bytes);
    }

    private int NextInt(int maxExclusive) => (_random ?? Random.Shared).Next(maxExclusive);

    /// <summary>A random (version 4, RFC 4122 variant) UUID, lower-case hex with dashes.</summary>
    public string UuidV4()
    {
        Span<byte> b = stackalloc byte[16];
        Fill(b);
        b[6] = (byte)((b[6] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return FormatUuid(b);
    }

    private static string FormatUuid(ReadOnlySpan<byte> b)
    {
        var hex = Convert.ToHexStringLower(b);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    public string NanoId()
    {
        Span<byte> b = stackalloc byte[NanoIdSize];
        Fill(b);
        var sb = new StringBuilder(NanoIdSize);
        foreach (var x in b) sb.Append(NanoIdAlphabet[x & 63]);
        return sb.ToString();
    }

    public string RangeId(int length, string charSet)
    {
        var sb = new StringBuilder(length);
        for (var i = 0; i < length; i++) sb.Append(charSet[NextInt(charSet.Length)]);
        return sb.ToString();
    }

    public string Ksuid()
    {
        Span<byte> raw = stackalloc byte[20];
        var seconds = Clock() / 1000 - KsuidEpoch;
        BinaryPrimitives.WriteUInt32BigEndian(raw, (uint)seconds);
        Fill(raw[4..]);
        return KsuidEncode(raw);
    }

    /// <summary>20 bytes as a big-endian number in base62, left-padded with '0' to 27 characters.</summary>
    public static string KsuidEncode(ReadOnlySpan<byte> raw)
    {
        var n = new BigInteger(raw, isUnsigned: true, isBigEndian: true);
        var chars = new char[27];
        for (var i = 26; i >= 0; i--)
        {
            n = BigInteger.DivRem(n, 62, out var rem);
            chars[i] = Base62[(int)rem];
        }
        return new string(chars);
    }

    public string UuidV7()
    {
        // upstream keeps this state per worker; here workers may share the plugin, so lock
        lock (_v7Rand) return UuidV7Locked();
    }

    private string UuidV7Locked()
    {
        var ms = Clock();
        if (ms > _v7LastMs) ResetV7(ms);
        else
        {
            ms = _v7LastMs;
            _v7Seq++;
            if (_v7Seq > 0x3FFFF)
            {
                // the sequence is spent: upstream spins until the clock moves on; taking the
                // next millisecond keeps ids ordered without blocking the event loop
                ms = _v7LastMs + 1;
                ResetV7(ms);
            }
        }
        Span<byte> b = stackalloc byte[16];
        for (var i = 0; i < 6; i++) b[i] = (byte)(ms >> (8 * (5 - i)));
        var hi = 0x7000 | (_v7Seq >> 6);
        b[6] = (byte)(hi >> 8);
        b[7] = (byte)hi;
        b[8] = (byte)(0x80 | (_v7Seq & 0x3F));
        _v7Rand.CopyTo(b[9..]);
        return FormatUuid(b);
    }

    private void ResetV7(long ms)
    {
        _v7LastMs = ms;
        _v7Seq = 0;
        for (var i = 0; i < _v7Rand.Length; i++) _v7Rand[i] = (byte)NextInt(256);
    }
}
