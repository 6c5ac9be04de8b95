using System.Net;
using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Apisix.Core.Upstream;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Apisix.Tests.Upstream;

public class ChashPickerTests : IAsyncLifetime
{
    private const string A = "127.0.0.1:1980", B = "127.0.0.1:1981", C = "127.0.0.1:1982";
    private static readonly (string, int)[] Abc = [(A, 1), (B, 1), (C, 2)];

    // ring ids as chash.lua hands them to resty.chash: ':' replaced by a NUL byte
    private static string RingId(string server) => server.Replace(':', '\0');

    // one emulated nginx per test (it runs worker threads), every ctx a request on it
    private readonly ErrorLog _log = new(LogLevel.Debug);
    private readonly Nginx _nginx;

    public ChashPickerTests() => _nginx = new Nginx(new HttpConf(), new LoopbackNetwork(), _log, new LuaModules(), Path.GetTempPath());

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nginx.DisposeAsync();

    private (ApiCtx Ctx, ErrorLog Log) NewCtx(string? remoteAddr = "127.0.0.1")
    {
        var http = new DefaultHttpContext();
        if (remoteAddr != null) http.Connection.RemoteIpAddress = IPAddress.Parse(remoteAddr);
        var req = new NgxRequest(http, new ServerConf(), new LocationConf { Modifier = "", Pattern = "/" }, 1) { Nginx = _nginx };
        return (new ApiCtx(req), _log);
    }

    private static JsonObject Up(string? hashOn, string? key)
    {
        var o = new JsonObject { ["type"] = "chash" };
        if (hashOn != null) o["hash_on"] = hashOn;
        if (key != null) o["key"] = key;
        return o;
    }

    private static string? Pick(ChashPicker picker, ApiCtx ctx) => picker.Get(new BalancerState { Ctx = ctx }).Server;

    // Expected values below come from compiling lua-resty-balancer's chash.c (point init and
    // sort, unchanged) with a small C driver doing what chash.lua's _precompute and find do,
    // over the ids 127.0.0.1\01980 (w1), 127.0.0.1\01981 (w1), 127.0.0.1\01982 (w2).
    [Theory]
    [InlineData("127.0.0.1", 523, C, new[] { A, A, A, B, B, C })]
    [InlineData("user-1", 314, A, new[] { A, C, A, B, B, C })]
    [InlineData("jack", 408, C, new[] { B, A, B, C, C, C })]
    [InlineData("tom", 313, A, new[] { A, A, C, A, B, B })]
    [InlineData("", 0, C, new[] { A, A, C, B, C, C })]
    [InlineData("nil", 207, A, new[] { B, B, A, B, B, C })]
    [InlineData("10.0.0.7", 496, C, new[] { B, B, A, C, A, B })]
    [InlineData("a|b", 369, C, new[] { B, C, C, B, C, C })]
    public void Ring_lands_keys_where_the_C_library_does(string key, int index, string server, string[] following)
    {
        var ring = new ChashRing(Abc.Select(n => (RingId(n.Item1), n.Item2)));
        ring.PointCount.Should().Be(640);
        var (id, at) = ring.Find(key);
        at.Should().Be(index);
        id.Should().Be(RingId(server));
        var walked = new List<string>();
        for (var i = 0; i < following.Length; i++)
        {
            (id, at) = ring.Next(at);
            walked.Add(id!);
        }
        walked.Should().Equal(following.Select(RingId));
    }

    [Fact]
    public void Ring_points_and_key_hashes_match_the_C_library()
    {
        ChashRing.Hash("127.0.0.1").Should().Be(0xd7b7e7a8u);
        ChashRing.Hash("").Should().Be(0u);
        var pts = new ChashRing(Abc.Select(n => (RingId(n.Item1), n.Item2))).Points.ToList();
        pts[0].Should().Be((0x00373c92u, RingId(C)));
        pts[^1].Should().Be((0xff7f96b3u, RingId(A)));
        pts.GroupBy(p => p.Id).ToDictionary(g => g.Key, g => g.Count())
            .Should().BeEquivalentTo(new Dictionary<string, int> { [RingId(A)] = 160, [RingId(B)] = 160, [RingId(C)] = 320 });
    }

    // n nodes 10.0.0.<i>:80 (as ring ids) with weight i % 3 + 1; digest d = d*31 + hash*7 + id
    // (uint arithmetic, id 1-based in node order) over the whole ordered ring, from the C driver
    [Theory]
    [InlineData(2, 480, 1423082560u, 0x7acff54bu, 1)]
    [InlineData(7, 2080, 2825624482u, 0x82db0ed9u, 5)]
    [InlineData(40, 12640, 512537085u, 0x7e74283du, 25)]
    public void Whole_ring_order_matches_the_C_library(int n, int points, uint digest, uint midHash, int midNode)
    {
        var nodes = Enumerable.Range(0, n).Select(i => ($"10.0.0.{i + 1}\u000080", i % 3 + 1)).ToList();
        var ring = new ChashRing(nodes);
        ring.PointCount.Should().Be(points);
        var index = nodes.Select((x, i) => (x.Item1, i + 1)).ToDictionary(x => x.Item1, x => (uint)x.Item2);
        uint d = 0;
        uint prev = 0;
        foreach (var (hash, id) in ring.Points)
        {
            hash.Should().BeGreaterThanOrEqualTo(prev);
            prev = hash;
            unchecked { d = d * 31u + hash * 7u + index[id]; }
        }
        d.Should().Be(digest);
        var mid = ring.Points.ElementAt(points / 2);
        mid.Should().Be((midHash, nodes[midNode - 1].Item1));
    }

    [Fact]
    public void Removing_a_node_moves_only_its_keys_and_matches_the_two_node_ring_of_the_C_library()
    {
        var two = new ChashPicker([(A, 1), (B, 1)], Up("vars", "k"));
        var three = new ChashPicker(Abc, Up("vars", "k"));
        // from the C driver with only the first two ids
        var expected = new Dictionary<string, string>
        {
            ["127.0.0.1"] = A, ["user-1"] = A, ["jack"] = B, ["tom"] = A, [""] = A, ["nil"] = A, ["10.0.0.7"] = B, ["a|b"] = B,
        };
        foreach (var (key, server) in expected)
        {
            var (ctx, _) = NewCtx();
            ctx.Var.Set("k", key);
            Pick(two, ctx).Should().Be(server, $"key '{key}'");
        }

        var moved = 0;
        for (var i = 0; i < 3000; i++)
        {
            var key = "key-" + i;
            var before = Pick(three, WithVar("k", key));
            var after = Pick(two, WithVar("k", key));
            if (before == C) moved++;
            else after.Should().Be(before, $"key '{key}' was not on the removed node");
        }
        moved.Should().BeInRange(1200, 1800);
    }

    private ApiCtx WithVar(string name, string value)
    {
        var (ctx, _) = NewCtx();
        ctx.Var.Set(name, value);
        return ctx;
    }

    [Fact]
    public void Same_key_always_picks_the_same_server_and_spread_follows_weight()
    {
        var picker = new ChashPicker(Abc, Up(null, "k"));
        var first = Pick(picker, WithVar("k", "stable"));
        for (var i = 0; i < 20; i++) Pick(picker, WithVar("k", "stable")).Should().Be(first);
        // a fresh picker over the same nodes listed in another order agrees
        Pick(new ChashPicker([(C, 2), (B, 1), (A, 1)], Up(null, "k")), WithVar("k", "stable")).Should().Be(first);

        var counts = new Dictionary<string, int> { [A] = 0, [B] = 0, [C] = 0 };
        for (var i = 0; i < 20000; i++) counts[Pick(picker, WithVar("k", "user-" + i))!]++;
        counts[C].Should().BeInRange(9000, 11000, "the weight-2 node owns half the points");
        counts[A].Should().BeInRange(4000, 6000);
        counts[B].Should().BeInRange(4000, 6000);
    }

    [Fact]
    public void Weights_are_divided_by_their_gcd_first()
    {
        var scaled = new ChashPicker([(A, 5), (B, 5), (C, 10)], Up("vars", "k"));
        scaled.Ring.PointCount.Should().Be(640);
        var plain = new ChashPicker(Abc, Up("vars", "k"));
        for (var i = 0; i < 200; i++)
            Pick(scaled, WithVar("k", "k" + i)).Should().Be(Pick(plain, WithVar("k", "k" + i)));
    }

    [Fact]
    public void Zero_weight_node_gets_no_key()
    {
        var picker = new ChashPicker([(A, 0), (B, 3)], Up("vars", "k"));
        picker.Ring.PointCount.Should().Be(160);
        for (var i = 0; i < 100; i++) Pick(picker, WithVar("k", "x" + i)).Should().Be(B);
    }

    [Fact]
    public void Retries_walk_on_along_the_ring_skipping_tried_servers()
    {
        // "127.0.0.1" lands on point 523 (C); the points after it are A A A B B C
        var picker = new ChashPicker(Abc, Up("vars", "remote_addr"));
        var (ctx, _) = NewCtx("127.0.0.1");
        var state = new BalancerState { Ctx = ctx };

        var (s1, _) = picker.Get(state);
        s1.Should().Be(C);
        ctx.Items[ChashPicker.LastIndexField].Should().Be(523);

        state.Server = s1;
        picker.AfterBalance(state, true);
        var (s2, _) = picker.Get(state);
        s2.Should().Be(A);
        ctx.Items[ChashPicker.LastIndexField].Should().Be(524);

        state.Server = s2;
        picker.AfterBalance(state, true);
        var (s3, _) = picker.Get(state);
        s3.Should().Be(B, "two more A points are passed over before the first B");
        ctx.Items[ChashPicker.LastIndexField].Should().Be(527);

        state.Server = s3;
        picker.AfterBalance(state, true);
        state.TriedCount.Should().Be(3);
        picker.Get(state).Should().Be(((string?)null, "all upstream servers tried"));
    }

    [Fact]
    public void Retries_never_repeat_a_tried_server_for_any_key()
    {
        var picker = new ChashPicker([(A, 1), (B, 2), (C, 1), ("10.0.0.1:80", 3)], Up("vars", "k"));
        for (var i = 0; i < 200; i++)
        {
            var state = new BalancerState { Ctx = WithVar("k", "r" + i) };
            var seen = new HashSet<string>();
            for (var attempt = 0; attempt < 4; attempt++)
            {
                var (server, err) = picker.Get(state);
                err.Should().BeNull();
                seen.Add(server!).Should().BeTrue($"attempt {attempt} of key r{i} repeated {server}");
                state.Server = server;
                picker.AfterBalance(state, true);
            }
            picker.Get(state).Error.Should().Be("all upstream servers tried");
        }
    }

    [Fact]
    public void After_balance_without_retry_and_next_priority_reset_the_tried_set()
    {
        var picker = new ChashPicker(Abc, Up("vars", "k"));
        var state = new BalancerState { Ctx = WithVar("k", "jack"), Server = C };
        picker.AfterBalance(state, true);
        state.TriedServers.Should().BeEquivalentTo([C]);
        picker.AfterBalance(state, false);
        state.TriedServers.Should().BeNull();
        state.TriedCount.Should().Be(1, "chash.lua leaves the count alone there");
        picker.Get(state).Server.Should().Be(C, "with no tried set the key is looked up again");

        picker.AfterBalance(state, true);
        picker.BeforeRetryNextPriority(state);
        state.TriedServers.Should().BeNull();
        state.TriedCount.Should().Be(0);
    }

    [Fact]
    public void Without_a_ctx_the_key_is_nil_and_retries_still_work()
    {
        var picker = new ChashPicker(Abc, Up("vars", "k"));
        var state = new BalancerState();
        picker.Get(state).Server.Should().Be(A, "tostring(nil) is hashed");
        state.Server = A;
        picker.AfterBalance(state, true);
        picker.Get(state).Server.Should().Be(B, "the point after 207 is B");
    }

    [Fact]
    public void Hash_on_each_source()
    {
        var (ctx, log) = NewCtx("10.9.9.9");
        ctx.ConsumerName = "jack";
        ctx.Request.RequestHeaders.Add(("X-User", "user-1"));
        ctx.Request.RequestHeaders.Add(("Cookie", "a=1; sid=tom"));
        ctx.Var.Set("p", "a");
        ctx.Var.Set("q", "b");

        ChashPicker.FetchHashKey(ctx, Up("consumer", null)).Should().Be("jack");
        ChashPicker.FetchHashKey(ctx, Up(null, "remote_addr")).Should().Be("10.9.9.9");
        ChashPicker.FetchHashKey(ctx, Up("header", "x_user")).Should().Be("user-1");
        ChashPicker.FetchHashKey(ctx, Up("cookie", "sid")).Should().Be("tom");
        ChashPicker.FetchHashKey(ctx, Up("vars_combinations", "$p|${ q }")).Should().Be("a|b");

        var picker = (string hashOn, string? key) => Pick(new ChashPicker(Abc, Up(hashOn, key)), ctx);
        picker("consumer", null).Should().Be(C);
        picker("header", "x_user").Should().Be(A);
        picker("cookie", "sid").Should().Be(A);
        picker("vars_combinations", "$p|$q").Should().Be(C);
        picker("vars", "remote_addr").Should().Be(Pick(new ChashPicker(Abc, Up("vars", "k")), WithVar("k", "10.9.9.9")));

        log.Lines.Should().NotContain(l => l.Contains("chash_key fetch is nil"));
        log.Lines.Should().Contain(l => l.Contains("[info]") && l.Contains("hash_on: consumer"));
        log.Lines.Should().Contain(l => l.Contains("[info]") && l.Contains("chash_key: \"jack\""));
        log.Lines.Should().Contain(l => l.Contains("[info]") && l.Contains("upstream key: nil"));
        log.Lines.Should().Contain(l => l.Contains("upstream key: x_user"));
    }

    [Theory]
    [InlineData("header", "x_missing")]
    [InlineData("cookie", "nope")]
    [InlineData("vars", "no_such_var")]
    [InlineData("consumer", null)]
    [InlineData("vars_combinations", "no dollar here")]
    [InlineData("vars_combinations", "$unset_one")]
    [InlineData("something_else", "k")]
    public void Missing_key_falls_back_to_remote_addr_with_a_warning(string hashOn, string? key)
    {
        var (ctx, log) = NewCtx("127.0.0.1");
        ChashPicker.FetchHashKey(ctx, Up(hashOn, key)).Should().Be("127.0.0.1");
        log.Lines.Should().ContainSingle(l => l.Contains("[warn]") && l.Contains("chash_key fetch is nil, use default chash_key remote_addr: 127.0.0.1"));
        log.Lines.Should().Contain(l => l.Contains("chash_key: \"127.0.0.1\""));
        // and the pick is that of key "127.0.0.1": the C node
        Pick(new ChashPicker(Abc, Up(hashOn, key)), ctx).Should().Be(C);
    }

    [Fact]
    public void Vars_combinations_template_rules()
    {
        var (ctx, _) = NewCtx();
        ctx.Var.Set("x", "1");
        ChashPicker.ResolveVar("$x-${ missing ?? dflt }-$missing", ctx.Var).Should().Be(("1-dflt-", 2));
        ChashPicker.ResolveVar(@"\$x and $x", ctx.Var).Should().Be((@"\$x and 1", 1));
        ChashPicker.ResolveVar("plain", ctx.Var).Should().Be(("plain", 0));
        ChashPicker.ResolveVar("$missing", ctx.Var).Should().Be(("", 0));
    }

    [Fact]
    public void Factory_builds_the_type_named()
    {
        Pickers.New("chash", Abc, Up("vars", "k")).Should().BeOfType<ChashPicker>();
        Pickers.New("roundrobin", Abc, Up(null, null)).Should().BeOfType<RoundRobinPicker>();
        Pickers.New("least_conn", Abc, Up(null, null)).Should().BeOfType<LeastConnPicker>();
        Pickers.Create("ewma", Abc, Up(null, null)).Should().Be(((IServerPicker?)null, "dictionary not find"));
        var act = () => Pickers.New("fastest", Abc, Up(null, null));
        act.Should().Throw<NotSupportedException>().WithMessage("*apisix.balancer.fastest*");
        var chash = (ChashPicker)Pickers.New("chash", Abc, Up("header", "h"));
        chash.Upstream!["hash_on"]!.GetValue<string>().Should().Be("header");
    }
}
