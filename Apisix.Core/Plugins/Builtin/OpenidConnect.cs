// Twin of apisix/plugins/openid-connect.lua (its schema and check_schema only)
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// openid-connect (priority 2599, version 0.2): only the configuration side is ported, the schema
/// and <c>check_schema</c>'s rules (session or bearer_only, when client_secret may be left out,
/// the legacy <c>ssl_verify: "no"</c>, claim_schema must compile), so the admin API and the
/// standalone loader accept and refuse the same confs as APISIX. No OIDC flow runs here (no
/// discovery, redirects, token introspection or JWT verification): a request that reaches the
/// plugin is refused with 503 and an error log line saying so, never let through unchecked.
/// </summary>
public sealed class OpenidConnectPlugin : IPlugin, IRewritePhase
{
    private readonly JsonObject _schema = (JsonObject)CJson.Decode("""
{
 "type": "object",
 "properties": {
  "client_id": {
   "type": "string"
  },
  "client_secret": {
   "type": "string"
  },
  "discovery": {
   "type": "string"
  },
  "scope": {
   "type": "string",
   "default": "openid"
  },
  "ssl_verify": {
   "type": "boolean",
   "default": true
  },
  "timeout": {
   "type": "integer",
   "minimum": 1,
   "default": 3
  },
  "introspection_endpoint": {
   "type": "string"
  },
  "introspection_endpoint_auth_method": {
   "type": "string",
   "default": "client_secret_basic"
  },
  "token_endpoint_auth_method": {
   "type": "string",
   "default": "client_secret_basic"
  },
  "bearer_only": {
   "type": "boolean",
   "default": false
  },
  "session": {
   "type": "object",
   "properties": {
    "secret": {
     "type": "string",
     "minLength": 16
    },
    "cookie_name": {
     "type": "string"
    },
    "cookie_path": {
     "type": "string"
    },
    "cookie_domain": {
     "type": "string"
    },
    "cookie_secure": {
     "type": "boolean"
    },
    "cookie_http_only": {
     "type": "boolean"
    },
    "cookie_same_site": {
     "type": "string",
     "enum": [
      "Strict",
      "Lax",
      "None",
      "Default"
     ]
    },
    "idling_timeout": {
     "type": "integer"
    },
    "rolling_timeout": {
     "type": "integer"
    },
    "absolute_timeout": {
     "type": "integer"
    },
    "cookie": {
     "type": "object",
     "properties": {
      "lifetime": {
       "type": "integer"
      }
     }
    },
    "storage": {
     "type": "string",
     "enum": [
      "cookie",
      "redis"
     ],
     "default": "cookie"
    },
    "redis": {
     "type": "object",
     "properties": {
      "host": {
       "type": "string",
       "minLength": 2,
       "default": "127.0.0.1"
      },
      "port": {
       "type": "integer",
       "minimum": 1,
       "default": 6379
      },
      "username": {
       "type": "string",
       "minLength": 1
      },
      "password": {
       "type": "string",
       "minLength": 0
      },
      "database": {
       "type": "integer",
       "minimum": 0,
       "default": 0
      },
      "prefix": {
       "type": "string",
       "default": "sessions"
      },
      "ssl": {
       "type": "boolean",
       "default": false
      },
      "ssl_verify": {
       "type": "boolean",
       "default": true
      },
      "server_name": {
       "type": "string"
      },
      "connect_timeout": {
       "type": "integer",
       "minimum": 1,
       "default": 1000
      },
      "send_timeout": {
       "type": "integer",
       "minimum": 1,
       "default": 1000
      },
      "read_timeout": {
       "type": "integer",
       "minimum": 1,
       "default": 1000
      },
      "keepalive_timeout": {
       "type": "integer",
       "minimum": 1000,
       "default": 10000
      }
     }
    }
   },
   "required": [
    "secret"
   ],
   "if": {
    "properties": {
     "storage": {
      "enum": [
       "redis"
      ]
     }
    }
   },
   "then": {
    "required": [
     "redis"
    ]
   },
   "additionalProperties": false
  },
  "realm": {
   "type": "string",
   "default": "apisix"
  },
  "claim_validator": {
   "type": "object",
   "properties": {
    "issuer": {
     "type": "object",
     "properties": {
      "valid_issuers": {
       "type": "array",
       "items": {
        "type": "string"
       }
      }
     }
    },
    "audience": {
     "type": "object",
     "properties": {
      "claim": {
       "type": "string",
       "default": "aud"
      },
      "required": {
       "type": "boolean",
       "default": false
      },
      "match_with_client_id": {
       "type": "boolean",
       "default": false
      }
     }
    }
   }
  },
  "logout_path": {
   "type": "string",
   "default": "/logout"
  },
  "redirect_uri": {
   "type": "string"
  },
  "post_logout_redirect_uri": {
   "type": "string"
  },
  "unauth_action": {
   "type": "string",
   "default": "auth",
   "enum": [
    "auth",
    "deny",
    "pass"
   ]
  },
  "public_key": {
   "type": "string"
  },
  "use_jwks": {
   "type": "boolean",
   "default": false
  },
  "token_signing_alg_values_expected": {
   "type": "string"
  },
  "use_pkce": {
   "type": "boolean",
   "default": false
  },
  "set_access_token_header": {
   "type": "boolean",
   "default": true
  },
  "access_token_in_authorization_header": {
   "type": "boolean",
   "default": false
  },
  "set_id_token_header": {
   "type": "boolean",
   "default": true
  },
  "set_userinfo_header": {
   "type": "boolean",
   "default": true
  },
  "set_refresh_token_header": {
   "type": "boolean",
   "default": false
  },
  "proxy_opts": {
   "type": "object",
   "properties": {
    "http_proxy": {
     "type": "string"
    },
    "https_proxy": {
     "type": "string"
    },
    "http_proxy_authorization": {
     "type": "string"
    },
    "https_proxy_authorization": {
     "type": "string"
    },
    "no_proxy": {
     "type": "string"
    }
   }
  },
  "authorization_params": {
   "type": "object"
  },
  "client_rsa_private_key": {
   "type": "string"
  },
  "client_rsa_private_key_id": {
   "type": "string"
  },
  "client_jwt_assertion_expires_in": {
   "type": "integer",
   "default": 60
  },
  "renew_access_token_on_expiry": {
   "type": "boolean",
   "default": true
  },
  "access_token_expires_in": {
   "type": "integer"
  },
  "refresh_session_interval": {
   "type": "integer"
  },
  "iat_slack": {
   "type": "integer",
   "default": 120
  },
  "accept_none_alg": {
   "type": "boolean",
   "default": false
  },
  "accept_unsupported_alg": {
   "type": "boolean",
   "default": true
  },
  "access_token_expires_leeway": {
   "type": "integer",
   "default": 0
  },
  "force_reauthorize": {
   "type": "boolean",
   "default": false
  },
  "use_nonce": {
   "type": "boolean",
   "default": false
  },
  "revoke_tokens_on_logout": {
   "type": "boolean",
   "default": false
  },
  "jwk_expires_in": {
   "type": "integer",
   "default": 86400
  },
  "jwt_verification_cache_ignore": {
   "type": "boolean",
   "default": false
  },
  "cache_segment": {
   "type": "string"
  },
  "introspection_interval": {
   "type": "integer",
   "default": 0
  },
  "introspection_expiry_claim": {
   "type": "string"
  },
  "introspection_addon_headers": {
   "type": "array",
   "minItems": 1,
   "items": {
    "type": "string",
    "pattern": "^[^:]+$"
   }
  },
  "required_scopes": {
   "type": "array",
   "items": {
    "type": "string"
   }
  },
  "claim_schema": {
   "type": "object"
  }
 },
 "encrypt_fields": [
  "client_secret",
  "client_rsa_private_key",
  "session.secret",
  "session.redis.password"
 ],
 "required": [
  "client_id",
  "discovery"
 ]
}
""").Value!;

    public string Name => "openid-connect";
    public int Priority => 2599;
    public double Version => 0.2;
    public JsonNode Schema => _schema;

    private static bool Truthy(JsonNode? n) => n != null && !(JsonScalars.TryGetBoolean(n, out var b) && !b);

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        // the old way to turn verification off
        if (JsonScalars.TryGetString(conf["ssl_verify"], out var sv) && sv == "no") conf["ssl_verify"] = false;

        var bearerOnly = Truthy(conf["bearer_only"]);
        if (!bearerOnly && !Truthy(conf["session"]))
            return (false, "property \"session.secret\" is required when \"bearer_only\" is false");

        bool secretOptional;
        if (bearerOnly)
            secretOptional = Truthy(conf["public_key"]) || Truthy(conf["use_jwks"])
                || (JsonScalars.TryGetString(conf["introspection_endpoint_auth_method"], out var im) && im == "private_key_jwt");
        else
            secretOptional = (JsonScalars.TryGetString(conf["token_endpoint_auth_method"], out var tm) && tm == "private_key_jwt")
                || Truthy(conf["use_pkce"]);
        if (!secretOptional && !Truthy(conf["client_secret"])) return (false, "property \"client_secret\" is required");

        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);

        if (conf["claim_schema"] is JsonObject claimSchema && !SecretRef.IsSecretRef(claimSchema, null))
        {
            var compileErr = SchemaPrecheck.Run(claimSchema);
            if (compileErr != null) return (false, "check claim_schema failed: " + compileErr);
        }
        return (true, null);
    }

    public ValueTask<PhaseResult> RewriteAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Error, "openid-connect: only the configuration check is ported, the OIDC flow is not; request refused");
        return ValueTask.FromResult(new PhaseResult(503));
    }
}
