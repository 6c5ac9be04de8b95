// Twin of apisix/plugins/limit-count/util.lua
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin.LimitCountImpl;

/// <summary>
/// A Redis connection speaking RESP, the little of <c>resty.redis</c> the redis policy needs:
/// one command at a time, replies as strings, longs, null, arrays, or a <see cref="RedisError"/>.
/// </summary>
public sealed class RedisConnection(Stream stream, int timeoutMs) : IAsyncDisposable
{
    public sealed record RedisError(string Message);

    private readonly byte[] _buf = new byte[8192];
    private int _start, _end;

    public async Task<object?> CommandAsync(params object[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args)
        {
            var s = a switch
            {
                double d => LuaNumber.ToLuaString(d),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => a.ToString() ?? "",
            };
            sb.Append('$').Append(Encoding.UTF8.GetByteCount(s)).Append("\r\n").Append(s).Append("\r\n");
        }
        using var cts = new CancellationTokenSource(timeoutMs);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(sb.ToString()), cts.Token);
        await stream.FlushAsync(cts.Token);
        return await ReadReplyAsync(cts.Token);
    }

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buf.Length)
        {
            Array.Copy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        var n = await stream.ReadAsync(_buf.AsMemory(_end), ct);
        if (n == 0) return false;
        _end += n;
        return true;
    }

    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            for (var i = _start; i + 1 < _end; i++)
            {
                if (_buf[i] != '\r' || _buf[i + 1] != '\n') continue;
                var line = Encoding.UTF8.GetString(_buf, _start, i - _start);
                _start = i + 2;
                return line;
            }
            if (!await FillAsync(ct)) throw new IOException("closed");
        }
    }

    private async Task<string> ReadBytesAsync(int n, CancellationToken ct)
    {
        while (_end - _start < n + 2)
            if (!await FillAsync(ct)) throw new IOException("closed");
        var s = Encoding.UTF8.GetString(_buf, _start, n);
        _start += n + 2;
        return s;
    }

    private async Task<object?> ReadReplyAsync(CancellationToken ct)
    {
        var line = await ReadLineAsync(ct);
        var rest = line.Length > 1 ? line[1..] : "";
        switch (line.Length > 0 ? line[0] : ' ')
        {
            case '+': return rest;
            case '-': return new RedisError(rest);
            case ':': return long.Parse(rest, CultureInfo.InvariantCulture);
            case '$':
                var size = int.Parse(rest, CultureInfo.InvariantCulture);
                return size < 0 ? null : await ReadBytesAsync(size, ct);
            case '*':
                var count = int.Parse(rest, CultureInfo.InvariantCulture);
                if (count < 0) return null;
                var items = new object?[count];
                for (var i = 0; i < count; i++) items[i] = await ReadReplyAsync(ct);
                return items;
            default: throw new IOException("bad reply");
        }
    }

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}

/// <summary>The redis helpers of limit-count: connecting (AUTH, SELECT) and the counting script.</summary>
public static class LimitCountUtil
{
    // The counter script run in Redis: a key without a ttl starts the window with this cost,
    // otherwise the cost is added; either way it answers {consumed, ttl in ms}.
    private const string CommitScript =
        "assert(tonumber(ARGV[3]) >= 0, 'the cost may not be negative')\n"
        + "local left_ms = redis.call('pttl', KEYS[1])\n"
        + "if left_ms < 0 then\n"
        + "  redis.call('set', KEYS[1], ARGV[3], 'EX', ARGV[2])\n"
        + "  return {ARGV[3], ARGV[2] * 1000}\n"
        + "end\n"
        + "return {redis.call('incrby', KEYS[1], ARGV[3]), left_ms}\n";

    private static readonly string CommitScriptSha =
        Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(CommitScript)));

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    private static long Int(JsonNode? n, long dflt) => JsonScalars.TryGetNumber(n, out var d) ? (long)d : dflt;

    /// <summary><c>redis_cli(conf)</c>: a connection to <c>redis_host:redis_port</c>, authenticated and on its database.</summary>
    public static async Task<(RedisConnection? Red, string? Error)> RedisCli(ApiCtx ctx, JsonObject conf)
    {
        var timeout = (int)Int(conf["redis_timeout"], 1000);
        Stream stream;
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            stream = await ctx.Request.Nginx.TcpConnectAsync(Str(conf["redis_host"]) ?? "", (int)Int(conf["redis_port"], 6379), cts.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return (null, e is OperationCanceledException ? "timeout" : e.Message);
        }
        var red = new RedisConnection(stream, timeout);
        try
        {
            if (Str(conf["redis_password"]) is { Length: > 0 } password)
            {
                var res = Str(conf["redis_username"]) is { } user
                    ? await red.CommandAsync("auth", user, password)
                    : await red.CommandAsync("auth", password);
                if (res is RedisConnection.RedisError e)
                {
                    await red.DisposeAsync();
                    return (null, e.Message);
                }
            }
            var db = Int(conf["redis_database"], 0);
            if (db != 0 && await red.CommandAsync("select", db) is RedisConnection.RedisError se)
            {
                await red.DisposeAsync();
                return (null, "failed to change redis db, err: " + se.Message);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            await red.DisposeAsync();
            return (null, ex is OperationCanceledException ? "timeout" : ex.Message);
        }
        return (red, null);
    }

    /// <summary>
    /// <c>redis_incoming</c>: adds the cost to the window's counter in Redis (evalsha, then eval
    /// when Redis lost the script). (delay, remaining, ttl) or (null, "rejected" | error, ttl).
    /// </summary>
    public static async Task<(double? Delay, object Remaining, double Reset)> RedisIncoming(ApiCtx ctx, RedisConnection red,
        string pluginName, string keyVersion, string key, long limit, long window, long cost)
    {
        key = pluginName + ":" + keyVersion + ":" + key;
        ctx.Log(LogLevel.Info, "syncing limit count to redis, key: " + key + ", limit: " + limit + ", window: "
            + window + ", cost: " + cost);
        object? res;
        try
        {
            res = await red.CommandAsync("evalsha", CommitScriptSha, 1, key, limit, window, cost);
            if (res is RedisConnection.RedisError { Message: var m } && m.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                ctx.Log(LogLevel.Warn, "redis evalsha failed: " + m + ". Falling back to eval");
                res = await red.CommandAsync("eval", CommitScript, 1, key, limit, window, cost);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return (null, e is OperationCanceledException ? "timeout" : e.Message, 0);
        }
        if (res is RedisConnection.RedisError err) return (null, err.Message, 0);
        if (res is not object?[] { Length: 2 } pair) return (null, "bad reply from redis", 0);
        static double Num(object? o) => o switch
        {
            long l => l,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => 0,
        };
        var remaining = limit - (long)Num(pair[0]);
        var ttl = Num(pair[1]) / 1000.0;
        if (remaining < 0) return (null, "rejected", ttl);
        return (0, remaining, ttl);
    }
}
