// Twin of apisix/core/os.lua
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;

namespace Apisix.Core;

/// <summary>
/// <c>core.os</c>: <c>setenv</c> into the environment the workers see (so <c>os.getenv</c> reads
/// it back), <c>usleep</c> (whole microseconds only, as upstream's FFI call insists) and
/// <c>waitpid</c>, which this port cannot do: it has no child processes.
/// </summary>
public sealed class CoreOs(LuaWorker worker)
{
    public const string Name = "apisix.core.os";

    /// <summary><c>setenv(name, value)</c>: true, or false and "invalid argument" unless name is a string and value a string or number.</summary>
    public bool Setenv(object? name, object? value, out string? err)
    {
        err = null;
        if (name is not string n || value is not (string or long or double))
        {
            err = "invalid argument";
            return false;
        }
        worker.Nginx.Modules.SetEnv(n, CtxVar.ToVarString(value)!);
        return true;
    }

    /// <summary><c>usleep(us)</c>: null when it slept, else the error the Lua side raises.</summary>
    public string? Usleep(double us)
    {
        if (Math.Ceiling(us) != Math.Floor(us)) return "bad microseconds: " + Json.LuaNumber.ToLuaString(us);
        // a blocking sleep, as the FFI call is; callers keep it to a few milliseconds
        if (us > 0) Thread.Sleep(TimeSpan.FromMicroseconds(Math.Min(us, 1_000_000)));
        return null;
    }

    public object? Waitpid(object? pid, object? timeout, out string? err)
    {
        err = "waitpid is not supported: this port starts no child processes";
        return null;
    }
}
