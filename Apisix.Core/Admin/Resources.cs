using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;

namespace Apisix.Core.Admin;

/// <summary>
/// The resource modules of <c>apisix/admin/</c> (routes, services,
/// upstreams, consumers, plugin_metadata, global_rules): their checkers,
/// encryption and delete checks, bound to one store and plugin registry.
/// </summary>
internal sealed class Resources
{
    private readonly EtcdView _etcd;
    private readonly PluginRegistry _plugins;
    private readonly AdminOptions _options;
    private readonly DataEncryption? _encryption;

    public Resources(EtcdView etcd, PluginRegistry plugins, AdminOptions options, DataEncryption? encryption)
    {
        _etcd = etcd;
        _plugins = plugins;
        _options = options;
        _encryption = encryption;

        All = new Dictionary<string, AdminResource>(StringComparer.Ordinal)
        {
            ["routes"] = new AdminResource
            {
                Name = "routes", Kind = "route", Etcd = etcd,
                Checker = CheckRoute,
                EncryptConf = (_, conf) => EncryptRouteLike(conf),
                ListFilterFields = new HashSet<string> { "service_id", "upstream_id" },
                DecryptStored = v => DecryptPlugins(v, SchemaType.Plugin),
            },
            ["services"] = new AdminResource
            {
                Name = "services", Kind = "service", Etcd = etcd,
                Checker = CheckService,
                EncryptConf = (_, conf) => EncryptRouteLike(conf),
                DeleteChecker = ServiceDeleteChecker,
                DecryptStored = v => DecryptPlugins(v, SchemaType.Plugin),
            },
            ["upstreams"] = new AdminResource
            {
                Name = "upstreams", Kind = "upstream", Etcd = etcd,
                Checker = (_, conf, _) => UpstreamCheck(conf) is { } err ? CheckResult.Fail(err) : CheckResult.Pass(),
                EncryptConf = (_, conf) => UpstreamChecker.EncryptConf(conf, _encryption),
                DeleteChecker = UpstreamDeleteChecker,
            },
            ["consumers"] = new AdminResource
            {
                Name = "consumers", Kind = "consumer", Etcd = etcd, NoIdResource = true,
                Checker = CheckConsumer,
                EncryptConf = (_, conf) => EncryptPlugins(conf, SchemaType.Consumer),
                UnsupportedMethods = new[] { "post", "patch" },
            },
            ["plugin_metadata"] = new AdminResource
            {
                Name = "plugin_metadata", Kind = "plugin_metadata", Etcd = etcd, NoIdResource = true,
                Checker = CheckPluginMetadata,
                EncryptConf = EncryptPluginMetadata,
                UnsupportedMethods = new[] { "post", "patch" },
            },
            ["global_rules"] = new AdminResource
            {
                Name = "global_rules", Kind = "global rule", Etcd = etcd,
                Checker = CheckGlobalRule,
                EncryptConf = (_, conf) => EncryptPlugins(conf, SchemaType.Plugin),
                UnsupportedMethods = new[] { "post" },
                DecryptStored = v => DecryptPlugins(v, SchemaType.Plugin),
            },
            ["plugin_configs"] = new AdminResource
            {
                Name = "plugin_configs", Kind = "plugin config", Etcd = etcd,
                Checker = (_, conf, _) => CheckPluginsHolder(SchemaDefs.PluginConfig, conf),
                EncryptConf = (_, conf) => EncryptPlugins(conf, SchemaType.Plugin),
                UnsupportedMethods = new[] { "post" },
                DeleteChecker = id => ReferencedBy(id, "/routes", "plugin_config_id",
                    "can not delete this plugin config, route [{0}] is still using it now"),
                DecryptStored = v => DecryptPlugins(v, SchemaType.Plugin),
            },
            ["consumer_groups"] = new AdminResource
            {
                Name = "consumer_groups", Kind = "consumer group", Etcd = etcd,
                Checker = (_, conf, _) => CheckPluginsHolder(SchemaDefs.ConsumerGroup, conf),
                EncryptConf = (_, conf) => EncryptPlugins(conf, SchemaType.Plugin),
                UnsupportedMethods = new[] { "post" },
                DeleteChecker = id => ReferencedBy(id, "/consumers", "group_id",
                    "can not delete this consumer group, consumer [{0}] is still using it now"),
                DecryptStored = v => DecryptPlugins(v, SchemaType.Plugin),
            },
            ["secrets"] = Secrets.Resource(etcd),
            ["protos"] = Protos.Resource(etcd),
            ["ssls"] = Ssl.Resource(etcd, encryption),
            ["credentials"] = new AdminResource
            {
                Name = "credentials", Kind = "credential", Etcd = etcd,
                Checker = (_, conf, _) => Credentials.CheckConf(plugins, conf),
                EncryptConf = (_, conf) => EncryptPlugins(conf, SchemaType.Consumer),
                GetResourceEtcdKey = Credentials.EtcdKey,
                UnsupportedMethods = new[] { "post", "patch" },
            },
        };
    }

    public Dictionary<string, AdminResource> All { get; }

    /// <summary>
    /// The checkers' <c>skip_references_check</c> option, on while a batch validation runs on
    /// this thread: referenced ids are not looked up in etcd.
    /// </summary>
    [ThreadStatic] internal static bool SkipReferencesCheck;

    /// <summary>plugin_config / consumer_group check_conf: the schema, then the plugins.</summary>
    private CheckResult CheckPluginsHolder(JsonObject schema, JsonObject conf)
    {
        var (ok, err) = JsonSchema.Check(schema, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);
        if (conf["plugins"] is JsonObject plugins)
        {
            (ok, err) = _plugins.CheckSchema(plugins);
            if (!ok) return CheckResult.Fail(err!);
        }
        return CheckResult.Pass();
    }

    /// <summary>A delete refused while a stored item of <paramref name="dir"/> points at the id through <paramref name="field"/>.</summary>
    private (int, JsonObject)? ReferencedBy(string id, string dir, string field, string message)
    {
        foreach (var entry in _etcd.Values(dir))
        {
            if (entry.Value is JsonObject v && LuaText.FieldIsTruthy(v, field) && LuaText.ToLuaString(v[field]) == id)
            {
                var who = v["id"] ?? v["username"];
                return (400, CheckResult.Msg(string.Format(message, LuaText.ToLuaString(who))));
            }
        }
        return null;
    }

    private (int, JsonNode?) GetSsl(string id)
    {
        var res = _etcd.Get("/ssls/" + id);
        return (res.Status, res.Body["node"]?["value"]);
    }

    private string? UpstreamCheck(JsonObject conf) =>
        UpstreamChecker.Check(conf, GetSsl, _options.ValidateClientCert);

    /// <summary>A referenced resource must exist: "failed to fetch X info by X id [ID], response code: 404".</summary>
    private string? CheckReference(JsonObject conf, string field, string dir, string what)
    {
        if (SkipReferencesCheck || !LuaText.FieldIsTruthy(conf, field)) return null;
        string id = LuaText.ToLuaString(conf[field]);
        var res = _etcd.Get("/" + dir + "/" + id);
        if (res.Status != 200)
            return "failed to fetch " + what + " info by " + what + " id [" + id + "], response code: " + res.Status;
        return null;
    }

    private CheckResult CheckRoute(JsonNode? id, JsonObject conf, bool needId)
    {
        if (LuaText.FieldIsTruthy(conf, "host") && LuaText.FieldIsTruthy(conf, "hosts"))
            return CheckResult.Fail("only one of host or hosts is allowed");
        if (LuaText.FieldIsTruthy(conf, "remote_addr") && LuaText.FieldIsTruthy(conf, "remote_addrs"))
            return CheckResult.Fail("only one of remote_addr or remote_addrs is allowed");

        var (ok, err) = JsonSchema.Check(SchemaDefs.Route, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);

        if (conf["upstream"] is JsonObject up && UpstreamCheck(up) is { } uerr) return CheckResult.Fail(uerr);

        if (CheckReference(conf, "upstream_id", "upstreams", "upstream") is { } e1) return CheckResult.Fail(e1);
        if (CheckReference(conf, "service_id", "services", "service") is { } e2) return CheckResult.Fail(e2);
        if (CheckReference(conf, "plugin_config_id", "plugin_configs", "plugin config") is { } e3)
            return CheckResult.Fail(e3);

        if (conf["plugins"] is JsonObject plugins)
        {
            (ok, err) = _plugins.CheckSchema(plugins);
            if (!ok) return CheckResult.Fail(err!);
        }

        if (conf["vars"] is JsonArray vars)
        {
            var verr = (_options.ValidateVars ?? (v => Utils.ExprV1.New(v).Error ?? PostArgCheck.ValidatePostArg(v)))(vars);
            if (verr != null) return CheckResult.Fail("failed to validate the 'vars' expression: " + verr);
        }

        if (JsonScalars.TryGetString(conf["filter_func"], out string ff))
        {
            var ferr = (_options.ValidateFilterFunc ?? FilterFuncCheck.Validate)(ff);
            if (ferr != null) return CheckResult.Fail(ferr);
        }

        if (CheckScript(conf) is { } serr) return CheckResult.Fail(serr);

        return CheckResult.Pass();
    }

    private string? CheckScript(JsonObject conf)
    {
        if (JsonScalars.TryGetString(conf["script"], out string script) && _options.ValidateScript != null)
            return _options.ValidateScript(script);
        return null;
    }

    private CheckResult CheckService(JsonNode? id, JsonObject conf, bool needId)
    {
        var (ok, err) = JsonSchema.Check(SchemaDefs.Service, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);

        if (needId && id == null) return CheckResult.Fail("wrong type of service id");

        if (conf["upstream"] is JsonObject up && UpstreamCheck(up) is { } uerr) return CheckResult.Fail(uerr);
        if (CheckReference(conf, "upstream_id", "upstreams", "upstream") is { } e1) return CheckResult.Fail(e1);

        if (conf["plugins"] is JsonObject plugins)
        {
            (ok, err) = _plugins.CheckSchema(plugins);
            if (!ok) return CheckResult.Fail(err!);
        }

        if (CheckScript(conf) is { } serr) return CheckResult.Fail(serr);
        return CheckResult.Pass();
    }

    private CheckResult CheckConsumer(JsonNode? username, JsonObject conf, bool needId)
    {
        var (ok, err) = JsonSchema.Check(SchemaDefs.Consumer, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);

        if (username != null && LuaText.ToLuaString(username) != LuaText.ToLuaString(conf["username"]))
            return CheckResult.Fail("wrong username");

        if (conf["plugins"] is JsonObject plugins)
        {
            (ok, err) = _plugins.CheckSchema(plugins, SchemaType.Consumer);
            if (!ok) return CheckResult.Fail("invalid plugins configuration: " + err);
        }

        if (!SkipReferencesCheck && LuaText.FieldIsTruthy(conf, "group_id"))
        {
            string gid = LuaText.ToLuaString(conf["group_id"]);
            var res = _etcd.Get("/consumer_groups/" + gid);
            if (res.Status != 200)
                return CheckResult.Fail("failed to fetch consumer group info by consumer group id [" + gid
                                        + "], response code: " + res.Status);
        }

        return CheckResult.Pass(conf["username"]?.DeepClone());
    }

    private CheckResult CheckPluginMetadata(JsonNode? name, JsonObject conf, bool needId)
    {
        if (name == null) return CheckResult.Fail("missing plugin name");
        string pluginName = LuaText.ToLuaString(name);

        var plugin = _plugins.GetAvailable(pluginName);
        if (plugin == null) return CheckResult.Fail("invalid plugin name");

        // Without its own metadata schema a plugin takes any object; the
        // plugin's check_schema only runs when it declares one.
        var (ok, err) = plugin.MetadataSchema == null
            ? JsonSchema.Check(EmptyMetadataSchema, conf)
            : plugin.CheckSchema(conf, SchemaType.Metadata);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);

        return CheckResult.Pass(JsonValue.Create(pluginName));
    }

    private static readonly JsonObject EmptyMetadataSchema = new()
    {
        ["type"] = "object",
        ["$comment"] = "injected metadata_schema",
        ["properties"] = new JsonObject(),
    };

    private void EncryptPluginMetadata(JsonNode? name, JsonObject conf)
    {
        if (name == null) return;
        string pluginName = LuaText.ToLuaString(name);
        var plugin = _plugins.GetAvailable(pluginName);
        if (plugin?.MetadataSchema == null) return;
        _plugins.EncryptConf(pluginName, conf, SchemaType.Metadata);
    }

    private CheckResult CheckGlobalRule(JsonNode? id, JsonObject conf, bool needId)
    {
        var (ok, err) = JsonSchema.Check(SchemaDefs.GlobalRule, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);

        if (conf["plugins"] is JsonObject plugins)
        {
            (ok, err) = _plugins.CheckSchema(plugins);
            if (!ok) return CheckResult.Fail(err!);

            string self = LuaText.ToLuaString(id);
            foreach (var entry in _etcd.Values("/global_rules"))
            {
                if (entry.Value is not JsonObject rule || !LuaText.FieldIsTruthy(rule, "id")) continue;
                if (LuaText.ToLuaString(rule["id"]) == self) continue;
                if (rule["plugins"] is not JsonObject existing) continue;
                foreach (var (pluginName, _) in plugins)
                {
                    if (LuaText.FieldIsTruthy(existing, pluginName))
                        return CheckResult.Fail("plugin '" + pluginName + "' already exists in global rule with id '"
                                                + LuaText.ToLuaString(rule["id"]) + "'");
                }
            }
        }

        return CheckResult.Pass();
    }

    private void EncryptRouteLike(JsonObject conf)
    {
        UpstreamChecker.EncryptConf(conf["upstream"], _encryption);
        EncryptPlugins(conf, SchemaType.Plugin);
    }

    private void EncryptPlugins(JsonObject conf, SchemaType type)
    {
        if (conf["plugins"] is not JsonObject plugins) return;
        foreach (var (name, pconf) in plugins.ToList())
        {
            if (pconf != null) _plugins.EncryptConf(name, pconf, type);
        }
    }

    /// <summary>Decrypts the plugin confs of one stored value in place.</summary>
    public void DecryptPlugins(JsonObject value, SchemaType type)
    {
        if (_encryption is not { Enabled: true }) return;
        if (value["plugins"] is not JsonObject plugins) return;
        foreach (var (name, pconf) in plugins.ToList())
        {
            if (pconf != null) _plugins.DecryptConf(name, pconf, type);
        }
    }

    /// <summary>Decrypts a stored plugin_metadata entry (its id is the plugin name).</summary>
    public void DecryptMetadata(JsonObject value)
    {
        if (_encryption is not { Enabled: true }) return;
        if (JsonScalars.TryGetString(value["id"], out string id)) _plugins.DecryptConf(id, value, SchemaType.Metadata);
    }

    private (int, JsonObject)? ServiceDeleteChecker(string id)
    {
        foreach (var (dir, label) in new[] { ("/routes", "route"), ("/stream_routes", "stream_route") })
        {
            foreach (var entry in _etcd.Values(dir))
            {
                if (entry.Value is JsonObject v && LuaText.FieldIsTruthy(v, "service_id")
                    && LuaText.ToLuaString(v["service_id"]) == id)
                {
                    return (400, CheckResult.Msg("can not delete this service directly, " + label + " ["
                                                 + LuaText.ToLuaString(v["id"]) + "] is still using it now"));
                }
            }
        }
        return null;
    }

    private static bool UpstreamIdInPlugins(JsonObject? plugins, string upId)
    {
        if (plugins?["traffic-split"] is not JsonObject ts || ts["rules"] is not JsonArray rules) return false;
        foreach (var rule in rules)
        {
            if (rule?["weighted_upstreams"] is not JsonArray ups) continue;
            foreach (var u in ups)
            {
                if (u is JsonObject uo && LuaText.FieldIsTruthy(uo, "upstream_id")
                    && LuaText.ToLuaString(uo["upstream_id"]) == upId)
                    return true;
            }
        }
        return false;
    }

    private (int, JsonObject)? UpstreamDeleteChecker(string id)
    {
        var checks = new (string Dir, string Name, bool OnlyPlugin)[]
        {
            ("/routes", "route", false),
            ("/services", "service", false),
            ("/plugin_configs", "plugin_config", true),
            ("/consumers", "consumer", true),
            ("/consumer_groups", "consumer_group", true),
            ("/global_rules", "global_rules", true),
        };

        foreach (var (dir, name, onlyPlugin) in checks)
        {
            foreach (var entry in _etcd.Values(dir))
            {
                if (entry.Value is not JsonObject v) continue;
                // the config's item value carries its key's last segment as id (a consumer's is its username)
                string rid = v["id"] != null ? LuaText.ToLuaString(v["id"]) : entry.Key[(entry.Key.LastIndexOf('/') + 1)..];
                if (UpstreamIdInPlugins(v["plugins"] as JsonObject, id))
                    return (400, CheckResult.Msg("can not delete this upstream, plugin in " + name + " ["
                                                 + rid + "] is still using it now"));
                if (!onlyPlugin && LuaText.FieldIsTruthy(v, "upstream_id")
                    && LuaText.ToLuaString(v["upstream_id"]) == id)
                    return (400, CheckResult.Msg("can not delete this upstream, " + name + " [" + rid
                                                 + "] is still using it now"));
            }
        }
        return null;
    }
}
