using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Config;

/// <summary>
/// The built-in defaults of <c>apisix/cli/config.lua</c>, which a
/// <c>config.yaml</c> is merged onto. <see cref="Create"/> returns a fresh,
/// mutable tree each time.
/// </summary>
public static class DefaultConfig
{
    /// <summary>The default <c>plugins</c> list, in its order.</summary>
    public static readonly IReadOnlyList<string> Plugins = new[]
    {
        "real-ip", "ai", "client-control", "proxy-buffering", "proxy-control", "request-id", "zipkin",
        "ext-plugin-pre-req", "fault-injection", "mocking", "serverless-pre-function", "cors",
        "ip-restriction", "ua-restriction", "referer-restriction", "csrf", "uri-blocker",
        "request-validation", "chaitin-waf", "multi-auth", "openid-connect", "saml-auth", "cas-auth",
        "authz-casbin", "authz-casdoor", "wolf-rbac", "ldap-auth", "hmac-auth", "basic-auth", "jwt-auth",
        "jwe-decrypt", "key-auth", "dingtalk-auth", "feishu-auth", "acl", "consumer-restriction",
        "attach-consumer-label", "forward-auth", "opa", "authz-keycloak", "data-mask", "proxy-cache",
        "body-transformer", "ai-prompt-template", "ai-prompt-decorator", "ai-prompt-guard", "ai-rag",
        "ai-rate-limiting", "ai-proxy-multi", "ai-proxy", "ai-aws-content-moderation",
        "ai-aliyun-content-moderation", "proxy-mirror", "graphql-proxy-cache", "proxy-rewrite", "workflow",
        "api-breaker", "graphql-limit-count", "limit-conn", "limit-count", "limit-req", "gzip",
        "traffic-label", "traffic-split", "redirect", "response-rewrite", "oas-validator", "mcp-bridge",
        "degraphql", "kafka-proxy", "grpc-transcode", "grpc-web", "http-dubbo", "public-api", "prometheus",
        "datadog", "lago", "loki-logger", "elasticsearch-logger", "echo", "loggly", "http-logger",
        "splunk-hec-logging", "skywalking-logger", "google-cloud-logging", "sls-logger", "tcp-logger",
        "kafka-logger", "rocketmq-logger", "syslog", "udp-logger", "file-logger", "clickhouse-logger",
        "tencent-cloud-cls", "inspect", "example-plugin", "aws-lambda", "azure-functions", "openwhisk",
        "openfunction", "serverless-post-function", "ext-plugin-post-req", "ext-plugin-post-resp",
        "ai-request-rewrite",
    };

    /// <summary>The default <c>stream_plugins</c> list.</summary>
    public static readonly IReadOnlyList<string> StreamPlugins = new[]
    {
        "ip-restriction", "limit-conn", "mqtt-proxy", "syslog", "traffic-split",
    };

    private static readonly string[] SslCiphers =
    {
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
    };

    /// <summary>A fresh copy of the defaults.</summary>
    /// <param name="getEnv">Environment lookup (for <c>OTEL_BSP_MAX_EXPORT_BATCH_SIZE</c>); null for the process environment.</param>
    public static JsonObject Create(Func<string, string?>? getEnv = null)
    {
        getEnv ??= Environment.GetEnvironmentVariable;

        var root = new JsonObject
        {
            ["apisix"] = new JsonObject
            {
                ["node_listen"] = new JsonArray(9080),
                ["enable_admin"] = true,
                ["enable_dev_mode"] = false,
                ["enable_reuseport"] = true,
                ["show_upstream_status_in_response_header"] = false,
                ["enable_ipv6"] = true,
                ["enable_http2"] = true,
                ["enable_server_tokens"] = true,
                ["extra_lua_path"] = "",
                ["extra_lua_cpath"] = "",
                ["proxy_cache"] = new JsonObject
                {
                    ["cache_ttl"] = "10s",
                    ["zones"] = new JsonArray(
                        new JsonObject
                        {
                            ["name"] = "disk_cache_one",
                            ["memory_size"] = "50m",
                            ["disk_size"] = "1G",
                            ["disk_path"] = "/tmp/disk_cache_one",
                            ["cache_levels"] = "1:2",
                        },
                        new JsonObject
                        {
                            ["name"] = "memory_cache",
                            ["memory_size"] = "50m",
                        }),
                },
                ["delete_uri_tail_slash"] = false,
                ["normalize_uri_like_servlet"] = false,
                ["router"] = new JsonObject
                {
                    ["http"] = "radixtree_host_uri",
                    ["ssl"] = "radixtree_sni",
                },
                ["proxy_mode"] = "http",
                ["resolver_timeout"] = 5,
                ["enable_resolv_search_opt"] = true,
                ["ssl"] = new JsonObject
                {
                    ["enable"] = true,
                    ["listen"] = new JsonArray(new JsonObject
                    {
                        ["port"] = 9443,
                        ["enable_http3"] = false,
                    }),
                    ["ssl_protocols"] = "TLSv1.2 TLSv1.3",
                    ["ssl_ciphers"] = string.Join(":", SslCiphers),
                    ["ssl_session_tickets"] = false,
                    ["ssl_trusted_certificate"] = "system",
                },
                ["enable_control"] = true,
                ["disable_sync_configuration_during_start"] = false,
                ["worker_startup_time_threshold"] = 60,
                ["data_encryption"] = new JsonObject
                {
                    ["enable_encrypt_fields"] = true,
                    ["keyring"] = new JsonArray("qeddd145sfvddff3", "edd1c9f0985e76a2"),
                },
                ["lru"] = new JsonObject
                {
                    ["secret"] = new JsonObject
                    {
                        ["ttl"] = 300,
                        ["count"] = 512,
                        ["neg_ttl"] = 60,
                        ["neg_count"] = 512,
                    },
                },
                ["tracing"] = false,
            },
            ["nginx_config"] = new JsonObject
            {
                ["error_log"] = "logs/error.log",
                ["error_log_level"] = "warn",
                ["worker_processes"] = "auto",
                ["enable_cpu_affinity"] = false,
                ["worker_rlimit_nofile"] = 20480,
                ["worker_shutdown_timeout"] = "240s",
                ["max_pending_timers"] = 16384,
                ["max_running_timers"] = 4096,
                ["event"] = new JsonObject { ["worker_connections"] = 10620 },
                ["meta"] = new JsonObject
                {
                    ["lua_shared_dict"] = new JsonObject
                    {
                        ["prometheus-metrics"] = "15m",
                        ["prometheus-cache"] = "10m",
                        ["standalone-config"] = "10m",
                        ["status-report"] = "1m",
                        ["upstream-healthcheck"] = "10m",
                    },
                },
                ["stream"] = new JsonObject
                {
                    ["enable_access_log"] = false,
                    ["access_log"] = "logs/access_stream.log",
                    ["access_log_format"] =
                        "$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time",
                    ["access_log_format_escape"] = "default",
                    ["lua_shared_dict"] = new JsonObject
                    {
                        ["etcd-cluster-health-check-stream"] = "10m",
                        ["lrucache-lock-stream"] = "10m",
                        ["plugin-limit-conn-stream"] = "10m",
                        ["worker-events-stream"] = "10m",
                        ["tars-stream"] = "1m",
                    },
                },
                ["main_configuration_snippet"] = "",
                ["http_configuration_snippet"] = "",
                ["http_server_configuration_snippet"] = "",
                ["http_server_location_configuration_snippet"] = "",
                ["http_admin_configuration_snippet"] = "",
                ["http_end_configuration_snippet"] = "",
                ["stream_configuration_snippet"] = "",
                ["http"] = new JsonObject
                {
                    ["enable_access_log"] = true,
                    ["access_log"] = "logs/access.log",
                    ["access_log_buffer"] = 16384,
                    ["access_log_format"] =
                        "$remote_addr - $remote_user [$time_local] $http_host \"$request\" $status "
                        + "$body_bytes_sent $request_time \"$http_referer\" \"$http_user_agent\" $upstream_addr "
                        + "$upstream_status $upstream_response_time "
                        + "\"$upstream_scheme://$upstream_host$upstream_uri\" \"$apisix_request_id\"",
                    ["access_log_format_escape"] = "default",
                    ["keepalive_timeout"] = "60s",
                    ["client_header_timeout"] = "60s",
                    ["client_body_timeout"] = "60s",
                    ["client_max_body_size"] = 0,
                    ["send_timeout"] = "10s",
                    ["underscores_in_headers"] = "on",
                    ["real_ip_header"] = "X-Real-IP",
                    ["real_ip_recursive"] = "off",
                    ["real_ip_from"] = new JsonArray("127.0.0.1", "unix:"),
                    ["proxy_ssl_server_name"] = true,
                    ["upstream"] = new JsonObject
                    {
                        ["keepalive"] = 320,
                        ["keepalive_requests"] = 1000,
                        ["keepalive_timeout"] = "60s",
                    },
                    ["charset"] = "utf-8",
                    ["variables_hash_max_size"] = 2048,
                    ["lua_shared_dict"] = new JsonObject
                    {
                        ["internal-status"] = "10m",
                        ["plugin-limit-req"] = "10m",
                        ["plugin-limit-count"] = "10m",
                        ["prometheus-metrics"] = "10m",
                        ["plugin-limit-conn"] = "10m",
                        ["worker-events"] = "10m",
                        ["lrucache-lock"] = "10m",
                        ["balancer-ewma"] = "10m",
                        ["balancer-ewma-locks"] = "10m",
                        ["balancer-ewma-last-touched-at"] = "10m",
                        ["plugin-limit-req-redis-cluster-slot-lock"] = "1m",
                        ["plugin-limit-count-lock"] = "1m",
                        ["plugin-limit-count-redis-cluster-slot-lock"] = "1m",
                        ["plugin-limit-conn-redis-cluster-slot-lock"] = "1m",
                        ["plugin-graphql-limit-count"] = "10m",
                        ["plugin-graphql-limit-count-reset-header"] = "10m",
                        ["plugin-ai-rate-limiting"] = "10m",
                        ["plugin-ai-rate-limiting-reset-header"] = "10m",
                        ["tracing_buffer"] = "10m",
                        ["plugin-api-breaker"] = "10m",
                        ["etcd-cluster-health-check"] = "10m",
                        ["discovery"] = "1m",
                        ["jwks"] = "1m",
                        ["introspection"] = "10m",
                        ["access-tokens"] = "1m",
                        ["ext-plugin"] = "1m",
                        ["tars"] = "1m",
                        ["cas-auth"] = "10m",
                        ["ocsp-stapling"] = "10m",
                        ["mcp-session"] = "10m",
                    },
                },
            },
            ["graphql"] = new JsonObject { ["max_size"] = 1048576 },
            ["plugins"] = ToArray(Plugins),
            ["stream_plugins"] = ToArray(StreamPlugins),
            ["plugin_attr"] = new JsonObject
            {
                ["log-rotate"] = new JsonObject
                {
                    ["timeout"] = 10000,
                    ["interval"] = 3600,
                    ["max_kept"] = 168,
                    ["max_size"] = -1,
                    ["enable_compression"] = false,
                },
                ["skywalking"] = new JsonObject
                {
                    ["service_name"] = "APISIX",
                    ["service_instance_name"] = "APISIX Instance Name",
                    ["endpoint_addr"] = "http://127.0.0.1:12800",
                    ["report_interval"] = 3,
                },
                ["opentelemetry"] = new JsonObject
                {
                    ["trace_id_source"] = "x-request-id",
                    ["resource"] = new JsonObject { ["service.name"] = "APISIX" },
                    ["collector"] = new JsonObject
                    {
                        ["address"] = "127.0.0.1:4318",
                        ["request_timeout"] = 3,
                        ["request_headers"] = new JsonObject { ["Authorization"] = "token" },
                    },
                    ["batch_span_processor"] = new JsonObject
                    {
                        ["drop_on_queue_full"] = false,
                        ["max_queue_size"] = 1024,
                        ["batch_timeout"] = 2,
                        ["inactive_timeout"] = 1,
                        ["max_export_batch_size"] = OtelBatchSize(getEnv),
                    },
                    ["set_ngx_var"] = false,
                },
                ["prometheus"] = new JsonObject
                {
                    ["export_uri"] = "/apisix/prometheus/metrics",
                    ["metric_prefix"] = "apisix_",
                    ["enable_export_server"] = true,
                    ["export_addr"] = new JsonObject
                    {
                        ["ip"] = "127.0.0.1",
                        ["port"] = 9091,
                    },
                    ["refresh_interval"] = 15,
                },
                ["server-info"] = new JsonObject { ["report_ttl"] = 60 },
                ["dubbo-proxy"] = new JsonObject { ["upstream_multiplex_count"] = 32 },
                ["proxy-mirror"] = new JsonObject
                {
                    ["timeout"] = new JsonObject
                    {
                        ["connect"] = "60s",
                        ["read"] = "60s",
                        ["send"] = "60s",
                    },
                },
                ["inspect"] = new JsonObject
                {
                    ["delay"] = 3,
                    ["hooks_file"] = "/usr/local/apisix/plugin_inspect_hooks.lua",
                },
                ["zipkin"] = new JsonObject { ["set_ngx_var"] = false },
            },
            ["deployment"] = new JsonObject
            {
                ["role"] = "traditional",
                ["role_traditional"] = new JsonObject { ["config_provider"] = "etcd" },
                ["admin"] = new JsonObject
                {
                    ["admin_key_required"] = true,
                    ["admin_key"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "admin",
                        ["key"] = "",
                        ["role"] = "admin",
                    }),
                    ["enable_admin_cors"] = true,
                    ["enable_admin_ui"] = true,
                    ["allow_admin"] = new JsonArray("127.0.0.0/24"),
                    ["admin_listen"] = new JsonObject
                    {
                        ["ip"] = "0.0.0.0",
                        ["port"] = 9180,
                    },
                    ["admin_api_version"] = "v3",
                },
                ["etcd"] = new JsonObject
                {
                    ["host"] = new JsonArray("http://127.0.0.1:2379"),
                    ["prefix"] = "/apisix",
                    ["timeout"] = 30,
                    ["watch_timeout"] = 50,
                    ["startup_retry"] = 2,
                    ["tls"] = new JsonObject { ["verify"] = true },
                },
            },
        };

        // One number convention everywhere (long for integers), as decoded JSON has.
        return (JsonObject)CJson.CloneNormalized(root)!;
    }

    private static JsonArray ToArray(IEnumerable<string> names)
    {
        var a = new JsonArray();
        foreach (var n in names) a.Add(n);
        return a;
    }

    private static JsonNode OtelBatchSize(Func<string, string?> getEnv)
    {
        var text = getEnv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
        if (LuaText.ToNumber(text) is double d) return CJson.NumberNode(d);
        return 16;
    }
}
