using Apisix.Core.Utils;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Utils;

public class BoundedCacheTests
{
    [Fact]
    public void A_key_is_worked_out_once_while_there_is_room()
    {
        var cache = new BoundedCache<string>(2);
        var made = 0;
        string Make(string k) { made++; return k.ToUpperInvariant(); }
        cache.Get("a", Make).Should().Be("A");
        cache.Get("a", Make).Should().Be("A");
        made.Should().Be(1);
    }

    [Fact]
    public void Past_its_capacity_a_value_is_still_right_but_made_each_time()
    {
        var cache = new BoundedCache<string>(1);
        var made = 0;
        cache.Get("a", "-", (k, s) => { made++; return k + s; }).Should().Be("a-");
        cache.Get("b", "-", (k, s) => { made++; return k + s; }).Should().Be("b-");
        cache.Get("b", "-", (k, s) => { made++; return k + s; }).Should().Be("b-");
        cache.Get("a", "-", (k, s) => { made++; return k + s; }).Should().Be("a-");
        made.Should().Be(3); // "a" remembered, "b" made twice
    }

    [Fact]
    public void Put_replaces_a_remembered_value_and_adds_a_new_key_only_while_there_is_room()
    {
        var cache = new BoundedCache<string>(1);
        cache.Put("a", "v1");
        cache.Put("a", "v2");
        cache.TryGet("a", out var a).Should().BeTrue();
        a.Should().Be("v2");
        cache.Put("b", "w");
        cache.TryGet("b", out _).Should().BeFalse(); // full
    }

    [Fact]
    public void The_pool_gives_one_string_for_the_same_text_up_to_its_capacity()
    {
        var pool = new StringPool(1);
        var first = pool.Get("role".AsSpan());
        pool.Get("xroley".AsSpan(1, 4)).Should().BeSameAs(first);
        var other = pool.Get("user".AsSpan());
        other.Should().Be("user");
        pool.Get("user".AsSpan()).Should().NotBeSameAs(other); // full: not remembered
    }
}
