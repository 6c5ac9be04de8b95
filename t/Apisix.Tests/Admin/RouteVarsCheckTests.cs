using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>resty.expr's compile checks on a route's vars.</summary>
public class RouteVarsCheckTests
{
    [Theory]
    [InlineData("""[]""", null)]
    [InlineData("""[["arg_k", "==", "v"]]""", null)]
    [InlineData("""[["arg_k", "v"]]""", null)]
    [InlineData("""[["arg_k", "!", "~~", "^a"], ["http_x", "IN", ["a", "b"]]]""", null)]
    [InlineData("""["OR", ["arg_a", "==", 1], ["arg_b", "ipmatch", ["10.0.0.0/8"]]]""", null)]
    [InlineData("""[["remote_addr", "=", "127.0.0.1"]]""", "invalid operator '='")]
    [InlineData("""[["arg_k", "?", "==", "v"]]""", "bad 'not' expression")]
    [InlineData("""["arg_k", "==", "v"]""", "rule should be wrapped inside brackets")]
    [InlineData("""["AND", ["arg_k", "==", "v"]]""", "rule too short")]
    [InlineData("""[["arg_k"]]""", "invalid expression")]
    [InlineData("""[[]]""", "rule too short")]
    public void Validate_answers_as_expr_new(string rule, string? error)
    {
        Apisix.Core.Utils.ExprV1.New(JsonNode.Parse(rule)!).Error.Should().Be(error);
    }
}

/// <summary>routes.lua's filter_func check.</summary>
public class FilterFuncCheckTests
{
    [Fact]
    public void A_function_passes()
    {
        FilterFuncCheck.Validate("function(vars) return vars.arg_x == '1' end").Should().BeNull();
    }

    [Fact]
    public void A_load_error_reads_as_LuaJIT_words_it()
    {
        FilterFuncCheck.Validate("function(vars) ").Should()
            .Be("failed to load 'filter_func' string: [string \"return function(vars) \"]:1: 'end' expected near '<eof>'");
    }

    [Fact]
    public void Something_else_than_a_function_is_refused()
    {
        FilterFuncCheck.Validate("{}").Should().Be("'filter_func' should be a function");
    }
}
