using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.TestNginx.Runner;

namespace Apisix.TestNginx.Layers;

/// <summary>
/// The services APISIX's CI starts beside nginx, which upstream's .t files call without
/// defining: the SSE example server on 7737 (an OpenAI-style chat endpoint) and httpbin at
/// httpbin.local:8280. Behaviour follows those services; the code is ours.
/// </summary>
public static class CiServices
{
    public static void Add(BlockWorld world)
    {
        world.Conf.Servers.Add(SseExample());
        world.Conf.Servers.Add(Httpbin());
        world.OnNginx.Add(n => n.Network.Hosts["httpbin.local"] = IPAddress.Loopback);
        // the names ci/common.sh's set_coredns adds to the CI machine's /etc/hosts
        world.OnNginx.Add(n =>
        {
            n.Network.Hosts["test.com"] = IPAddress.Loopback;
            n.Network.Hosts["ipv6.local"] = IPAddress.IPv6Loopback;
            n.Network.Hosts["admin.apisix.dev"] = IPAddress.Loopback;
        });
    }

    private static ServerConf Server(int port, params LocationConf[] locations)
    {
        var s = new ServerConf();
        s.Listens.Add(new ListenSpec(IPAddress.Any, port));
        s.Locations.AddRange(locations);
        return s;
    }

    private static ServerConf SseExample() => Server(7737,
        new LocationConf { Modifier = "=", Pattern = "/v1/chat/completions", Handler = ChatCompletions },
        new LocationConf { Modifier = "=", Pattern = "/health", Handler = r => r.SendSimpleAsync(200, "OK", "text/plain; charset=utf-8") },
        new LocationConf { Modifier = "", Pattern = "/", Handler = r => r.SendSimpleAsync(404, "404 page not found\n", "text/plain; charset=utf-8") });

    private const string ChunkHead = "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":";

    /// <summary>
    /// With `"stream": true`: six SSE events, each flushed on its own (role, three content parts,
    /// a final chunk with usage 15/20/35, `[DONE]`), 200 ms before each when `?delay=true`.
    /// Otherwise one JSON completion with the same usage. Always `Connection: close`.
    /// </summary>
    private static async Task ChatCompletions(NgxRequest req)
    {
        await req.ReadBodyAsync();
        var stream = false;
        try
        {
            if (JsonNode.Parse(Encoding.Latin1.GetBytes(req.BodyText() ?? "")) is JsonObject o && o["stream"] is JsonValue v && v.TryGetValue(out bool b))
                stream = b;
        }
        catch (JsonException) { }
        req.SetResponseHeader("Connection", "close");
        if (!stream)
        {
            const string body = "{\"id\":\"chatcmpl-1234567890\",\"object\":\"chat.completion\",\"created\":1677858242,\"model\":\"gpt-3.5-turbo-0301\",\"usage\":{\"prompt_tokens\":15,\"completion_tokens\":20,\"total_tokens\":35},\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello there! How can I assist you today?\"},\"finish_reason\":\"stop\"}]}";
            await req.SendSimpleAsync(200, body, "application/json");
            return;
        }
        var args = req.Args ?? "";
        var delay = args.Split('&').Contains("delay=true");
        var offensive = args.Split('&').Contains("offensive=true");
        string[] parts = offensive
            ? ["I want to ", "kill you ", "right now!"]
            : ["Silent circuits hum,\\n", "Machine mind learns and evolves\u00e2\u0080\u0094\\n", "Dreams of silicon."];
        var events = new List<string> { ChunkHead + "{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}" };
        events.AddRange(parts.Select(p => ChunkHead + "{\"content\":\"" + p + "\"},\"logprobs\":null,\"finish_reason\":null}]}"));
        events.Add("{\"id\":\"chatcmpl-123\",\"usage\":{\"prompt_tokens\":15,\"completion_tokens\":20,\"total_tokens\":35},\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}");
        events.Add("[DONE]");
        req.Status = 200;
        req.SetResponseHeader("Content-Type", "text/event-stream");
        foreach (var e in events)
        {
            if (delay) await Task.Delay(200);
            req.Append("data: " + e + "\n\n");
            if (await req.FlushAsync() != null) return;
        }
    }

    private static ServerConf Httpbin() => Server(8280,
        new LocationConf { Modifier = "=", Pattern = "/post", Handler = HttpbinPost },
        new LocationConf { Modifier = "^~", Pattern = "/anything", Handler = HttpbinAnything },
        new LocationConf { Modifier = "", Pattern = "/", Handler = r => Nginx.SendErrorPage(r, 404) });

    /// <summary>httpbin's `POST /post`: 200 with the request echoed as JSON.</summary>
    private static async Task HttpbinPost(NgxRequest req)
    {
        if (req.Method != "POST")
        {
            await Nginx.SendErrorPage(req, 405);
            return;
        }
        await HttpbinEcho(req, withMethod: false);
    }

    /// <summary>httpbin's `/anything[/...]`: any method, the request echoed as JSON with its method.</summary>
    private static Task HttpbinAnything(NgxRequest req) => HttpbinEcho(req, withMethod: true);

    private static async Task HttpbinEcho(NgxRequest req, bool withMethod)
    {
        await req.ReadBodyAsync();
        var headers = new JsonObject();
        foreach (var (n, v) in req.RequestHeaders) headers[n] = v;
        JsonNode? json = null;
        try { json = JsonNode.Parse(Encoding.Latin1.GetBytes(req.BodyText() ?? "")); } catch (JsonException) { }
        var echo = new JsonObject
        {
            ["args"] = new JsonObject(),
            ["data"] = req.BodyText() ?? "",
            ["files"] = new JsonObject(),
            ["form"] = new JsonObject(),
            ["headers"] = headers,
            ["json"] = json,
        };
        // httpbin's keys come sorted
        if (withMethod) echo["method"] = req.Method;
        echo["origin"] = "127.0.0.1";
        echo["url"] = "http://" + (req.RequestHeader("Host") ?? "httpbin.local") + req.RequestUri;
        await req.SendSimpleAsync(200, echo.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", "application/json");
    }
}
