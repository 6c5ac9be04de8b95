using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// Port of <c>apisix/plugins/ai-transport/aws-eventstream.lua</c>: the binary message framing
/// AWS streams use (Bedrock ConverseStream). Buffers are byte strings (one char per byte).
/// A message is a 12-byte prelude (total length, headers length, CRC-32 of the first 8 bytes,
/// all big-endian), the headers, the payload and a CRC-32 of everything before it.
/// Same surface as <see cref="Sse"/>: <see cref="DecodeBuf"/> gives the events and the bytes
/// left over. A corrupt message stops decoding with a warning naming what is wrong.
/// </summary>
public static class AwsEventStream
{
    /// <summary>Largest message accepted (and so the largest remainder kept).</summary>
    public const int MaxFrameSize = 16 * 1024 * 1024;

    public static long MaxRemainder => MaxFrameSize;

    private const int PreludeLength = 12;
    private const int MinFrameLength = 16;

    private static uint U32(string s, int pos) =>
        (uint)(((byte)s[pos] << 24) | ((byte)s[pos + 1] << 16) | ((byte)s[pos + 2] << 8) | (byte)s[pos + 3]);

    private static int U16(string s, int pos) => ((byte)s[pos] << 8) | (byte)s[pos + 1];

    private static uint Crc(string s, int start, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = (byte)s[start + i];
        return Crc32.Compute(bytes);
    }

    /// <summary>
    /// <c>split_buf</c>: the leading run of whole messages whose prelude checks out, and the
    /// rest. A message with a bad length or prelude CRC stays in the rest with all behind it.
    /// </summary>
    public static (string Complete, string Remainder) SplitBuf(string buf)
    {
        var pos = 0;
        while (pos + PreludeLength <= buf.Length)
        {
            var total = U32(buf, pos);
            if (total < MinFrameLength || total > MaxFrameSize) break;
            if (pos + total > buf.Length) break;
            if (Crc(buf, pos, 8) != U32(buf, pos + 8)) break;
            pos += (int)total;
        }
        return pos == 0 ? ("", buf) : (buf[..pos], buf[pos..]);
    }

    /// <summary>
    /// <c>decode</c>: the messages in <paramref name="buf"/> as <c>{headers, payload}</c> objects.
    /// Decoding stops at the first message that is cut short or fails a check; what went wrong is
    /// passed to <paramref name="warn"/> and the events before it are returned.
    /// </summary>
    public static JsonArray Decode(string buf, Action<string>? warn = null)
    {
        var events = new JsonArray();
        var pos = 0;
        while (pos < buf.Length)
        {
            var (ev, length, error) = DecodeFrame(buf, pos);
            if (ev == null)
            {
                warn?.Invoke("aws-eventstream: " + error);
                break;
            }
            events.Add(ev);
            pos += length;
        }
        return events;
    }

    /// <summary><c>decode_buf</c>: <see cref="SplitBuf"/> then <see cref="Decode"/>.</summary>
    public static (JsonArray Events, string Remainder) DecodeBuf(string buf, Action<string>? warn = null)
    {
        var (complete, remainder) = SplitBuf(buf);
        return (Decode(complete, warn), remainder);
    }

    /// <summary>One message at <paramref name="pos"/>: the event and its length, or the error.</summary>
    public static (JsonObject? Event, int Length, string? Error) DecodeFrame(string buf, int pos)
    {
        var available = buf.Length - pos;
        if (available < PreludeLength)
            return (null, 0, $"truncated prelude at offset {pos} (buffer {buf.Length} bytes)");
        var total = U32(buf, pos);
        var headersLength = U32(buf, pos + 4);
        var preludeCrc = U32(buf, pos + 8);
        if (total < MinFrameLength || total > MaxFrameSize)
            return (null, 0, $"invalid total_length {total} at offset {pos}");
        if (headersLength > total - MinFrameLength)
            return (null, 0, $"headers_length {headersLength} exceeds frame body");
        if (total > available)
            return (null, 0, $"incomplete frame at offset {pos}");

        var computedPrelude = Crc(buf, pos, 8);
        if (computedPrelude != preludeCrc)
            return (null, 0, $"prelude CRC mismatch at offset {pos} expected {preludeCrc} got {computedPrelude}");

        var messageEnd = pos + (int)total - 4; // exclusive end of what the message CRC covers
        var messageCrc = U32(buf, messageEnd);
        var computedMessage = Crc(buf, pos, (int)total - 4);
        if (computedMessage != messageCrc)
            return (null, 0, $"message CRC mismatch at offset {pos} expected {messageCrc} got {computedMessage}");

        var headersStart = pos + PreludeLength;
        var payloadStart = headersStart + (int)headersLength;
        var (headers, herr) = ParseHeaders(buf, headersStart, payloadStart);
        if (headers == null) return (null, 0, "failed to parse headers: " + herr);

        var ev = new JsonObject
        {
            ["headers"] = headers,
            ["payload"] = buf[payloadStart..messageEnd],
        };
        return (ev, (int)total, null);
    }

    // value type tags
    private const byte TypeTrue = 0, TypeFalse = 1, TypeByte = 2, TypeShort = 3, TypeInteger = 4,
        TypeLong = 5, TypeBytes = 6, TypeString = 7, TypeTimestamp = 8, TypeUuid = 9;

    /// <summary>
    /// The headers in [<paramref name="start"/>, <paramref name="end"/>): name → value. Strings
    /// and byte arrays as byte strings, booleans and small integers as such, 64-bit values
    /// (long, timestamp) and UUIDs as their raw bytes.
    /// </summary>
    private static (JsonObject? Headers, string? Error) ParseHeaders(string s, int start, int end)
    {
        var headers = new JsonObject();
        var pos = start;
        while (pos < end)
        {
            int nameLength = (byte)s[pos++];
            if (pos + nameLength > end) return (null, "header name extends past headers section");
            var name = s.Substring(pos, nameLength);
            pos += nameLength;
            // as upstream, the type byte and a string's length are read from the buffer even past
            // the headers section (from the payload); only the buffer's end makes them missing
            if (pos >= s.Length) return (null, "missing header value type");
            var type = (byte)s[pos++];
            JsonNode? value;
            switch (type)
            {
                case TypeString or TypeBytes:
                {
                    if (pos + 2 > s.Length) return (null, "truncated header value length");
                    var len = U16(s, pos);
                    pos += 2;
                    if (pos + len > end) return (null, "header value extends past headers section");
                    value = s.Substring(pos, len);
                    pos += len;
                    break;
                }
                case TypeTrue: value = true; break;
                case TypeFalse: value = false; break;
                case TypeByte:
                    if (pos + 1 > end) return (null, "truncated header byte value");
                    value = (long)(byte)s[pos];
                    pos += 1;
                    break;
                case TypeShort:
                    if (pos + 2 > end) return (null, "truncated header short value");
                    value = (long)U16(s, pos);
                    pos += 2;
                    break;
                case TypeInteger:
                    if (pos + 4 > end) return (null, "truncated header integer value");
                    value = (long)U32(s, pos);
                    pos += 4;
                    break;
                case TypeLong or TypeTimestamp:
                    if (pos + 8 > end) return (null, type == TypeLong ? "truncated header long value" : "truncated header timestamp value");
                    value = s.Substring(pos, 8);
                    pos += 8;
                    break;
                case TypeUuid:
                    if (pos + 16 > end) return (null, "truncated header uuid value");
                    value = s.Substring(pos, 16);
                    pos += 16;
                    break;
                default:
                    return (null, "unknown header value type: " + type);
            }
            headers[name] = value;
        }
        return (headers, null);
    }

    /// <summary>Builds one message (for tests and fakes): string headers only.</summary>
    public static string EncodeFrame(IEnumerable<KeyValuePair<string, string>> headers, string payload)
    {
        var h = new System.Text.StringBuilder();
        foreach (var (name, value) in headers)
        {
            h.Append((char)name.Length).Append(name).Append((char)TypeString)
                .Append((char)(value.Length >> 8)).Append((char)(value.Length & 0xFF)).Append(value);
        }
        var headerText = h.ToString();
        var total = PreludeLength + headerText.Length + payload.Length + 4;
        var prelude = Be(total) + Be(headerText.Length);
        prelude += Be((int)Crc(prelude, 0, 8));
        var body = prelude + headerText + payload;
        return body + Be((int)Crc(body, 0, body.Length));
    }

    private static string Be(int v) =>
        new([(char)((v >> 24) & 0xFF), (char)((v >> 16) & 0xFF), (char)((v >> 8) & 0xFF), (char)(v & 0xFF)]);
}
