// Twin of apisix/core/math.lua
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;

namespace Apisix.Core;

/// <summary><c>core.math</c>: <c>gcd(a, b)</c> by Euclid, with Lua's <c>%</c> (floored) on the operands.</summary>
public static class CoreMath
{
    public const string Name = "apisix.core.math";

    private static readonly (string, LuaFunction)[] Functions = [("gcd", GcdFn)];

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    public static double Gcd(double a, double b)
    {
        while (b != 0) (a, b) = (b, a - Math.Floor(a / b) * b);
        return a;
    }

    private static int GcdFn(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Number || L.Type(2) != LuaType.Number)
            return CoreLib.Raise(L, $"attempt to perform arithmetic on a {CoreLib.TypeName(L, L.Type(1) != LuaType.Number ? 1 : 2)} value");
        if (L.IsInteger(1) && L.IsInteger(2))
        {
            long a = L.ToInteger(1), b = L.ToInteger(2);
            while (b != 0) (a, b) = (b, ((a % b) + b) % b);
            L.PushInteger(a);
        }
        else LuaNative.PushNumber(L, Gcd(L.ToNumber(1), L.ToNumber(2)));
        return 1;
    });
}
