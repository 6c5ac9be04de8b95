using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.AiProtocols;
using Apisix.Plugins.AiProxy.AiProtocols.Converters;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiProtocols;

public class AnthropicMessagesToOpenAiChatTests
{
    private static readonly AnthropicMessagesToOpenAiChat Conv = AnthropicMessagesToOpenAiChat.Instance;

    private static JsonNode J(string json) => CJson.Decode(json).Value!;

    private static string Enc(JsonNode? n) => CJson.Encode(n);

    [Fact]
    public void Request_builds_a_whitelisted_openai_body()
    {
        var ctx = new ProtocolCtx();
        var (body, err) = Conv.ConvertRequest(J("""
            {"model":"m1","max_tokens":300,"stream":true,"unknown_field":1,
             "system":[{"type":"text","text":"be "},{"type":"text","text":"brief"}],
             "thinking":{"type":"enabled","budget_tokens":5000},
             "tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "messages":[{"role":"user","content":"hi"},
                         {"role":"assistant","content":[{"type":"text","text":"calling"},
                             {"type":"tool_use","id":"t1","name":"lookup","input":{"q":"x"}}]},
                         {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"found"}]}]}
            """), ctx);

        err.Should().BeNull();
        Enc(body).Should().Be(
            """{"model":"m1","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":300""" +
            ""","reasoning_effort":"medium","tool_choice":"required","parallel_tool_calls":false,"messages":[""" +
            """{"role":"system","content":"be brief"},{"role":"user","content":"hi"},""" +
            """{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}],"content":"calling"},""" +
            """{"role":"tool","tool_call_id":"t1","content":"found"}]}""");
    }

    [Fact]
    public void Request_errors_and_tool_name_sanitizing()
    {
        var ctx = new ProtocolCtx();
        Conv.ConvertRequest(J("""{"messages":[]}"""), ctx).Error.Should().Be("missing messages");
        Conv.ConvertRequest(J("""{"messages":[{"content":"x"}]}"""), ctx).Error
            .Should().Be("invalid message at index 1");

        var (body, _) = Conv.ConvertRequest(J("""
            {"messages":[{"role":"user","content":"x"}],
             "tool_choice":{"type":"tool","name":"my.tool"},
             "tools":[{"name":"my.tool","input_schema":{"type":"object"}},
                      {"name":"my tool"},
                      {"type":"bash_20250124","name":"bash"}]}
            """), ctx);
        Enc(body!["tools"]).Should().Be(
            """[{"type":"function","function":{"name":"my_tool","parameters":{"type":"object"}}},""" +
            """{"type":"function","function":{"name":"my_tool_2"}}]""");
        Enc(body["tool_choice"]).Should().Be("""{"type":"function","function":{"name":"my_tool"}}""");
        Enc(ctx.Fields["anthropic_tool_name_map"]).Should().Be("""{"my_tool":"my.tool","my_tool_2":"my tool"}""");
    }

    [Fact]
    public void Response_maps_content_usage_and_tool_names()
    {
        var ctx = new ProtocolCtx
        {
            Var = name => name == "llm_model" ? "alias" : null,
            Fields = new JsonObject { ["anthropic_tool_name_map"] = new JsonObject { ["my_tool"] = "my.tool" } },
        };
        var (res, err) = Conv.ConvertResponse(J("""
            {"id":"c1","model":"gpt","choices":[{"finish_reason":"tool_calls","message":{
                "reasoning_content":"hmm","content":"ok",
                "tool_calls":[{"id":"call_1","function":{"name":"my_tool","arguments":"{\"a\":1}"}}]}}],
             "usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":40}}}
            """), ctx);
        err.Should().BeNull();
        Enc(res).Should().Be(
            """{"id":"c1","type":"message","role":"assistant","model":"alias","content":[""" +
            """{"type":"thinking","thinking":"hmm","signature":""},{"type":"text","text":"ok"},""" +
            """{"type":"tool_use","id":"call_1","name":"my.tool","input":{"a":1}}]""" +
            ""","stop_reason":"tool_use","usage":{"input_tokens":60,"output_tokens":7,"cache_read_input_tokens":40}}""");

        Enc(Conv.ConvertResponse(J("""{"error":{"code":"rate_limited","message":"slow"}}"""), ctx).Body)
            .Should().Be("""{"type":"error","error":{"type":"rate_limited","message":"slow"}}""");
        Conv.ConvertResponse(J("""{"choices":[]}"""), ctx).Error.Should().Be("no choices in response");
    }

    [Fact]
    public void Sse_stream_opens_and_closes_blocks_and_defers_the_stop()
    {
        var state = new JsonObject { ["is_first"] = true };
        var ctx = new ProtocolCtx();
        JsonNode Data(string json) => new JsonObject { ["type"] = "data", ["data"] = J(json) };
        string Types(JsonArray? events) => string.Join(",", events!.Select(e => (string)e!["type"]!));

        var e1 = Conv.ConvertSseEvents(
            Data("""{"id":"s1","model":"gpt","choices":[{"delta":{"content":"Hel"}}]}"""), ctx, state);
        Types(e1).Should().Be("message_start,content_block_start,content_block_delta");
        ((string)e1![0]!["data"]!).Should().Be(
            """{"type":"message_start","message":{"id":"s1","type":"message","role":"assistant","model":"gpt","content":{},"usage":{"input_tokens":0,"output_tokens":0}}}""",
            "Lua APISIX writes the empty content as {}: the empty_array_mt it sets is nil in apisix.core.json");
        ((string)e1[2]!["data"]!).Should().Be("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}""");

        var e2 = Conv.ConvertSseEvents(
            Data("""{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{}"}}]}}]}"""), ctx, state);
        Types(e2).Should().Be("content_block_stop,content_block_start,content_block_delta");
        ((long)state["next_content_index"]!).Should().Be(2);

        var e3 = Conv.ConvertSseEvents(
            Data("""{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"""), ctx, state);
        Types(e3).Should().Be("content_block_stop");
        ((bool)state["pending_stop"]!).Should().BeTrue();

        var e4 = Conv.ConvertSseEvents(
            Data("""{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"""), ctx, state);
        Types(e4).Should().Be("message_delta,message_stop");
        ((string)e4![0]!["data"]!).Should().Be(
            """{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"input_tokens":12,"output_tokens":3}}""");

        Conv.ConvertSseEvents(new JsonObject { ["type"] = "done" }, ctx, state).Should().BeNull();
        Types(Conv.ConvertSseEvents(new JsonObject { ["type"] = "ping" }, ctx, state)).Should().Be("ping");
    }

    [Fact]
    public void Headers_move_the_api_key_and_drop_anthropic_ones()
    {
        var headers = new JsonObject
        {
            ["x-api-key"] = "k", ["anthropic-version"] = "2023-06-01",
            ["x-stainless-os"] = "linux", ["content-type"] = "application/json",
        };
        AnthropicMessagesToOpenAiChat.ConvertHeaders(headers);
        Enc(headers).Should().Be("""{"content-type":"application/json","authorization":"Bearer k"}""");
    }
}
