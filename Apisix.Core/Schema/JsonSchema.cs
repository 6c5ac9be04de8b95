using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Apisix.Core.Schema;

/// <summary>
/// JSON Schema validation with the behaviour and messages of the Lua
/// <c>jsonschema</c> library (api7/jsonschema) that APISIX uses through
/// <c>core.schema.check</c>.
///
/// Validation writes defaults into <c>value</c> in place, like the Lua
/// validator does with the config table.
///
/// Lua tables have no inherent order, so where the library walks a table
/// with <c>pairs</c> (properties, patternProperties, the value's keys) the
/// port uses JsonObject order; when several things are wrong at once, the
/// first one reported may differ from real APISIX.
/// </summary>
public static class JsonSchema
{
    private static readonly ConditionalWeakTable<JsonNode, StrongBox<string?>> Compiled = new();

    /// <summary>
    /// <c>core.schema.check(schema, value)</c>: validation with APISIX's
    /// secret-reference bypass. A null <paramref name="value"/> stands for Lua nil.
    /// </summary>
    public static (bool Ok, string? Error) Check(JsonNode schema, JsonNode? value)
    {
        return Validate(schema, value, SecretRef.IsSecretRef);
    }

    /// <summary>
    /// The library's validator with an optional <c>skip_validation</c> hook
    /// (value, schema) → true to accept the value without further checks.
    /// </summary>
    public static (bool Ok, string? Error) Validate(JsonNode schema, JsonNode? value,
        Func<JsonNode?, JsonNode, bool>? skipValidation = null)
    {
        ArgumentNullException.ThrowIfNull(schema);

        // The generated validator is cached per schema object; so is the
        // outcome of generating it.
        string? compileError = Compiled.GetValue(schema, s => new StrongBox<string?>(SchemaPrecheck.Run(s))).Value;
        if (compileError != null) return (false, compileError);

        var validator = new SchemaValidator(schema, skipValidation);
        try
        {
            string? error = validator.Validate(schema, value == null ? LuaValue.Nil : LuaValue.Of(value));
            return (error == null, error);
        }
        catch (SchemaGenerationException e)
        {
            return (false, e.Message);
        }
    }
}
