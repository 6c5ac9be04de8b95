// Twin of resty/limit/req.lua (lua-resty-limit-traffic), the local policy of limit-req
using System.Buffers.Binary;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin.LimitReqImpl;

/// <summary>
/// The leaky bucket of <c>resty.limit.req</c> over a shared dict: per key a 16-byte record of
/// two unsigned 64-bit integers, the excess (in thousandths of a request) and the time of the
/// last accepted request (ms). Both are truncated to integers when stored, as the C struct does.
/// </summary>
public sealed class RestyLimitReq
{
    private readonly SharedDict _dict;
    private readonly double _rate;   // requests per second * 1000
    private readonly double _burst;  // * 1000
    private readonly Func<double> _nowMs;

    public RestyLimitReq(SharedDict dict, double rate, double burst, Func<double>? nowMs = null)
    {
        _dict = dict;
        _rate = rate * 1000;
        _burst = burst * 1000;
        _nowMs = nowMs ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// <c>incoming(key, commit)</c>: the delay in seconds and the excess in requests, or a null
    /// delay and the error ("rejected" when over the burst).
    /// </summary>
    public (double? Delay, double Excess, string? Error) Incoming(string key, bool commit)
    {
        var now = _nowMs();
        double excess;
        var v = _dict.Get(key).Value;
        if (v != null)
        {
            if (v is not string s || s.Length != 16) return (null, 0, "shdict abused by other users");
            var bytes = ByteString.ToBytes(s);
            double recExcess = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(0, 8));
            double last = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8, 8));
            var elapsed = now - last;
            excess = Math.Max(recExcess - _rate * Math.Abs(elapsed) / 1000 + 1000, 0);
            if (excess > _burst) return (null, 0, "rejected");
        }
        else excess = 0;

        if (commit)
        {
            var rec = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(0, 8), (ulong)excess);
            BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(8, 8), (ulong)now);
            _dict.Store("set", key, ByteString.FromBytes(rec), 0, 0);
        }
        return (excess / _rate, excess / 1000, null);
    }
}
