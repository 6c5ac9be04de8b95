using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;

namespace Apisix.Plugins.AiProxy.AiProtocols.Converters;

/// <summary>
/// Port of apisix/plugins/ai-protocols/converters/anthropic-messages-to-openai-chat.lua:
/// Anthropic Messages requests become OpenAI Chat Completions requests (the body is built
/// from the converted fields only), and OpenAI responses / SSE chunks become Anthropic ones.
///
/// Values follow the JSON view of the Lua tables: a Lua "table" is a JsonObject or JsonArray,
/// a missing key or JSON null is nil. Of the ctx, <c>var.llm_model</c> is read and the
/// <c>anthropic_tool_name_map</c> field (<see cref="ProtocolCtx.Fields"/>) written by the
/// request and read by the response conversions; <c>state</c> is the per-stream SSE state,
/// mutated in place (keys set to nil are removed).
/// </summary>
public sealed class AnthropicMessagesToOpenAiChat : IAiConverter
{
    public static readonly AnthropicMessagesToOpenAiChat Instance = new();

    public string From => "anthropic-messages";

    public string To => "openai-chat";

    private static readonly string[] BuiltinToolPrefixes =
        ["computer_", "bash_", "text_editor_", "web_search", "code_execution_"];

    private const int ToolNameMaxLen = 64;

    private static readonly Regex InvalidToolNameChar = new("[^a-zA-Z0-9_-]", RegexOptions.CultureInvariant);
    private static readonly Regex CchEntry = new(" ?cch=[^;]*;?", RegexOptions.CultureInvariant);
    private static readonly Regex EdgeSeparators = new("^[; ]+|[; ]+$", RegexOptions.CultureInvariant);

    // Lua-value helpers over JsonNode ----------------------------------------------------------

    private static bool IsTable(JsonNode? n) => n is JsonObject or JsonArray;

    private static bool Truthy(JsonNode? n) =>
        n != null && !(JsonScalars.TryGetBoolean(n, out var b) && !b);

    private static JsonNode? Get(JsonNode? n, string key) => n is JsonObject o ? o[key] : null;

    private static bool IsString(JsonNode? n, out string s) => JsonScalars.TryGetString(n, out s);

    private static bool IsString(JsonNode? n) => JsonScalars.TryGetString(n, out _);

    private static bool StringEquals(JsonNode? n, string value) => IsString(n, out var s) && s == value;

    /// <summary>ipairs: the array part (an object or empty table has none).</summary>
    private static IEnumerable<JsonNode?> IPairs(JsonNode? n) =>
        n is JsonArray a ? a.TakeWhile(x => x != null).ToList() : [];

    private static int Len(JsonNode? n) => n is JsonArray a ? a.TakeWhile(x => x != null).Count() : 0;

    private static JsonNode? Clone(JsonNode? n) => CJson.CloneNormalized(n);

    private static double NumberOr(JsonNode? n, double dflt) =>
        JsonScalars.TryGetNumber(n, out var d) ? d : dflt;

    /// <summary>`a or b` where a may be nil/false.</summary>
    private static JsonNode? Or(JsonNode? a, JsonNode? b) => Truthy(a) ? a : b;

    private static string LuaToString(JsonNode? n) => n switch
    {
        null => "nil",
        JsonObject or JsonArray => "table",
        _ when IsString(n, out var s) => s,
        _ => n.ToJsonString(),
    };

    // Port ------------------------------------------------------------------------------------

    public static string SanitizeToolName(string name)
    {
        var sanitized = InvalidToolNameChar.Replace(name, "_");
        if (Encoding.UTF8.GetByteCount(sanitized) > ToolNameMaxLen)
            sanitized = ByteSub(sanitized, ToolNameMaxLen);
        return sanitized;
    }

    /// <summary>string.sub(s, 1, n) in bytes.</summary>
    private static string ByteSub(string s, int n)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        return n >= bytes.Length ? s : Encoding.UTF8.GetString(bytes, 0, Math.Max(0, n));
    }

    private static int ByteLen(string s) => Encoding.UTF8.GetByteCount(s);

    public static JsonObject MakeSseEvent(string eventType, JsonNode data) =>
        new() { ["type"] = eventType, ["data"] = CJson.Encode(data) };

    public static void PushContentBlockStop(JsonArray events, JsonNode? idx) =>
        events.Add(MakeSseEvent("content_block_stop", new JsonObject
        {
            ["type"] = "content_block_stop",
            ["index"] = Clone(idx),
        }));

    public static void PushContentBlockStart(JsonArray events, JsonNode? idx, JsonNode block) =>
        events.Add(MakeSseEvent("content_block_start", new JsonObject
        {
            ["type"] = "content_block_start",
            ["index"] = Clone(idx),
            ["content_block"] = block,
        }));

    public static void PushContentBlockDelta(JsonArray events, JsonNode? idx, JsonNode delta) =>
        events.Add(MakeSseEvent("content_block_delta", new JsonObject
        {
            ["type"] = "content_block_delta",
            ["index"] = Clone(idx),
            ["delta"] = delta,
        }));

    private static readonly Dictionary<string, string> OpenAiStopReasonMap = new()
    {
        ["stop"] = "end_turn",
        ["length"] = "max_tokens",
        ["content_filter"] = "end_turn",
        ["tool_calls"] = "tool_use",
        ["function_call"] = "tool_use",
    };

    private static string MapStopReason(JsonNode? finishReason) =>
        IsString(finishReason, out var fr) && OpenAiStopReasonMap.TryGetValue(fr, out var r) ? r : "end_turn";

    private static JsonObject ImageUrl(string url) => new()
    {
        ["type"] = "image_url",
        ["image_url"] = new JsonObject { ["url"] = url },
    };

    public static JsonObject? ConvertMediaBlock(JsonNode? block)
    {
        var type = Get(block, "type");
        if (StringEquals(type, "image"))
        {
            var source = Get(block, "source");
            if (!Truthy(source)) return null;
            if (StringEquals(Get(source, "type"), "base64"))
            {
                var data = Get(source, "data");
                if (!Truthy(data) || StringEquals(data, "")) return null;
                return ImageUrl("data:" + LuaConcat(Or(Get(source, "media_type"), "image/png"))
                                + ";base64," + LuaConcat(data));
            }
            if (StringEquals(Get(source, "type"), "url") && IsString(Get(source, "url"), out var url) && url != "")
                return ImageUrl(url);
        }
        else if (StringEquals(type, "document"))
        {
            var source = Get(block, "source");
            if (Truthy(source) && StringEquals(Get(source, "type"), "base64"))
            {
                var data = Get(source, "data");
                if (!Truthy(data) || StringEquals(data, "")) return null;
                return ImageUrl("data:" + LuaConcat(Or(Get(source, "media_type"), "application/pdf"))
                                + ";base64," + LuaConcat(data));
            }
        }
        return null;
    }

    /// <summary>The text `..` would produce for a string or number.</summary>
    private static string LuaConcat(JsonNode? n)
    {
        if (IsString(n, out var s)) return s;
        if (JsonScalars.TryGetNumber(n, out var d)) return LuaNumber.ToLuaString(d);
        throw new InvalidOperationException("attempt to concatenate a " + (n == null ? "nil" : IsTable(n) ? "table" : "boolean") + " value");
    }

    public static JsonNode? ConvertToolChoice(JsonNode? tc)
    {
        if (!IsTable(tc)) return null;
        var t = Get(tc, "type");
        if (StringEquals(t, "auto")) return "auto";
        if (StringEquals(t, "any")) return "required";
        if (StringEquals(t, "none")) return "none";
        if (StringEquals(t, "tool") && IsString(Get(tc, "name"), out var name))
            return new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name },
            };
        return null;
    }

    public static string? ConvertThinkingConfig(JsonNode? thinking)
    {
        if (!IsTable(thinking)) return null;
        if (StringEquals(Get(thinking, "type"), "disabled")) return null;
        if (!StringEquals(Get(thinking, "type"), "enabled")) return null;
        if (!JsonScalars.TryGetNumber(Get(thinking, "budget_tokens"), out var budget)) return "medium";
        if (budget < 4096) return "low";
        if (budget < 16384) return "medium";
        return "high";
    }

    public static string? StripCchFromBilling(string text)
    {
        const string prefix = "x-anthropic-billing-header:";
        if (ByteSub(text, prefix.Length).ToLowerInvariant() != prefix) return text;
        var value = text.Substring(prefix.Length);
        value = CchEntry.Replace(value, "");
        value = EdgeSeparators.Replace(value, "");
        if (value == "") return null;
        return prefix + value;
    }

    public static JsonObject? ConvertSystem(JsonNode? system)
    {
        if (IsString(system, out var s))
        {
            if (s == "") return null;
            return new JsonObject { ["role"] = "system", ["content"] = s };
        }
        if (!IsTable(system)) return null;
        var parts = new StringBuilder();
        foreach (var block in IPairs(system))
        {
            if (IsTable(block) && StringEquals(Get(block, "type"), "text") && IsString(Get(block, "text"), out var text))
            {
                var cleaned = StripCchFromBilling(text);
                if (cleaned != null) parts.Append(cleaned);
            }
        }
        var joined = parts.ToString();
        if (joined == "") return null;
        return new JsonObject { ["role"] = "system", ["content"] = joined };
    }

    /// <summary>Convert an Anthropic Messages request to an OpenAI Chat request (nil + error on bad input).</summary>
    public (JsonNode? Body, string? Error) ConvertRequest(JsonNode? requestTable, ProtocolCtx ctx)
    {
        if (!IsTable(requestTable)) return (null, "request body must be a table");
        var req = requestTable!;
        if (!IsTable(Get(req, "messages")) || Len(Get(req, "messages")) == 0) return (null, "missing messages");

        var body = new JsonObject();

        if (IsString(Get(req, "model"), out var model)) body["model"] = model;

        var stream = Get(req, "stream");
        if (stream != null)
        {
            body["stream"] = Clone(stream);
            if (Truthy(stream)) body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        if (Truthy(Get(req, "max_tokens"))) body["max_completion_tokens"] = Clone(Get(req, "max_tokens"));
        if (Truthy(Get(req, "temperature"))) body["temperature"] = Clone(Get(req, "temperature"));
        if (Truthy(Get(req, "top_p"))) body["top_p"] = Clone(Get(req, "top_p"));

        if (IsTable(Get(req, "stop_sequences"))) body["stop"] = Clone(Get(req, "stop_sequences"));

        if (Truthy(Get(req, "thinking")))
        {
            var effort = ConvertThinkingConfig(Get(req, "thinking"));
            if (effort != null) body["reasoning_effort"] = effort;
        }

        var toolChoice = Get(req, "tool_choice");
        if (Truthy(toolChoice))
        {
            var converted = ConvertToolChoice(toolChoice);
            if (converted != null) body["tool_choice"] = converted;
            if (IsTable(toolChoice) && JsonScalars.TryGetBoolean(Get(toolChoice, "disable_parallel_tool_use"), out var dp) && dp)
                body["parallel_tool_calls"] = false;
        }

        var outputCfg = Or(Get(req, "output_config"), Get(req, "output_format"));
        if (IsTable(outputCfg))
        {
            if (StringEquals(Get(outputCfg, "type"), "json_schema") && Truthy(Get(outputCfg, "json_schema")))
                body["response_format"] = new JsonObject
                {
                    ["type"] = "json_schema",
                    ["json_schema"] = Clone(Get(outputCfg, "json_schema")),
                };
            else if (StringEquals(Get(outputCfg, "type"), "json_object") || StringEquals(Get(outputCfg, "type"), "json"))
                body["response_format"] = new JsonObject { ["type"] = "json_object" };
        }

        var metadata = Get(req, "metadata");
        if (IsTable(metadata) && IsString(Get(metadata, "user_id"), out var userId)) body["user"] = userId;

        if (IsString(Get(req, "service_tier"), out var tier)) body["service_tier"] = tier;

        // 1. System prompt
        var messages = new JsonArray();
        if (Truthy(Get(req, "system")))
        {
            var sys = ConvertSystem(Get(req, "system"));
            if (sys != null) messages.Add(sys);
        }

        // 2. Messages
        var i = 0;
        foreach (var msg in IPairs(Get(req, "messages")))
        {
            i++;
            if (!IsTable(msg) || !IsString(Get(msg, "role"), out var role))
                return (null, "invalid message at index " + i);

            var content = Get(msg, "content");
            if (IsString(content, out var contentStr))
            {
                messages.Add(new JsonObject { ["role"] = role, ["content"] = contentStr });
                continue;
            }
            if (!IsTable(content)) return (null, "invalid message content at index " + i);

            var toolCalls = new JsonArray();
            var toolResults = new JsonArray();
            var contentParts = new JsonArray();
            var hasMultimodal = false;

            foreach (var block in IPairs(content))
            {
                if (!IsTable(block))
                {
                    // Upstream logs a warning and skips the block.
                    continue;
                }
                var btype = Get(block, "type");
                if (StringEquals(btype, "text") && IsString(Get(block, "text"), out var text))
                {
                    contentParts.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                }
                else if (StringEquals(btype, "image") || StringEquals(btype, "document"))
                {
                    var media = ConvertMediaBlock(block);
                    if (media != null)
                    {
                        contentParts.Add(media);
                        hasMultimodal = true;
                    }
                }
                else if (StringEquals(btype, "tool_use"))
                {
                    if (IsString(Get(block, "id"), out var id) && IsString(Get(block, "name"), out var name))
                    {
                        var input = Get(block, "input");
                        toolCalls.Add(new JsonObject
                        {
                            ["id"] = id,
                            ["type"] = "function",
                            ["function"] = new JsonObject
                            {
                                ["name"] = name,
                                ["arguments"] = CJson.Encode(Truthy(input) ? input : new JsonObject()),
                            },
                        });
                    }
                }
                else if (StringEquals(btype, "tool_result"))
                {
                    if (IsString(Get(block, "tool_use_id"), out var toolUseId))
                    {
                        JsonNode trContent;
                        var bc = Get(block, "content");
                        if (IsString(bc, out var bcs))
                        {
                            trContent = bcs;
                        }
                        else if (IsTable(bc))
                        {
                            var texts = new StringBuilder();
                            var parts = new JsonArray();
                            var hasMedia = false;
                            foreach (var sub in IPairs(bc))
                            {
                                if (!IsTable(sub)) continue;
                                if (StringEquals(Get(sub, "type"), "text") && IsString(Get(sub, "text"), out var st))
                                {
                                    texts.Append(st);
                                    parts.Add(new JsonObject { ["type"] = "text", ["text"] = st });
                                }
                                else if (StringEquals(Get(sub, "type"), "image") || StringEquals(Get(sub, "type"), "document"))
                                {
                                    var mp = ConvertMediaBlock(sub);
                                    if (mp != null)
                                    {
                                        parts.Add(mp);
                                        hasMedia = true;
                                    }
                                }
                            }
                            trContent = hasMedia ? parts : texts.ToString();
                        }
                        else
                        {
                            trContent = "";
                        }
                        toolResults.Add(new JsonObject
                        {
                            ["role"] = "tool",
                            ["tool_call_id"] = toolUseId,
                            ["content"] = trContent,
                        });
                    }
                }
                // thinking / redacted_thinking: no Chat Completions input equivalent; dropped.
            }

            if (toolResults.Count > 0)
            {
                if (contentParts.Count > 0)
                {
                    var textContent = JoinTextParts(contentParts);
                    if (textContent != "") messages.Add(new JsonObject { ["role"] = role, ["content"] = textContent });
                }
                foreach (var tr in toolResults.ToList())
                {
                    toolResults.Remove(tr);
                    messages.Add(tr);
                }
                continue;
            }

            var newMsg = new JsonObject { ["role"] = role };
            if (toolCalls.Count > 0)
            {
                newMsg["tool_calls"] = toolCalls;
                if (contentParts.Count > 0)
                {
                    var t = JoinTextParts(contentParts);
                    if (t != "") newMsg["content"] = t;
                }
            }
            else if (hasMultimodal || contentParts.Count > 1)
            {
                newMsg["content"] = contentParts;
            }
            else if (contentParts.Count == 1 && StringEquals(Get(contentParts[0], "type"), "text"))
            {
                newMsg["content"] = Clone(Get(contentParts[0], "text"));
            }
            else
            {
                newMsg["content"] = "";
            }
            messages.Add(newMsg);
        }
        body["messages"] = messages;

        // 3. Tools
        var tools = Get(req, "tools");
        if (IsTable(tools) && Len(tools) > 0)
        {
            var openaiTools = new JsonArray();
            JsonObject? toolNameMap = null;
            foreach (var tool in IPairs(tools))
            {
                if (!IsTable(tool)) continue;
                if (IsString(Get(tool, "type"), out var ttype))
                {
                    var builtin = false;
                    foreach (var prefix in BuiltinToolPrefixes)
                    {
                        if (ttype.StartsWith(prefix, StringComparison.Ordinal))
                        {
                            builtin = true;
                            break;
                        }
                    }
                    if (builtin) continue;
                }
                if (!IsString(Get(tool, "name"), out var toolName) || toolName == "") continue;

                var oaiName = toolName;
                if (ByteLen(oaiName) > ToolNameMaxLen || InvalidToolNameChar.IsMatch(oaiName))
                {
                    var sanitized = SanitizeToolName(oaiName);
                    if (sanitized != oaiName)
                    {
                        toolNameMap ??= new JsonObject();
                        if (toolNameMap.ContainsKey(sanitized))
                        {
                            var suffix = 2;
                            string candidate;
                            do
                            {
                                var suffixStr = "_" + suffix;
                                var maxBase = ToolNameMaxLen - suffixStr.Length;
                                candidate = ByteSub(sanitized, maxBase) + suffixStr;
                                suffix++;
                            } while (toolNameMap.ContainsKey(candidate));
                            sanitized = candidate;
                        }
                        toolNameMap[sanitized] = oaiName;
                        oaiName = sanitized;
                    }
                }

                var fn = new JsonObject { ["name"] = oaiName };
                if (Get(tool, "description") is { } desc) fn["description"] = Clone(desc);
                if (Get(tool, "input_schema") is { } schema) fn["parameters"] = Clone(schema);
                openaiTools.Add(new JsonObject { ["type"] = "function", ["function"] = fn });
            }
            if (openaiTools.Count > 0) body["tools"] = openaiTools;
            if (toolNameMap != null)
            {
                ctx.Fields["anthropic_tool_name_map"] = toolNameMap;
                if (body["tool_choice"] is JsonObject tc && StringEquals(tc["type"], "function"))
                {
                    var tcFunc = tc["function"];
                    if (Truthy(tcFunc) && IsString(Get(tcFunc, "name"), out var tcName))
                    {
                        foreach (var (sanitized, original) in toolNameMap)
                        {
                            if (StringEquals(original, tcName))
                            {
                                tcFunc!["name"] = sanitized;
                                break;
                            }
                        }
                    }
                }
            }
        }

        return (body, null);
    }

    private static string JoinTextParts(JsonArray parts)
    {
        var sb = new StringBuilder();
        foreach (var p in parts)
            if (StringEquals(Get(p, "type"), "text"))
                sb.Append(IsString(Get(p, "text"), out var t) ? t : "");
        return sb.ToString();
    }

    /// <summary>Convert an OpenAI Chat response (or error) to the Anthropic Messages format.</summary>
    public (JsonNode? Body, string? Error) ConvertResponse(JsonNode? resBody, ProtocolCtx ctx)
    {
        if (!IsTable(resBody)) return (null, "response body must be a table");
        var res = resBody!;

        var errNode = Get(res, "error");
        if (Truthy(errNode))
        {
            JsonNode errType = "api_error";
            if (IsTable(errNode))
            {
                if (Truthy(Get(errNode, "type"))) errType = Clone(Get(errNode, "type"))!;
                else if (Truthy(Get(errNode, "code"))) errType = Clone(Get(errNode, "code"))!;
            }
            var errMsg = "";
            if (IsTable(errNode) && IsString(Get(errNode, "message"), out var m)) errMsg = m;
            else if (IsString(errNode, out var es)) errMsg = es;
            return (new JsonObject
            {
                ["type"] = "error",
                ["error"] = new JsonObject { ["type"] = errType, ["message"] = errMsg },
            }, null);
        }

        var choices = Get(res, "choices");
        var choice = Truthy(choices) ? FirstElement(choices) : null;
        if (!Truthy(choice)) return (null, "no choices in response");

        JsonNode? model = ctx.Var?.Invoke("llm_model") is { } llmModel ? JsonValue.Create(llmModel) : null;

        var content = new JsonArray();
        var msg = Get(choice, "message");
        if (Truthy(msg))
        {
            var reasoning = Or(Get(msg, "reasoning_content"), Get(msg, "reasoning"));
            if (IsString(reasoning, out var r) && r != "")
                content.Add(new JsonObject { ["type"] = "thinking", ["thinking"] = r, ["signature"] = "" });
        }

        var text = Truthy(msg) ? Get(msg, "content") : null;
        if (IsString(text, out var txt) && txt != "")
            content.Add(new JsonObject { ["type"] = "text", ["text"] = txt });

        var toolNameMap = ctx.Fields["anthropic_tool_name_map"];
        if (Truthy(msg) && IsTable(Get(msg, "tool_calls")))
        {
            foreach (var tc in IPairs(Get(msg, "tool_calls")))
            {
                JsonNode? input = new JsonObject();
                var fn = Get(tc, "function");
                if (Truthy(fn) && IsString(Get(fn, "arguments"), out var args))
                {
                    var (decoded, err) = CJson.Decode(args);
                    if (decoded == null)
                        return (null, "invalid tool_call arguments: " + (err ?? "decode error"));
                    input = decoded;
                }
                var nameNode = Truthy(fn) ? Get(fn, "name") : null;
                JsonNode tcName = Truthy(nameNode) ? Clone(nameNode)! : "";
                if (Truthy(toolNameMap) && IsString(tcName, out var tcn) && Truthy(Get(toolNameMap, tcn)))
                    tcName = Clone(Get(toolNameMap, tcn))!;
                var id = Get(tc, "id");
                content.Add(new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = Truthy(id) ? Clone(id) : "",
                    ["name"] = tcName,
                    ["input"] = input,
                });
            }
        }

        if (content.Count == 0) content.Add(new JsonObject { ["type"] = "text", ["text"] = "" });

        var usage = new JsonObject { ["input_tokens"] = 0L, ["output_tokens"] = 0L };
        var resUsage = Get(res, "usage");
        if (Truthy(resUsage))
        {
            var promptTokens = NumberOr(Or(Get(resUsage, "prompt_tokens"), null), 0);
            var completionTokens = Or(Get(resUsage, "completion_tokens"), 0L);
            var details = Get(resUsage, "prompt_tokens_details");
            usage["output_tokens"] = Clone(completionTokens);
            if (IsTable(details))
            {
                var cached = Or(Get(details, "cached_tokens"), 0L);
                usage["input_tokens"] = CJson.NumberNode(Math.Max(0, promptTokens - NumberOr(cached, 0)));
                usage["cache_read_input_tokens"] = Clone(cached);
                if (Truthy(Get(details, "cache_creation_input_tokens")))
                    usage["cache_creation_input_tokens"] = Clone(Get(details, "cache_creation_input_tokens"));
            }
            else
            {
                usage["input_tokens"] = Clone(Or(Get(resUsage, "prompt_tokens"), 0L));
            }
        }

        var anthropic = new JsonObject();
        if (Get(res, "id") is { } resId) anthropic["id"] = Clone(resId);
        anthropic["type"] = "message";
        anthropic["role"] = "assistant";
        var m2 = Or(model, Get(res, "model"));
        if (m2 != null) anthropic["model"] = Clone(m2);
        anthropic["content"] = content;
        anthropic["stop_reason"] = MapStopReason(Get(choice, "finish_reason"));
        anthropic["usage"] = usage;
        return (anthropic, null);
    }

    private static JsonNode? FirstElement(JsonNode? n) => n is JsonArray a && a.Count > 0 ? a[0] : null;

    private static JsonObject UsageFromChunk(JsonNode usage, bool withCacheCreation)
    {
        var details = Get(usage, "prompt_tokens_details");
        var promptTokens = NumberOr(Or(Get(usage, "prompt_tokens"), null), 0);
        double cached = 0;
        if (IsTable(details)) cached = NumberOr(Or(Get(details, "cached_tokens"), null), 0);
        var result = new JsonObject
        {
            ["input_tokens"] = CJson.NumberNode(Math.Max(0, promptTokens - cached)),
            ["output_tokens"] = Clone(Or(Get(usage, "completion_tokens"), 0L)),
        };
        if (cached > 0) result["cache_read_input_tokens"] = CJson.NumberNode(cached);
        if (withCacheCreation && IsTable(details) && Truthy(Get(details, "cache_creation_input_tokens")))
            result["cache_creation_input_tokens"] = Clone(Get(details, "cache_creation_input_tokens"));
        return result;
    }

    private static void SetOrRemove(JsonObject o, string key, JsonNode? value)
    {
        if (value == null) o.Remove(key);
        else o[key] = value;
    }

    /// <summary>Tool-call index → content block index (keys are the Lua numbers as strings).</summary>
    private static JsonNode? IndexLookup(JsonNode? indices, JsonNode tcIdx)
    {
        var key = LuaToString(tcIdx);
        if (indices is JsonObject o) return o[key];
        if (indices is JsonArray a && JsonScalars.TryGetNumber(tcIdx, out var d) && LuaNumber.IsIntegral(d)
            && d >= 1 && d <= a.Count)
            return a[(int)d - 1];
        return null;
    }

    private static JsonObject EnsureIndexObject(JsonObject state)
    {
        switch (state["tool_call_indices"])
        {
            case JsonObject o:
                return o;
            case JsonArray a:
                var conv = new JsonObject();
                for (var k = 0; k < a.Count; k++)
                    if (a[k] != null) conv[(k + 1).ToString()] = Clone(a[k]);
                state["tool_call_indices"] = conv;
                return conv;
            default:
                var fresh = new JsonObject();
                state["tool_call_indices"] = fresh;
                return fresh;
        }
    }

    /// <summary>Convert one OpenAI SSE chunk to Anthropic SSE events, advancing <paramref name="state"/>.</summary>
    public static JsonArray OpenAiToAnthropicSse(JsonNode? openaiChunk, JsonNode? stateNode, JsonNode? toolNameMap)
    {
        if (!IsTable(openaiChunk)) return [];
        if (stateNode is not JsonObject state) return [];
        var chunk = openaiChunk!;
        var events = new JsonArray();
        var choices = Get(chunk, "choices");
        var choice = Truthy(choices) ? FirstElement(choices) : null;

        if (Truthy(state["is_done"]))
        {
            if (Truthy(state["pending_stop"]))
            {
                var messageDelta = state["pending_message_delta"] as JsonObject ?? new JsonObject();
                if (IsTable(Get(chunk, "usage")) && !Truthy(messageDelta["usage"]))
                    messageDelta["usage"] = UsageFromChunk(Get(chunk, "usage")!, withCacheCreation: true);
                events.Add(MakeSseEvent("message_delta", messageDelta));
                events.Add(MakeSseEvent("message_stop", new JsonObject { ["type"] = "message_stop" }));
                state["pending_stop"] = false;
                state.Remove("pending_message_delta");
            }
            return events;
        }

        if (Truthy(state["is_first"]))
        {
            var message = new JsonObject();
            if (Get(chunk, "id") is { } id) message["id"] = Clone(id);
            message["type"] = "message";
            message["role"] = "assistant";
            if (Get(chunk, "model") is { } model) message["model"] = Clone(model);
            // upstream marks this table with core.json.empty_array_mt, which apisix.core.json does
            // not define (nil): the table stays plain and cjson writes it as {}, as Lua APISIX sends it
            message["content"] = new JsonObject();
            message["usage"] = new JsonObject { ["input_tokens"] = 0L, ["output_tokens"] = 0L };
            events.Add(MakeSseEvent("message_start", new JsonObject
            {
                ["type"] = "message_start",
                ["message"] = message,
            }));
            state["is_first"] = false;
            state["next_content_index"] = 0L;
            state.Remove("current_open_block");
            state.Remove("current_block_type");
            state["tool_call_indices"] = new JsonObject();
        }

        string? finishReason = null;
        if (Truthy(choice) && IsString(Get(choice, "finish_reason"), out var fr))
        {
            var trimmed = fr.Trim(' ', '\t', '\n', '\r', '\f', '\v');
            if (trimmed != "" && trimmed != "null") finishReason = trimmed;
        }

        var delta = Truthy(choice) ? Get(choice, "delta") : null;

        // Reasoning / thinking delta
        if (Truthy(delta))
        {
            var reasoning = Or(Get(delta, "reasoning_content"), Get(delta, "reasoning"));
            if (IsString(reasoning, out var r) && r != "")
            {
                if (!StringEquals(state["current_block_type"], "thinking"))
                {
                    OpenNextBlock(events, state, "thinking");
                    PushContentBlockStart(events, state["current_open_block"],
                        new JsonObject { ["type"] = "thinking", ["thinking"] = "" });
                }
                PushContentBlockDelta(events, state["current_open_block"],
                    new JsonObject { ["type"] = "thinking_delta", ["thinking"] = r });
            }
        }

        // Text delta
        if (Truthy(delta) && IsString(Get(delta, "content"), out var dc) && dc != "")
        {
            if (!StringEquals(state["current_block_type"], "text"))
            {
                OpenNextBlock(events, state, "text");
                PushContentBlockStart(events, state["current_open_block"],
                    new JsonObject { ["type"] = "text", ["text"] = "" });
            }
            PushContentBlockDelta(events, state["current_open_block"],
                new JsonObject { ["type"] = "text_delta", ["text"] = dc });
        }

        // Tool call deltas
        if (Truthy(delta) && IsTable(Get(delta, "tool_calls")))
        {
            foreach (var tcDelta in IPairs(Get(delta, "tool_calls")))
            {
                if (!IsTable(tcDelta)) continue;
                var tcIdx = Get(tcDelta, "index");
                if (tcIdx == null) continue;

                if (!Truthy(IndexLookup(state["tool_call_indices"], tcIdx)))
                {
                    OpenNextBlock(events, state, "tool_use");
                    var indices = EnsureIndexObject(state);
                    indices[LuaToString(tcIdx)] = Clone(state["current_open_block"]);

                    var fnNode = Get(tcDelta, "function");
                    var nameNode = Get(fnNode, "name");
                    JsonNode toolName = Truthy(nameNode) ? Clone(nameNode)! : "";
                    if (Truthy(toolNameMap) && IsString(toolName, out var tn) && Truthy(Get(toolNameMap, tn)))
                        toolName = Clone(Get(toolNameMap, tn))!;
                    var tcId = Get(tcDelta, "id");
                    PushContentBlockStart(events, state["current_open_block"], new JsonObject
                    {
                        ["type"] = "tool_use",
                        ["id"] = Truthy(tcId) ? Clone(tcId) : "",
                        ["name"] = toolName,
                        ["input"] = new JsonObject(),
                    });
                }

                var fn = Get(tcDelta, "function");
                var args = Truthy(fn) ? Get(fn, "arguments") : null;
                if (IsString(args, out var a) && a != "")
                    PushContentBlockDelta(events, IndexLookup(state["tool_call_indices"], tcIdx),
                        new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = a });
            }
        }

        // Completion
        if (finishReason != null)
        {
            if (state["current_open_block"] != null)
            {
                PushContentBlockStop(events, state["current_open_block"]);
                state.Remove("current_open_block");
                state.Remove("current_block_type");
            }
            var messageDelta = new JsonObject
            {
                ["type"] = "message_delta",
                ["delta"] = new JsonObject { ["stop_reason"] = MapStopReason(finishReason) },
            };
            if (IsTable(Get(chunk, "usage")))
                messageDelta["usage"] = UsageFromChunk(Get(chunk, "usage")!, withCacheCreation: false);
            state["pending_message_delta"] = messageDelta;
            state["pending_stop"] = true;
            state["is_done"] = true;
        }

        return events;
    }

    /// <summary>Close the open block (if any) and make the next content index the open one.</summary>
    private static void OpenNextBlock(JsonArray events, JsonObject state, string blockType)
    {
        if (state["current_open_block"] != null) PushContentBlockStop(events, state["current_open_block"]);
        var idx = NumberOr(state["next_content_index"], 0);
        state["next_content_index"] = CJson.NumberNode(idx + 1);
        state["current_open_block"] = CJson.NumberNode(idx);
        state["current_block_type"] = blockType;
    }

    /// <summary>
    /// Convert a parsed SSE event (type "skip", "ping", "done" or one with decoded <c>data</c>)
    /// to Anthropic events; null when there is nothing to send.
    /// </summary>
    public JsonArray? ConvertSseEvents(JsonNode? parsed, ProtocolCtx? ctx, JsonObject state)
    {
        if (!Truthy(parsed) || StringEquals(Get(parsed, "type"), "skip")) return null;

        if (StringEquals(Get(parsed, "type"), "ping"))
            return [MakeSseEvent("ping", new JsonObject { ["type"] = "ping" })];

        var toolNameMap = ctx?.Fields["anthropic_tool_name_map"];

        if (StringEquals(Get(parsed, "type"), "done"))
        {
            if (Truthy(state["pending_stop"]))
                return OpenAiToAnthropicSse(new JsonObject { ["choices"] = new JsonObject() }, state, toolNameMap);
            if (!Truthy(state["is_done"]) && JsonScalars.TryGetBoolean(state["is_first"], out var first) && !first)
            {
                if (state["current_open_block"] != null)
                {
                    var events = new JsonArray();
                    PushContentBlockStop(events, state["current_open_block"]);
                    state.Remove("current_open_block");
                    events.Add(MakeSseEvent("message_delta", new JsonObject
                    {
                        ["type"] = "message_delta",
                        ["delta"] = new JsonObject { ["stop_reason"] = "end_turn" },
                        ["usage"] = new JsonObject { ["input_tokens"] = 0L, ["output_tokens"] = 0L },
                    }));
                    events.Add(MakeSseEvent("message_stop", new JsonObject { ["type"] = "message_stop" }));
                    state["is_done"] = true;
                    return events;
                }
            }
            return null;
        }

        var data = Get(parsed, "data");
        if (Truthy(data)) return OpenAiToAnthropicSse(data, state, toolNameMap);
        return null;
    }

    JsonArray? IAiConverter.ConvertSseEvents(JsonObject parsed, ProtocolCtx ctx, JsonObject state) =>
        ConvertSseEvents(parsed, ctx, state);

    /// <summary>Rewrite Anthropic request headers for an OpenAI-compatible upstream, in place.</summary>
    public void ConvertHeaders(IDictionary<string, string> headers)
    {
        if (headers.TryGetValue("x-api-key", out var apiKey) && apiKey != "")
        {
            if (!headers.ContainsKey("authorization")) headers["authorization"] = "Bearer " + apiKey;
            headers.Remove("x-api-key");
        }
        foreach (var k in headers.Keys.Where(IsClientOnlyHeader).ToList()) headers.Remove(k);
    }

    private static bool IsClientOnlyHeader(string name) =>
        name.StartsWith("anthropic-", StringComparison.Ordinal) || name.StartsWith("x-stainless-", StringComparison.Ordinal);

    /// <summary>The same over a Lua headers table (values may be lists), for the Lua bridge.</summary>
    public static void ConvertHeaders(JsonObject? headers)
    {
        if (headers == null) return;
        if (IsString(headers["x-api-key"], out var apiKey) && apiKey != "")
        {
            if (!Truthy(headers["authorization"])) headers["authorization"] = "Bearer " + apiKey;
            headers.Remove("x-api-key");
        }
        var toRemove = new List<string>();
        foreach (var (k, _) in headers)
            if (IsClientOnlyHeader(k))
                toRemove.Add(k);
        foreach (var k in toRemove) headers.Remove(k);
    }
}
