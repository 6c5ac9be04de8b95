using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>String length/pattern, numeric ranges and multipleOf, enum.</summary>
internal sealed partial class SchemaValidator
{
    private bool CheckString(JsonObject s, LuaValue v, out string? err)
    {
        if (!(Has(s, "minLength") || Has(s, "maxLength") || Has(s, "pattern"))) return Continue(out err);
        if (!v.TryString(out string str)) return Continue(out err);

        if (Number(s, "minLength", out double min))
        {
            int c = LuaOps.Utf8Length(str);
            if (c < min) return Fail($"string too short, expected at least {(long)min}, got {c}", out err);
        }
        if (Number(s, "maxLength", out double max))
        {
            int c = LuaOps.Utf8Length(str);
            if (c > max) return Fail($"string too long, expected at most {(long)max}, got {c}", out err);
        }
        if (JsonScalars.TryGetString(Field(s, "pattern"), out string pattern) && !PcrePattern.Find(str, pattern))
        {
            // Both sides are printed with Lua's %q, so backslashes come out doubled.
            return Fail($"failed to match pattern {LuaOps.Quote(pattern)} with {LuaOps.Quote(str)}", out err);
        }
        return Continue(out err);
    }

    private bool CheckNumber(JsonObject s, LuaValue v, out string? err)
    {
        if (!(Has(s, "minimum") || Has(s, "maximum") || Has(s, "multipleOf")
              || Has(s, "exclusiveMinimum") || Has(s, "exclusiveMaximum")))
            return Continue(out err);
        if (v.TypeName != "number") return Continue(out err);
        v.TryNumber(out double d);
        string shown = LuaOps.NumberToString(d);

        if (Number(s, "minimum", out double min) && d < min)
            return Fail($"expected {shown} to be at least {LuaOps.NumberToString(min)}", out err);
        if (Number(s, "exclusiveMinimum", out double xmin) && d <= xmin)
            return Fail($"expected {shown} to be greater than {LuaOps.NumberToString(xmin)}", out err);
        if (Number(s, "maximum", out double max) && d > max)
            return Fail($"expected {shown} to be at most {LuaOps.NumberToString(max)}", out err);
        if (Number(s, "exclusiveMaximum", out double xmax) && d >= xmax)
            return Fail($"expected {shown} to be smaller than {LuaOps.NumberToString(xmax)}", out err);

        if (Number(s, "multipleOf", out double mof) && !IsMultiple(d, mof))
            return Fail($"expected {shown} to be a multiple of {LuaOps.NumberToString(mof)}", out err);

        return Continue(out err);
    }

    private static bool IsMultiple(double d, double mof)
    {
        if (Math.Truncate(mof) == mof)
        {
            // Lua's float modulo: a - floor(a/b)*b.
            double mod = d - Math.Floor(d / mof) * mof;
            return mod == 0;
        }
        // Fractional divisor: compare the quotient to its nearest integer
        // with a relative tolerance, to absorb binary rounding.
        double quotient = d / mof;
        double rounded = Math.Floor(quotient + 0.5);
        double tol = 1e-12 * (rounded == 0 ? 1 : Math.Abs(rounded));
        return !(Math.Abs(quotient - rounded) > tol);
    }

    private bool CheckEnum(JsonObject s, LuaValue v, out string? err)
    {
        if (Field(s, "enum") is not JsonArray values) return Continue(out err);

        foreach (var option in values)
        {
            if (EnumMatches(option, v)) return Continue(out err);
        }
        return Fail("matches none of the enum values", out err);
    }

    private static bool EnumMatches(JsonNode? option, LuaValue v)
    {
        if (option is JsonObject or JsonArray) return LuaOps.DeepEq(v, LuaValue.Of(option));
        if (JsonScalars.TryGetNumber(option, out double n))
            return v.TypeName == "number" && v.TryNumber(out double d) && d == LuaOps.ThroughSource(n);
        if (JsonScalars.TryGetBoolean(option, out bool b))
            return v.TryBoolean(out bool vb) && vb == b;
        if (JsonScalars.TryGetString(option, out string str))
            return v.TryString(out string vs) && ByteString.Normalize(vs) == ByteString.Normalize(str);
        throw new SchemaGenerationException("unsupported enum type: userdata");
    }
}
