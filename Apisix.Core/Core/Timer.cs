// Twin of apisix/core/timer.lua
namespace Apisix.Core;

/// <summary>
/// <c>core.timer</c> has no C# half: a timer runs the caller's Lua callback in ngx timers and
/// sleeps between runs, both of which yield to the worker loop, which a C# call cannot do. The
/// module is Bridges/Lua/apisix/core/timer.lua over the worker's C# timers (ngx.timer.at/every).
/// This type only names the module.
/// </summary>
public static class CoreTimer
{
    public const string Name = "apisix.core.timer";
}
