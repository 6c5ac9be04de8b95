// Twin of apisix/utils/content-decode.lua
using System.IO.Compression;
using System.Text;

namespace Apisix.Core.Utils;

/// <summary>
/// Decoders for a compressed response body, by its Content-Encoding: gzip (as lua-ffi-zlib's
/// inflateGzip). Brotli is offered only where the `brotli` Lua library loads, which this runtime
/// does not have, so "br" has no decoder, as upstream without it. Bodies are byte strings (Latin-1).
/// </summary>
public static class ContentDecode
{
    public delegate (string? Body, string? Err) Decoder(string data);

    /// <summary>dispatch_decoder: the decoder for an encoding, or null when there is none.</summary>
    public static Decoder? DispatchDecoder(string? responseEncoding) => responseEncoding == "gzip" ? InflateGzip : null;

    private static (string?, string?) InflateGzip(string data)
    {
        try
        {
            using var input = new MemoryStream(Encoding.Latin1.GetBytes(data));
            using var gz = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            gz.CopyTo(output);
            return (Encoding.Latin1.GetString(output.ToArray()), null);
        }
        catch (InvalidDataException e)
        {
            return (null, "inflate gzip err: " + e.Message);
        }
    }
}
