// Twin of multipart.lua (lua-multipart 0.5, the parsing half body-transformer uses: get_all_with_arrays)
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// A multipart body split into its named parts (<c>Content-Disposition: form-data; name="..."</c>),
/// lines ending in CRLF or LF. A body without the boundary has no parts, as lua-multipart
/// reads it. Serialising back (<c>set_simple</c>, <c>tostring</c>) is not ported.
/// </summary>
public sealed class Multipart
{
    private readonly List<(string Name, string Value)> _parts = new();

    private static readonly Regex BoundaryRe = new("boundary=(?:\"([^\"]+)\"|([^;\\s]+))", RegexOptions.IgnoreCase);
    private static readonly Regex NameRe = new("name=\"([^\"]*)\"", RegexOptions.IgnoreCase);

    /// <summary><c>multipart(body, content_type)</c>: the parts, or null and an error when the type names no boundary.</summary>
    public static (Multipart? Parts, string? Error) Parse(string body, string? contentType)
    {
        var m = contentType == null ? Match.Empty : BoundaryRe.Match(contentType);
        if (!m.Success) return (null, "no boundary in the Content-Type header");
        var boundary = "--" + (m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        var result = new Multipart();
        var pieces = body.Split(boundary);
        // pieces[0] is the preamble; the piece starting with "--" ends the body
        for (var i = 1; i < pieces.Length; i++)
        {
            var piece = pieces[i];
            if (piece.StartsWith("--", StringComparison.Ordinal)) break;
            piece = piece.StartsWith("\r\n", StringComparison.Ordinal) ? piece[2..] : piece.StartsWith('\n') ? piece[1..] : piece;
            var sep = piece.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var sepLen = 4;
            var lf = piece.IndexOf("\n\n", StringComparison.Ordinal);
            if (sep < 0 || lf >= 0 && lf < sep) { sep = lf; sepLen = 2; }
            if (sep < 0) continue;
            var headers = piece[..sep];
            var value = piece[(sep + sepLen)..];
            if (value.EndsWith("\r\n", StringComparison.Ordinal)) value = value[..^2];
            else if (value.EndsWith('\n')) value = value[..^1];
            var name = NameRe.Match(headers);
            if (!name.Success) continue;
            result._parts.Add((name.Groups[1].Value, value));
        }
        return (result, null);
    }

    /// <summary><c>get_all_with_arrays()</c>: each name to its value, or to the list of its values when repeated.</summary>
    public JsonObject GetAllWithArrays()
    {
        var all = new JsonObject();
        foreach (var (name, value) in _parts)
        {
            switch (all[name])
            {
                case null: all[name] = value; break;
                case JsonArray a: a.Add(value); break;
                case var single: all[name] = new JsonArray(single.DeepClone(), value); break;
            }
        }
        return all;
    }
}
