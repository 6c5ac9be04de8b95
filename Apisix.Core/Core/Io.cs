// Twin of apisix/core/io.lua
using System.Text;

namespace Apisix.Core;

/// <summary><c>core.io</c>: <c>get_file(name)</c>, a file's whole content, or nil and the error as Lua's io.open words it.</summary>
public sealed class CoreIo
{
    public const string Name = "apisix.core.io";

    public string? GetFile(string fileName, out string? err)
    {
        err = null;
        try
        {
            return Encoding.Latin1.GetString(File.ReadAllBytes(fileName));
        }
        catch (FileNotFoundException) { err = fileName + ": No such file or directory"; }
        catch (DirectoryNotFoundException) { err = fileName + ": No such file or directory"; }
        catch (UnauthorizedAccessException) { err = fileName + ": Permission denied"; }
        catch (IOException e) { err = fileName + ": " + e.Message; }
        return null;
    }
}
