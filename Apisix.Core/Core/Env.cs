// Twin of apisix/core/env.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core;

/// <summary>
/// <c>core.env</c>: secrets referenced as <c>$ENV://NAME</c> or <c>$ENV://NAME/sub_key</c> (the
/// value parsed as JSON and the sub key taken from it). The environment is the one nginx's
/// workers see (<see cref="LuaModules.GetEnv"/>). Called from Lua through apisix/core/env.lua.
/// </summary>
public sealed class CoreEnv(LuaWorker worker)
{
    public const string Name = "apisix.core.env";
    public const string Prefix = "$ENV://";

    /// <summary><c>init()</c>: nothing to snapshot; the environment is read on each fetch.</summary>
    public void Init() { }

    /// <summary><c>fetch_by_uri(uri)</c>: the value (a string, or what the JSON holds under the sub key), or nil and an error.</summary>
    public object? FetchByUri(object? uri, out string? err)
    {
        err = null;
        worker.Nginx.Log(worker, LogLevel.Info, "fetching data from env uri: " + (uri is string u ? u : CtxVar.ToVarString(uri) ?? "nil"), worker.CurrentRequest);
        if (uri is not string envUri)
        {
            err = "error env_uri type: " + LuaTypeName(uri);
            return null;
        }
        if (!envUri.ToUpperInvariant().StartsWith(Prefix, StringComparison.Ordinal))
        {
            err = "error env_uri prefix: " + envUri;
            return null;
        }
        var path = envUri[Prefix.Length..];
        var slash = path.IndexOf('/');
        var (key, subKey) = slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
        var main = worker.Nginx.Modules.GetEnv(key);
        if (main == null || subKey == "") return main;
        var (node, decodeErr) = CJson.Decode(main);
        if (decodeErr != null)
        {
            err = "decode failed, err: " + decodeErr + ", value: " + main;
            return null;
        }
        return (node as JsonObject)?[subKey] switch
        {
            null => null,
            var v when JsonScalars.TryGetString(v, out var s) => s,
            var v when JsonScalars.TryGetNumber(v, out var d) => NgxBridge.ToLua(d),
            var v when JsonScalars.TryGetBoolean(v, out var b) => b,
            var v => CJson.Encode(v),
        };
    }

    internal static string LuaTypeName(object? v) => v switch
    {
        null => "nil",
        string => "string",
        bool => "boolean",
        long or double or int => "number",
        NLua.LuaTable => "table",
        NLua.LuaFunction => "function",
        _ => "userdata",
    };
}
