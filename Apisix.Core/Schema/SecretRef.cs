using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Schema;

/// <summary>
/// APISIX's <c>secret.is_secret_ref</c>, which core.schema hands to the
/// validator as its skip hook: a "$secret://..." or "$env://..." string in a
/// field that may hold a string is accepted without further checks, since it
/// is resolved at run time.
/// </summary>
public static class SecretRef
{
    public const string SecretPrefix = "$secret://";
    public const string EnvPrefix = "$ENV://";

    public static bool IsSecretRef(JsonNode? value, JsonNode? schema)
    {
        if (!JsonScalars.TryGetString(value, out string s) || s.Length == 0 || s[0] != '$')
            return false;

        // A declared type other than the plain string "string" (including a
        // list of types) disables the bypass.
        if (schema is JsonObject obj && obj.TryGetPropertyValue("type", out var type) && type != null)
        {
            if (!JsonScalars.TryGetString(type, out string t) || t != "string") return false;
        }

        return s.StartsWith(SecretPrefix, StringComparison.Ordinal)
            || s.ToUpperInvariant().StartsWith(EnvPrefix, StringComparison.Ordinal);
    }
}
