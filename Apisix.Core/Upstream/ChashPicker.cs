// Twin of apisix/balancer/chash.lua
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Upstream;

/// <summary>
/// The consistent-hash ring of lua-resty-balancer's <c>resty.chash</c> (its Lua side plus the
/// point generation and ordering of its <c>chash.c</c>), so a key lands on the same node id the
/// Lua library would give.
///
/// Every node owns <c>weight * 160</c> points. The points of a node form a chain of CRC-32
/// values: the first is the CRC-32 of the id's bytes followed by four zero bytes, and each next
/// one is the CRC-32 of the id's bytes followed by the previous point as four little-endian
/// bytes. All points are ordered by hash (with chash.c's bucket insertion, kept here so equal
/// hashes end up in the same order). A key is the CRC-32 of its bytes; it belongs to the first
/// point whose hash is not below it, wrapping to point 0 past the end. <see cref="Next"/> walks
/// on to the following point.
///
/// What may differ: points with equal hashes are ordered by the order the nodes were given,
/// where the Lua library takes them in its <c>pairs</c> order; a tie needs two of the
/// <c>160 * total weight</c> 32-bit points to collide, and even then only that one spot of the
/// ring can answer differently.
/// </summary>
public sealed class ChashRing
{
    /// <summary>Points per unit of weight.</summary>
    public const int ConsistentPoints = 160;

    private readonly string[] _ids;       // node ids; a point's Id is 1-based into this
    private readonly uint[] _hashes;
    private readonly int[] _pointIds;

    /// <param name="nodes">Node ids and weights (a weight of 0 gives the node no point).</param>
    public ChashRing(IEnumerable<(string Id, int Weight)> nodes)
    {
        var list = nodes.ToList();
        _ids = list.Select(n => n.Id).ToArray();
        long total = 0;
        foreach (var (_, w) in list)
        {
            if (w < 0) throw new ArgumentOutOfRangeException(nameof(nodes), "a weight cannot be negative");
            total += w;
        }
        var n = checked((int)(total * ConsistentPoints));
        var points = new (uint Hash, int Id)[n];
        var at = 0;
        for (var i = 0; i < list.Count; i++)
        {
            var idBytes = ByteString.ToBytes(list[i].Id);
            var buf = new byte[idBytes.Length + 4];
            idBytes.CopyTo(buf, 0);
            var count = list[i].Weight * ConsistentPoints;
            for (var k = 0; k < count; k++)
            {
                var h = Crc32.Compute(buf);
                points[at++] = (h, i + 1);
                buf[idBytes.Length] = (byte)h;
                buf[idBytes.Length + 1] = (byte)(h >> 8);
                buf[idBytes.Length + 2] = (byte)(h >> 16);
                buf[idBytes.Length + 3] = (byte)(h >> 24);
            }
        }
        BucketSort(points);
        _hashes = points.Select(p => p.Hash).ToArray();
        _pointIds = points.Select(p => p.Id).ToArray();
    }

    /// <summary>How many points the ring has (<c>npoints</c>).</summary>
    public int PointCount => _hashes.Length;

    /// <summary>The ring in order: each point's hash and the id of the node that owns it.</summary>
    public IEnumerable<(uint Hash, string Id)> Points => _hashes.Select((h, i) => (h, _ids[_pointIds[i] - 1]));

    /// <summary>The CRC-32 a string is hashed with (ngx.crc32_short over its bytes).</summary>
    public static uint Hash(string s) => Crc32.Compute(ByteString.ToBytes(s));

    /// <summary>
    /// <c>chash:find(key)</c>: the node id owning the key and the index of the point it landed
    /// on; a null id when the ring has no point.
    /// </summary>
    public (string? Id, int Index) Find(string key)
    {
        if (_hashes.Length == 0) return (null, 0);
        var i = FindIndex(Hash(key));
        return (_ids[_pointIds[i] - 1], i);
    }

    /// <summary><c>chash:next(index)</c>: the node id of the point after <paramref name="index"/>, and its index.</summary>
    public (string? Id, int Index) Next(int index)
    {
        if (_hashes.Length == 0) return (null, 0);
        var i = (int)(((long)index + 1) % _hashes.Length);
        if (i < 0) i += _hashes.Length;
        return (_ids[_pointIds[i] - 1], i);
    }

    // Jumps to where the hash would sit if points were spread evenly, then walks down or up to
    // the first point whose hash is at least the key's.
    private int FindIndex(uint hash)
    {
        var n = _hashes.Length;
        var step = 4294967296.0 / n;
        var index = (long)Math.Floor(hash / step);
        if (index > n - 1) index = n - 1;
        var start = (int)index;
        if (_hashes[start] >= hash)
        {
            for (var i = start; i >= 1; i--)
                if (_hashes[i - 1] < hash) return i;
            return 0;
        }
        for (var i = start + 1; i < n; i++)
            if (hash <= _hashes[i]) return i;
        return 0;
    }

    // chash.c's ordering: every point is dropped into a table about 1.6 times larger, at the
    // slot its hash scales to; a taken slot makes it shift its neighbours towards the nearest
    // free slot (left first, then right) so the table stays ordered. Reading the table's taken
    // slots in order gives the sorted points. Equal hashes keep the order this produces.
    private static void BucketSort((uint Hash, int Id)[] arr)
    {
        var count = arr.Length;
        var minSize = (uint)(count * 1.6);
        uint size = 2;
        while (size <= minSize) size *= 2;
        var step = (uint)(4294967296.0 / size);
        var m = (int)size;
        var table = new (uint Hash, int Id)[m];

        foreach (var point in arr)
        {
            var index = (int)(point.Hash / step);
            int end, start;

            for (end = index; end >= 0; end--)
            {
                if (table[end].Id == 0) goto place;
                if (point.Hash >= table[end].Hash) break;
            }

            for (start = end - 1; start >= 0; start--)
            {
                if (table[start].Id != 0) continue;
                for (var j = start; j < end; j++) table[j] = table[j + 1];
                while (end + 1 < m && table[end + 1].Id != 0 && table[end + 1].Hash < point.Hash)
                {
                    table[end] = table[end + 1];
                    end++;
                }
                goto place;
            }

            for (end++; end < m; end++)
            {
                if (table[end].Id == 0) goto place;
                if (point.Hash < table[end].Hash) break;
            }
            for (start = end + 1; start < m; start++)
                if (table[start].Id == 0) break;
            for (var j = start; j > end; j--) table[j] = table[j - 1];

        place:
            table[end] = point;
        }

        var k = 0;
        foreach (var slot in table)
            if (slot.Id != 0) arr[k++] = slot;
    }
}

/// <summary>
/// APISIX's <c>apisix/balancer/chash.lua</c>: the node comes from a consistent-hash ring keyed by
/// something of the request (<c>hash_on</c> / <c>key</c> of the upstream). Weights are divided by
/// their gcd first; a node's ring id is its host:port with every ':' turned into a NUL byte.
/// A retry walks on along the ring from the point the last pick landed on (kept in
/// <c>ctx.chash_last_server_index</c>), skipping the servers the request already tried.
/// </summary>
public sealed class ChashPicker : IServerPicker
{
    /// <summary>The <see cref="ApiCtx.Items"/> field the ring position of the last pick is kept in.</summary>
    public const string LastIndexField = "chash_last_server_index";

    private readonly ChashRing _ring;
    private readonly Dictionary<string, string> _servers = new(StringComparer.Ordinal); // ring id -> host:port
    private readonly int _nodesCount;
    private readonly long _safeLimit;
    // where the ring position lives when the state carries no ctx
    private readonly ConditionalWeakTable<BalancerState, StrongBox<int>> _lastIndex = new();

    /// <param name="nodes">Servers (host:port) and weights; a server listed twice keeps its last weight.</param>
    /// <param name="upstream">The upstream conf: its <c>hash_on</c> (default "vars") and <c>key</c>.</param>
    public ChashPicker(IReadOnlyList<(string Id, int Weight)> nodes, JsonObject? upstream)
    {
        Upstream = upstream;
        var merged = new List<(string Id, int Weight)>();
        foreach (var n in nodes)
        {
            var at = merged.FindIndex(e => e.Id == n.Id);
            if (at >= 0) merged[at] = n;
            else merged.Add(n);
        }

        var gcd = 0;
        foreach (var (_, w) in merged) gcd = gcd == 0 ? w : Gcd(gcd, w);
        if (gcd == 0) gcd = 1;

        var ringNodes = new List<(string Id, int Weight)>();
        long total = 0;
        foreach (var (server, w) in merged)
        {
            var id = server.Replace(':', '\0');
            _servers[id] = server;
            ringNodes.Add((id, w / gcd));
            total += w / gcd;
            _nodesCount++;
        }
        _safeLimit = total * ChashRing.ConsistentPoints;
        _ring = new ChashRing(ringNodes);
    }

    /// <summary>The upstream conf the picker was made for (<c>picker.upstream</c>).</summary>
    public JsonObject? Upstream { get; }

    /// <summary>The ring (ids are host:port with ':' as NUL).</summary>
    public ChashRing Ring => _ring;

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    public (string? Server, string? Error) Get(BalancerState state)
    {
        string? id;
        if (state.TriedServers != null)
        {
            if (state.TriedCount == _nodesCount) return (null, "all upstream servers tried");
            var index = GetLastIndex(state);
            if (index == null)
            {
                // the Lua relies on a first pick having stored the position; without one, start where the key lands
                (_, var found) = _ring.Find(KeyString(FetchHashKey(state, Upstream)));
                index = found;
            }
            var at = index.Value;
            id = null;
            for (long i = 1; i <= _safeLimit; i++)
            {
                (id, at) = _ring.Next(at);
                SetLastIndex(state, at);
                if (id == null || !state.TriedServers.Contains(_servers[id])) break;
            }
        }
        else
        {
            var key = FetchHashKey(state, Upstream);
            (id, var at) = _ring.Find(KeyString(key));
            SetLastIndex(state, at);
        }
        return (id == null ? null : _servers[id], null);
    }

    public void AfterBalance(BalancerState state, bool beforeRetry)
    {
        if (!beforeRetry)
        {
            // as chash.lua: the tried set goes, its count is left as it was
            state.TriedServers = null;
            return;
        }
        state.TriedServers ??= new HashSet<string>(StringComparer.Ordinal);
        if (state.Server != null) state.TriedServers.Add(state.Server);
        state.TriedCount++;
    }

    public void BeforeRetryNextPriority(BalancerState state)
    {
        state.TriedServers = null;
        state.TriedCount = 0;
    }

    private int? GetLastIndex(BalancerState state)
    {
        if (state.Ctx != null)
            return state.Ctx.Items.TryGetValue(LastIndexField, out var v) && v is int i ? i : null;
        return _lastIndex.TryGetValue(state, out var box) ? box.Value : null;
    }

    private void SetLastIndex(BalancerState state, int index)
    {
        if (state.Ctx != null) state.Ctx.Items[LastIndexField] = index;
        else _lastIndex.AddOrUpdate(state, new StrongBox<int>(index));
    }

    // tostring(key) as resty.chash hashes it
    private static string KeyString(object? key) => key == null ? "nil" : CtxVar.ToVarString(key) ?? "nil";

    private static bool IsFalsy(object? v) => v == null || v is false || (v is JsonValue j && JsonScalars.TryGetBoolean(j, out var b) && !b);

    /// <summary>
    /// <c>fetch_chash_hash_key</c>: the value the ring is searched with, from the source
    /// <c>hash_on</c> names (consumer name, a variable, a header, a cookie, or a template of
    /// variables); when that gives nothing, <c>remote_addr</c>, with a warn line. Logs the key,
    /// the source and the value at info level. Without a ctx there is nothing to read and the
    /// key is null.
    /// </summary>
    public static object? FetchHashKey(ApiCtx? ctx, JsonObject? upstream) =>
        ctx == null ? null : FetchHashKey(ctx.Var.Get, ctx.ConsumerName, ctx.Log, upstream);

    /// <summary>The hash key of a request the state stands for: its api_ctx, or the variables a Lua caller gave.</summary>
    private static object? FetchHashKey(BalancerState state, JsonObject? upstream) =>
        state.Ctx != null ? FetchHashKey(state.Ctx, upstream)
        : state.Vars != null ? FetchHashKey(state.Vars, state.ConsumerName, state.LogTo ?? ((_, _) => { }), upstream)
        : null;

    /// <summary><c>fetch_chash_hash_key</c> over a variable lookup (<c>ctx.var[name]</c>) and a log.</summary>
    public static object? FetchHashKey(Func<string, object?> vars, string? consumerName, Action<LogLevel, string> log, JsonObject? upstream)
    {
        var key = upstream?["key"] is JsonValue kv && kv.TryGetValue<string>(out var ks) ? ks : null;
        var hashOn = upstream?["hash_on"] is JsonValue hv && hv.TryGetValue<string>(out var hs) ? hs : "vars";
        object? chashKey = null;

        switch (hashOn)
        {
            case "consumer":
                chashKey = consumerName;
                break;
            case "vars":
                if (key != null) chashKey = vars(key);
                break;
            case "header":
                if (key != null) chashKey = vars("http_" + key);
                break;
            case "cookie":
                if (key != null) chashKey = vars("cookie_" + key);
                break;
            case "vars_combinations":
                {
                    var (resolved, n) = ResolveVar(key, vars);
                    chashKey = n == 0 ? null : resolved;
                    break;
                }
        }

        if (IsFalsy(chashKey))
        {
            chashKey = vars("remote_addr");
            log(LogLevel.Warn, "chash_key fetch is nil, use default chash_key remote_addr: " + (CtxVar.ToVarString(chashKey) ?? "nil"));
        }
        log(LogLevel.Info, "upstream key: " + (key ?? "nil"));
        log(LogLevel.Info, "hash_on: " + hashOn);
        log(LogLevel.Info, "chash_key: " + EncodeForLog(chashKey));
        return chashKey;
    }

    private static string EncodeForLog(object? v)
    {
        JsonNode? node = v switch
        {
            null => null,
            JsonNode j => j,
            string s => JsonValue.Create(s),
            bool b => JsonValue.Create(b),
            int i => JsonValue.Create(i),
            long l => JsonValue.Create(l),
            double d => JsonValue.Create(d),
            _ => JsonValue.Create(v.ToString()),
        };
        var (text, _) = CJson.TryEncode(node);
        return text ?? "null";
    }

    // core.utils.resolve_var's template syntax: $name or ${name} or ${name ?? default}, a
    // backslash before the '$' keeping it literal. Whitespace and word characters as PCRE
    // (ASCII only) has them.
    private static readonly Regex VarPattern = new(@"(?<!\\)\$(\{[ \t\n\v\f\r]*([^}]+?)[ \t\n\v\f\r]*\}|([A-Za-z0-9_.]+))", RegexOptions.CultureInvariant);
    private static readonly Regex DefaultSep = new(@"[ \t\n\v\f\r]*\?\?[ \t\n\v\f\r]*", RegexOptions.CultureInvariant);

    /// <summary>
    /// <c>core.utils.resolve_var(tpl, ctx.var)</c>: the template with its variables put in, and how
    /// many were (a variable that is unset and has no default becomes "" and is not counted).
    /// </summary>
    public static (string? Value, int Resolved) ResolveVar(string? template, CtxVar vars) => ResolveVar(template, vars.Get);

    /// <summary><c>core.utils.resolve_var</c> over a variable lookup.</summary>
    public static (string? Value, int Resolved) ResolveVar(string? template, Func<string, object?> vars)
    {
        if (template == null || !template.Contains('$')) return (template, 0);
        var n = 0;
        var result = VarPattern.Replace(template, m =>
        {
            var name = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
            var segs = DefaultSep.Split(name);
            var v = vars(segs[0]);
            string text;
            if (v == null)
            {
                if (segs.Length == 1) return "";
                text = segs[1];
            }
            else text = CtxVar.ToVarString(v) ?? "";
            n++;
            return text;
        });
        return (result, n);
    }
}
