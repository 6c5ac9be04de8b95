using System.Text.Json.Nodes;
using Apisix.Core.Healthcheck;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Healthcheck;

public class HealthcheckerTests
{
    private const string Name = "upstream#/apisix/routes/hc";

    private static JsonObject Checks(string path = "/status", int failures = 2, int successes = 2, double timeout = 1) => new()
    {
        ["active"] = new JsonObject
        {
            ["type"] = "http",
            ["http_path"] = path,
            ["timeout"] = timeout,
            ["healthy"] = new JsonObject { ["interval"] = 0.1, ["successes"] = successes },
            ["unhealthy"] = new JsonObject { ["interval"] = 0.1, ["http_failures"] = failures, ["tcp_failures"] = failures, ["timeouts"] = failures },
        },
    };

    private static async Task<Healthchecker> NewChecker(HealthcheckWorld w, int worker, JsonObject checks, string name = Name)
    {
        var (c, err) = await w.On(worker, () => Healthchecker.New(w.Worker(worker), name, HealthcheckManager.ShdictName, checks));
        err.Should().BeNull();
        return c!;
    }

    private static Task<bool?> Status(HealthcheckWorld w, Healthchecker c, int port = 1980, int worker = 0) =>
        w.On(worker, () => c.GetTargetStatus("127.0.0.1", port).Status);

    [Fact]
    public async Task A_failing_target_turns_unhealthy_then_healthy_again_with_status_ver_bumps()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        w.Status = 500;
        var c = await NewChecker(w, 0, Checks());
        (await w.On(() => c.AddTarget("127.0.0.1", 1980))).Ok.Should().BeTrue();

        // the add is an event: the worker's view learns the target (nil -> healthy counts as a change)
        await w.Until(async () => await Status(w, c) == true, "target added as healthy");
        (await w.On(() => c.StatusVer)).Should().Be(1);

        await w.Until(async () => await Status(w, c) == false, "target unhealthy");
        w.Logged("[healthcheck] (upstream#/apisix/routes/hc) unhealthy HTTP increment (1/2) for '127.0.0.1(127.0.0.1:1980)'").Should().BeTrue(w.Dump());
        w.Logged("unhealthy HTTP increment (2/2) for '127.0.0.1(127.0.0.1:1980)'").Should().BeTrue();
        w.Logged("event: target status '127.0.0.1(127.0.0.1:1980)' from 'true' to 'false', ver: 2").Should().BeTrue(w.Dump());
        w.Logged("[warn]").Should().BeTrue();
        (await w.On(() => c.StatusVer)).Should().Be(2);
        w.Probes.Should().Contain(p => p.Path == "/status" && p.Host == "127.0.0.1");

        w.Status = 200;
        await w.Until(async () => await Status(w, c) == true, "target healthy again");
        w.Logged("healthy SUCCESS increment (1/2) for '127.0.0.1(127.0.0.1:1980)'").Should().BeTrue(w.Dump());
        w.Logged("healthy SUCCESS increment (2/2) for '127.0.0.1(127.0.0.1:1980)'").Should().BeTrue();
        w.Logged("event: target status '127.0.0.1(127.0.0.1:1980)' from 'false' to 'true', ver: 3").Should().BeTrue(w.Dump());
        (await w.On(() => c.StatusVer)).Should().Be(3);
    }

    [Fact]
    public async Task One_failure_below_the_limit_keeps_the_target_healthy()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        w.Status = 200;
        var c = await NewChecker(w, 0, Checks(failures: 3));
        await w.On(() => c.AddTarget("127.0.0.1", 1980));
        await w.Until(async () => await Status(w, c) == true, "target known");

        // a passive report of one 500 (passive http_failures defaults to 5): mostly healthy, still counted as healthy, no version bump
        await w.On(() => c.ReportHttpStatus("127.0.0.1", 1980, null, 500));
        await w.Until(() => w.Logged("event: target status '127.0.0.1(127.0.0.1:1980)' from 'true' to 'true', ver: 1"), "mostly_healthy event");
        (await Status(w, c)).Should().BeTrue();
        (await w.On(() => c.StatusVer)).Should().Be(1);
        w.Logged("unhealthy HTTP increment (1/5) for '127.0.0.1(127.0.0.1:1980)'").Should().BeTrue();
    }

    [Fact]
    public async Task Refused_connections_count_as_tcp_failures()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        var c = await NewChecker(w, 0, Checks());
        await w.On(() => c.AddTarget("127.0.0.1", 1981));
        await w.Until(async () => await Status(w, c, 1981) == false, "refusing target unhealthy");
        w.Logged("unhealthy TCP increment (2/2) for '127.0.0.1(127.0.0.1:1981)'").Should().BeTrue(w.Dump());
        w.Logged("connect() failed (111: Connection refused)").Should().BeTrue();
    }

    [Fact]
    public async Task A_probe_that_gets_no_answer_counts_as_a_timeout()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        var c = await NewChecker(w, 0, Checks(path: "/hang", timeout: 0.2));
        await w.On(() => c.AddTarget("127.0.0.1", 1980));
        await w.Until(async () => await Status(w, c) == false, "hanging target unhealthy");
        w.Logged("unhealthy TIMEOUT increment (1/2) for '127.0.0.1(127.0.0.1:1980)'").Should().BeTrue(w.Dump());
        w.Logged("failed to receive status line from '127.0.0.1 (127.0.0.1:1980)': timeout").Should().BeTrue();
    }

    [Fact]
    public async Task Target_state_lives_in_the_shm_and_is_seen_by_other_workers()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        w.Status = 503;
        var c0 = await NewChecker(w, 0, Checks());
        await w.On(() => c0.AddTarget("127.0.0.1", 1980));
        await w.Until(async () => await Status(w, c0) == false, "unhealthy on worker 0");

        // a checker of the same name created on worker 1 loads the list and states from the shm
        var c1 = await NewChecker(w, 1, Checks());
        (await Status(w, c1, worker: 1)).Should().BeFalse();
        w.Logged("Got initial status unhealthy 127.0.0.1 127.0.0.1:1980").Should().BeTrue(w.Dump());

        // and follows later changes through events
        w.Status = 200;
        await w.Until(async () => await Status(w, c1, worker: 1) == true, "healthy as seen from worker 1");
        (await w.On(1, () => c1.StatusVer)).Should().Be(1);
    }

    [Fact]
    public async Task Counters_ignore_reports_for_unknown_targets_and_limits_of_zero()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        var checks = Checks();
        checks["active"]!["healthy"]!["interval"] = 0;
        checks["active"]!["unhealthy"]!["interval"] = 0;
        checks["passive"] = new JsonObject { ["unhealthy"] = new JsonObject { ["http_failures"] = 0 } };
        var c = await NewChecker(w, 0, checks);
        (await w.On(() => c.ReportTimeout("10.0.0.1", 80))).Ok.Should().BeTrue();
        w.Logged("trying to increment a target that is not in the list: (10.0.0.1) 10.0.0.1:80").Should().BeTrue(w.Dump());

        await w.On(() => c.AddTarget("127.0.0.1", 1980));
        await w.Until(async () => await Status(w, c) == true, "target known");
        for (var i = 0; i < 6; i++) await w.On(() => c.ReportHttpStatus("127.0.0.1", 1980, null, 500));
        await Task.Delay(100);
        (await Status(w, c)).Should().BeTrue();
        w.Logged("unhealthy HTTP increment").Should().BeFalse();
        w.Connects.Should().Be(0, "intervals of 0 disable active probes");
    }

    [Fact]
    public async Task Bad_settings_are_rejected()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        var bad = Checks();
        bad["active"]!["timeout"] = "soon";
        var (c, err) = await w.On(() => Healthchecker.New(w.Worker(), Name, HealthcheckManager.ShdictName, bad));
        c.Should().BeNull();
        err.Should().Be("checks.active.timeout: invalid value");

        var (c2, err2) = await w.On(() => Healthchecker.New(w.Worker(), Name, "no-such-dict", Checks()));
        c2.Should().BeNull();
        err2.Should().Be("no shm found by name 'no-such-dict'");
    }

    [Fact]
    public async Task Disposing_the_nginx_stops_the_probes()
    {
        await using var w = await HealthcheckWorld.StartAsync();
        var c = await NewChecker(w, 0, Checks());
        await w.On(() => c.AddTarget("127.0.0.1", 1980));
        await w.Until(() => w.Connects >= 3, "probes running");
        await w.StopNginxAsync();
        var after = w.Connects;
        await Task.Delay(600);
        w.Connects.Should().Be(after);
    }
}
