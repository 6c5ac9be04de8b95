// Twin of apisix/upstream.lua (the checks Lua callers reach: check_schema, check_upstream_conf)
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Core.Upstream;

/// <summary>
/// <c>require("apisix.upstream")</c> for Lua: its schema and conf checks run the admin API's C#
/// checker (<see cref="Admin.UpstreamChecker"/>); defaults the schema injects are written back into
/// the caller's table. The proxying half of the module is <see cref="UpstreamProxy"/>.
/// </summary>
public sealed class UpstreamLua(LuaWorker worker)
{
    public const string Name = "apisix.upstream";

    private (JsonObject? Conf, string? Err) Convert(object? value)
    {
        var (node, err) = value == null ? (null, "upstream conf is nil") : LuaJson.TryToJson(worker.Lua, value);
        return node is JsonObject o ? (o, null) : (null, err ?? "upstream conf must be a table");
    }

    private bool Finish(object? value, JsonObject conf, string? error, out string? err)
    {
        err = error;
        if (error == null && value is NLua.LuaTable t) LuaJson.SyncInto(worker.Lua, t, conf);
        return error == null;
    }

    /// <summary><c>check_schema(conf)</c>: true, or false and the error.</summary>
    public bool CheckSchema(object? value, out string? err)
    {
        var (conf, convErr) = Convert(value);
        if (conf == null) { err = convErr; return false; }
        return Finish(value, conf, Admin.UpstreamChecker.CheckSchema(conf), out err);
    }

    /// <summary><c>check_upstream_conf(conf)</c> (the admin side, ssl references not looked up).</summary>
    public bool CheckUpstreamConf(object? value, out string? err)
    {
        var (conf, convErr) = Convert(value);
        if (conf == null) { err = convErr; return false; }
        return Finish(value, conf, Admin.UpstreamChecker.Check(conf), out err);
    }
}
