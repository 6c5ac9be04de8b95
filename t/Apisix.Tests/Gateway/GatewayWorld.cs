using System.Net;
using System.Net.Sockets;
using Apisix.Gateway;
using Xunit;

namespace Apisix.Tests.Gateway;

/// <summary>
/// One gateway host on loopback ports, with its own prefix directory (conf/, logs/) and the mock
/// AI upstream its routes point at. Shared by the tests of a class (xunit class fixture).
/// </summary>
public sealed class GatewayWorld : IAsyncLifetime
{
    public const string AdminKey = "test-admin-key-4f1c";

    public string Prefix { get; } = Path.Combine(Path.GetTempPath(), "apisix-gw-" + Guid.NewGuid().ToString("N")[..10]);
    public int NodePort { get; } = FreePort();
    public int AdminPort { get; } = FreePort();
    public MockAiUpstream Mock { get; private set; } = null!;
    public GatewayHost Host { get; private set; } = null!;

    public Uri Node => new($"http://127.0.0.1:{NodePort}");
    public Uri Admin => new($"http://127.0.0.1:{AdminPort}");

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public string ConfigYaml => $"""
        apisix:
          node_listen: {NodePort}
        deployment:
          role: traditional
          role_traditional:
            config_provider: yaml
          admin:
            admin_key:
              - name: admin
                key: {AdminKey}
                role: admin
            allow_admin:
              - 127.0.0.0/24
            admin_listen:
              ip: 127.0.0.1
              port: {AdminPort}
        nginx_config:
          error_log_level: info
          worker_processes: 1
          http:
            client_max_body_size: 64k
        """;

    public string ApisixYaml(int mock) => $$"""
        routes:
          - id: chat
            uri: /v1/chat/completions
            plugins:
              ai-proxy:
                provider: openai
                auth:
                  header:
                    Authorization: "Bearer mock-key"
                override:
                  endpoint: "http://127.0.0.1:{{mock}}/v1/chat/completions"
          - id: embeddings
            uri: /v1/embeddings
            plugins:
              ai-proxy:
                provider: openai
                auth:
                  header:
                    Authorization: "Bearer mock-key"
                override:
                  endpoint: "http://127.0.0.1:{{mock}}/v1/embeddings"
          - id: responses
            uri: /v1/responses
            plugins:
              ai-proxy:
                provider: openai
                auth:
                  header:
                    Authorization: "Bearer mock-key"
                override:
                  endpoint: "http://127.0.0.1:{{mock}}/v1/responses"
          - id: messages-native
            uri: /native/v1/messages
            plugins:
              ai-proxy:
                provider: anthropic
                auth:
                  header:
                    x-api-key: "mock-key"
                override:
                  endpoint: "http://127.0.0.1:{{mock}}/v1/messages"
          - id: messages-converted
            uri: /converted/v1/messages
            plugins:
              ai-proxy:
                provider: openai
                auth:
                  header:
                    Authorization: "Bearer mock-key"
                override:
                  endpoint: "http://127.0.0.1:{{mock}}/v1/chat/completions"
          - id: multi
            uri: /multi/v1/chat/completions
            plugins:
              ai-proxy-multi:
                fallback_strategy: ["http_429", "http_5xx"]
                instances:
                  - name: broken
                    provider: openai
                    weight: 1
                    priority: 10
                    auth:
                      header:
                        Authorization: "Bearer mock-key"
                    options:
                      model: status-500
                    override:
                      endpoint: "http://127.0.0.1:{{mock}}/v1/chat/completions"
                  - name: healthy
                    provider: openai
                    weight: 1
                    priority: 1
                    auth:
                      header:
                        Authorization: "Bearer mock-key"
                    options:
                      model: gpt-healthy
                    override:
                      endpoint: "http://127.0.0.1:{{mock}}/v1/chat/completions"
          - id: plain
            uri: /plain/*
            upstream:
              type: roundrobin
              nodes:
                "127.0.0.1:{{mock}}": 1
          - id: state
            uri: /plain/state/*
            plugins:
              serverless-pre-function:
                phase: rewrite
                functions:
                  - "return function(conf, ctx) if ngx.var.http_x_set then ctx.var.upstream_uri = '/plain/was-set'; ngx.ctx.seen = 'set'; ngx.var.llm_model = 'from-first' end; ngx.header['X-Ctx-Seen'] = ngx.ctx.seen or 'none'; ngx.header['X-Var-Seen'] = 'v=' .. ngx.var.llm_model; ngx.header['X-Conn'] = ngx.var.connection .. '/' .. ngx.var.connection_requests end"
            upstream:
              type: roundrobin
              nodes:
                "127.0.0.1:{{mock}}": 1
        #END
        """;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Prefix, "conf"));
        Mock = await MockAiUpstream.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(Prefix, "conf", "config.yaml"), ConfigYaml);
        await File.WriteAllTextAsync(Path.Combine(Prefix, "conf", "apisix.yaml"), ApisixYaml(Mock.Port));
        Host = await GatewayHost.StartAsync(new GatewayOptions
        {
            Prefix = Prefix,
            StandalonePollInterval = TimeSpan.FromMilliseconds(200),
            ShutdownGrace = TimeSpan.FromSeconds(5),
        });
    }

    /// <summary>The error log's lines so far.</summary>
    public IReadOnlyList<string> ErrorLog => Host.Nginx.ErrorLog.Lines;

    public string AccessLogText()
    {
        using var f = new FileStream(Path.Combine(Prefix, "logs", "access.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(f).ReadToEnd();
    }

    /// <summary>Polls until <paramref name="check"/> holds (at most <paramref name="seconds"/>); returns whether it did.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> check, double seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (check()) return true;
            await Task.Delay(25);
        }
        return check();
    }

    public async Task DisposeAsync()
    {
        await Host.StopAsync();
        await Mock.DisposeAsync();
        try { Directory.Delete(Prefix, recursive: true); } catch (IOException) { }
    }
}
