using System.Text.Json.Nodes;
using Apisix.Core.Healthcheck;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Core.Bridges;

/// <summary>
/// The C# half of the Lua module <c>resty.healthcheck</c> (Lua/resty/healthcheck.lua): checkers
/// made from Lua share their targets' state with the gateway's own checkers through the shm,
/// as lua-resty-healthcheck's do.
/// </summary>
public sealed class HealthcheckBridge(LuaWorker worker)
{
    public const string Name = "resty.healthcheck";

    public Healthchecker? New(string name, string? shmName, object? checks, out string? err)
    {
        var conf = checks == null ? null : LuaJson.ToJson(worker.Lua, checks) as JsonObject;
        var (checker, e) = Healthchecker.New(worker, name, shmName ?? HealthcheckManager.ShdictName, conf);
        err = e;
        return checker;
    }

    public bool AddTarget(Healthchecker checker, string ip, long port, string? hostname, bool isHealthy, string? hostHeader, out string? err)
    {
        var (ok, e) = checker.AddTarget(ip, (int)port, hostname, isHealthy, hostHeader);
        err = e;
        return ok;
    }

    public object? GetTargetStatus(Healthchecker checker, string ip, long port, string? hostname, out string? err)
    {
        var (status, e) = checker.GetTargetStatus(ip, (int)port, hostname);
        err = e;
        return status;
    }

    public bool Stop(Healthchecker checker) => checker.Stop();
}
