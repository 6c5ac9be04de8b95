using Apisix.Core.OpenResty;
using Apisix.Core.Plugins.Builtin.Prometheus;
using Xunit;

namespace Apisix.Tests.Plugins.Prometheus;

public class PrometheusLibTests
{
    private static PrometheusLib New(out SharedDict dict)
    {
        dict = new SharedDict("prometheus-metrics", 1 << 20);
        return new PrometheusLib(dict, "apisix_");
    }

    [Fact]
    public void Series_are_sorted_by_key_with_help_and_type_before_the_first_of_each_metric()
    {
        var prom = New(out _);
        var status = prom.Counter("http_status", "HTTP status codes", ["code", "route"]);
        var info = prom.Gauge("node_info", "Info of node", ["hostname"]);
        status.Inc(1, ["404", "2"]);
        status.Inc(1, ["200", "1"]);
        status.Inc(2, ["200", "1"]);
        info.Set(1, ["box"]);
        var text = string.Concat(prom.MetricData());
        Assert.Equal(
            "# HELP apisix_http_status HTTP status codes\n" +
            "# TYPE apisix_http_status counter\n" +
            "apisix_http_status{code=\"200\",route=\"1\"} 3\n" +
            "apisix_http_status{code=\"404\",route=\"2\"} 1\n" +
            "# HELP apisix_nginx_metric_errors_total Number of nginx-lua-prometheus errors\n" +
            "# TYPE apisix_nginx_metric_errors_total counter\n" +
            "apisix_nginx_metric_errors_total 0\n" +
            "# HELP apisix_node_info Info of node\n" +
            "# TYPE apisix_node_info gauge\n" +
            "apisix_node_info{hostname=\"box\"} 1\n", text);
    }

    [Fact]
    public void A_histogram_writes_every_bucket_in_numeric_order_then_count_and_sum()
    {
        var prom = New(out _);
        var h = prom.Histogram("lat", "latency", ["type"], [5, 50, 500, 0.5]);
        h.Observe(42, ["request"]);
        var lines = prom.MetricData().Where(l => l.StartsWith("apisix_lat", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[]
        {
            "apisix_lat_bucket{type=\"request\",le=\"0.5\"} 0\n",
            "apisix_lat_bucket{type=\"request\",le=\"5\"} 0\n",
            "apisix_lat_bucket{type=\"request\",le=\"50\"} 1\n",
            "apisix_lat_bucket{type=\"request\",le=\"500\"} 1\n",
            "apisix_lat_bucket{type=\"request\",le=\"+Inf\"} 1\n",
            "apisix_lat_count{type=\"request\"} 1\n",
            "apisix_lat_sum{type=\"request\"} 42\n",
        }, lines);
    }

    [Fact]
    public void Label_values_are_escaped_and_a_wrong_label_count_is_an_error_not_a_series()
    {
        var prom = New(out _);
        var errors = new List<string>();
        var lib = new PrometheusLib(new SharedDict("d", 1 << 20), "x_", errors.Add);
        var c = lib.Counter("c", "help", ["a"]);
        c.Inc(1, ["say \"hi\"\\\n"]);
        c.Inc(1, ["1", "2"]);
        var text = string.Concat(lib.MetricData());
        Assert.Contains("x_c{a=\"say \\\"hi\\\"\\\\\\n\"} 1\n", text);
        Assert.Contains("x_nginx_metric_errors_total 1\n", text);
        Assert.Equal(["Wrong number of labels for x_c. Expected 1, got 2"], errors);
        _ = prom;
    }

    [Fact]
    public void Series_live_in_the_shared_dict_so_a_new_instance_sees_them()
    {
        var first = New(out var dict);
        first.Counter("bandwidth", "bytes", ["type"]).Inc(10, ["egress"]);
        var second = new PrometheusLib(dict, "apisix_");
        second.Counter("bandwidth", "bytes", ["type"]).Inc(5, ["egress"]);
        Assert.Contains("apisix_bandwidth{type=\"egress\"} 15\n", string.Concat(second.MetricData()));
    }

    [Fact]
    public void A_gauge_moved_up_then_down_with_alternating_label_values_keeps_each_series_apart()
    {
        // the last series key is reused only for the very same values
        var prom = New(out _);
        var g = prom.Gauge("active", "help", ["route", "model"]);
        g.Inc(1, ["r1", "m\\1"]);
        g.Inc(1, ["r1", "m2"]);
        g.Inc(1, ["r1", "m\\1"]);
        g.Inc(-1, ["r1", "m2"]);
        g.Inc(1, ["r2", "m2"]);
        var text = string.Concat(prom.MetricData());
        Assert.Contains("apisix_active{route=\"r1\",model=\"m\\\\1\"} 2\n", text);
        Assert.Contains("apisix_active{route=\"r1\",model=\"m2\"} 0\n", text);
        Assert.Contains("apisix_active{route=\"r2\",model=\"m2\"} 1\n", text);
    }
}
