using System.Text.Json.Nodes;
using Apisix.Plugins.AiProxy;
using Xunit;

namespace Apisix.Tests.AiProxy;

public class CostExprTests
{
    private static JsonObject Usage() => new()
    {
        ["input_tokens"] = 50, ["output_tokens"] = 30, ["cache_read_input_tokens"] = 200,
        ["cache_creation_input_tokens"] = 100, ["model"] = "claude",
    };

    [Theory]
    [InlineData("input_tokens + output_tokens", 80)]
    [InlineData("input_tokens + cache_read_input_tokens * 0.1 + cache_creation_input_tokens * 1.25 + output_tokens", 225)]
    [InlineData("input_tokens - cache_read_input_tokens", 0)]               // clamped at 0
    [InlineData("input_tokens + not_there + output_tokens", 80)]            // a missing field is 0
    [InlineData("max(input_tokens, output_tokens) * 2", 100)]
    [InlineData("math.floor(output_tokens / 7)", 4)]
    [InlineData("2 ^ 3 ^ 2", 512)]                                           // ^ is right associative
    [InlineData("-2 ^ 2", -0.0)]                                             // unary minus binds looser than ^, then clamped
    [InlineData("output_tokens % 7 + 0.5", 3)]                               // 2.5 rounds half up
    [InlineData("input_tokens > 10 and 1 or 2", 1)]
    public void Evaluates_with_lua_meaning(string expr, double expected)
    {
        var (cost, err) = CostExpr.Eval(expr, Usage());
        Assert.Null(err);
        Assert.Equal((long)expected, cost);
    }

    [Theory]
    [InlineData("invalid $$$ syntax %%%")]
    [InlineData("input_tokens +")]
    [InlineData("(input_tokens")]
    public void Rejects_what_lua_would_not_load(string expr)
    {
        var (compiled, err) = CostExpr.Compile(expr);
        Assert.Null(compiled);
        Assert.StartsWith("[string \"cost_expr\"]:1: ", err);
    }

    [Fact]
    public void A_non_number_result_and_arithmetic_on_a_function_are_errors()
    {
        Assert.Equal("cost_expr must return a number, got: boolean", CostExpr.Eval("input_tokens > 1", Usage()).Error);
        Assert.StartsWith("failed to evaluate cost_expr: ", CostExpr.Eval("floor + 1", Usage()).Error);
        Assert.Equal("cost_expr returned non-finite value", CostExpr.Eval("input_tokens / 0", Usage()).Error);
    }
}
