// Twin of the `prometheus` Lua library APISIX depends on (nginx-lua-prometheus, api7's build)
using System.Globalization;
using System.Text;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin.Prometheus;

/// <summary>
/// The metric library under APISIX's exporter: counters, gauges and histograms whose series live
/// in one shared dict (<c>prometheus-metrics</c>), so every worker adds to the same numbers and
/// they outlive a reload. A series is one dict key, the metric's full name with its labels
/// (<c>apisix_http_status{code="200",route="1"}</c>); a histogram keeps a key per bucket (its
/// bound zero-padded so that keys sort in numeric order), plus <c>_sum</c> and <c>_count</c>.
/// <see cref="MetricData"/> writes the text exposition format: keys sorted byte by byte, a
/// <c># HELP</c> and <c># TYPE</c> pair before the first series of each metric, bucket bounds
/// written back as numbers (<c>le="5"</c>, <c>le="+Inf"</c>).
/// </summary>
public sealed class PrometheusLib
{
    public const string ErrorMetricName = "nginx_metric_errors_total";

    private readonly SharedDict _dict;
    private readonly Dictionary<string, Metric> _registry = new(StringComparer.Ordinal);
    private readonly Action<string>? _logError;

    /// <summary><c>prometheus.init(dict_name, prefix)</c>: the error counter starts at 0.</summary>
    public PrometheusLib(SharedDict dict, string prefix, Action<string>? logError = null)
    {
        _dict = dict;
        Prefix = prefix;
        _logError = logError;
        ErrorCounter = Counter(ErrorMetricName, "Number of nginx-lua-prometheus errors");
        if (_dict.Get(Prefix + ErrorMetricName).Value == null) _dict.Store("set", Prefix + ErrorMetricName, 0.0, 0, 0);
    }

    public string Prefix { get; }

    private Metric ErrorCounter { get; }

    public enum Kind { Counter, Gauge, Histogram }

    /// <summary>One registered metric; its methods take label values in the order of its label names.</summary>
    public sealed class Metric
    {
        private readonly PrometheusLib _lib;
        private readonly string[] _bucketKeys = [];

        internal Metric(PrometheusLib lib, Kind kind, string name, string help, IReadOnlyList<string> labelNames,
            IReadOnlyList<double>? buckets, double exptime)
        {
            _lib = lib;
            Kind = kind;
            Name = name;
            Help = help;
            LabelNames = labelNames;
            Exptime = exptime;
            if (buckets != null)
            {
                Buckets = buckets;
                var format = BucketFormat(buckets);
                _bucketKeys = buckets.Select(b => Sprintf(format, b)).ToArray();
            }
        }

        // the series keys made so far, found again from their text without a new string
        // label values come from requests: a bounded number of keys is remembered
        private readonly Apisix.Core.Utils.StringPool _keys = new(4096);
        [ThreadStatic] private static char[]? _keyBuffer;

        /// <summary>
        /// The series key: <c>name{label="value",...}</c>, values escaped (backslash, newline and
        /// double quote), or the bare name for a metric without labels.
        /// </summary>
        internal string Key(IReadOnlyList<string?>? values)
        {
            if (LabelNames.Count == 0) return Name;
            // a series is usually moved again with the same values (a gauge's inc then dec, one
            // route's requests): the last key made is given back when they are the same
            var last = _lastKey;
            if (last != null && SameValues(last.Values, values!)) return last.Key;
            var key = BuildKey(values);
            var copy = new string?[LabelNames.Count];
            for (var i = 0; i < copy.Length; i++) copy[i] = values![i];
            _lastKey = new LastKey(copy, key);
            return key;
        }

        private sealed record LastKey(string?[] Values, string Key);
        private LastKey? _lastKey;

        private static bool SameValues(string?[] known, IReadOnlyList<string?> values)
        {
            for (var i = 0; i < known.Length; i++)
                if (!string.Equals(known[i], values[i], StringComparison.Ordinal)) return false;
            return true;
        }

        private string BuildKey(IReadOnlyList<string?>? values)
        {
            var buf = _keyBuffer ??= new char[256];
            var len = 0;
            void Put(ReadOnlySpan<char> text)
            {
                if (len + text.Length > buf.Length) Array.Resize(ref buf, Math.Max(buf.Length * 2, len + text.Length));
                text.CopyTo(buf.AsSpan(len));
                len += text.Length;
            }
            Put(Name);
            Put("{");
            for (var i = 0; i < LabelNames.Count; i++)
            {
                if (i > 0) Put(",");
                Put(LabelNames[i]);
                Put("=\"");
                var v = (values![i] ?? "").AsSpan();
                int j;
                while ((j = v.IndexOfAny('\\', '\n', '"')) >= 0)
                {
                    Put(v[..j]);
                    Put(v[j] switch { '\\' => "\\\\", '\n' => "\\n", _ => "\\\"" });
                    v = v[(j + 1)..];
                }
                Put(v);
                Put("\"");
            }
            Put("}");
            _keyBuffer = buf;
            return _keys.Get(buf.AsSpan(0, len));
        }

        public Kind Kind { get; }
        public string Name { get; }
        public string Help { get; }
        public IReadOnlyList<string> LabelNames { get; }
        public IReadOnlyList<double> Buckets { get; } = [];
        public double Exptime { get; }

        /// <summary><c>counter:inc(value, label_values)</c>, <c>gauge:inc</c>.</summary>
        public void Inc(double? value, IReadOnlyList<string?>? labelValues = null)
        {
            if (!_lib.CheckLabels(this, labelValues, out var key)) return;
            if (value == null) { _lib.Error("No value passed for " + Name); return; }
            if (Kind == Kind.Counter && value < 0) { _lib.Error("Counter increment should not be negative"); return; }
            _lib.Add(key!, value.Value, Exptime);
        }

        /// <summary><c>gauge:set(value, label_values)</c>.</summary>
        public void Set(double? value, IReadOnlyList<string?>? labelValues = null)
        {
            if (!_lib.CheckLabels(this, labelValues, out var key)) return;
            if (value == null) { _lib.Error("No value passed for " + Name); return; }
            _lib._dict.Store("set", key!, value.Value, Exptime, 0);
        }

        /// <summary><c>histogram:observe(value, label_values)</c>: count, sum and every bucket the value fits in.</summary>
        public void Observe(double? value, IReadOnlyList<string?>? labelValues = null)
        {
            if (!_lib.CheckLabels(this, labelValues, out _)) return;
            if (value == null) { _lib.Error("No value passed for " + Name); return; }
            var labels = LabelPart(LabelNames, labelValues);
            _lib.Add(Name + "_count" + Braces(labels), 1, Exptime);
            _lib.Add(Name + "_sum" + Braces(labels), value.Value, Exptime);
            var sep = labels.Length > 0 ? labels + "," : "";
            // every bucket of the series exists from its first observation (at 0 when the value is above it)
            for (var i = 0; i < Buckets.Count; i++)
                _lib.Add(Name + "_bucket{" + sep + "le=\"" + _bucketKeys[i] + "\"}", value.Value <= Buckets[i] ? 1 : 0, Exptime);
            _lib.Add(Name + "_bucket{" + sep + "le=\"Inf\"}", 1, Exptime);
        }
    }

    public Metric Counter(string name, string help, IReadOnlyList<string>? labels = null, double exptime = 0) =>
        Register(Kind.Counter, name, help, labels, null, exptime);

    public Metric Gauge(string name, string help, IReadOnlyList<string>? labels = null, double exptime = 0) =>
        Register(Kind.Gauge, name, help, labels, null, exptime);

    public Metric Histogram(string name, string help, IReadOnlyList<string>? labels, IReadOnlyList<double> buckets, double exptime = 0) =>
        Register(Kind.Histogram, name, help, labels, buckets, exptime);

    private Metric Register(Kind kind, string name, string help, IReadOnlyList<string>? labels, IReadOnlyList<double>? buckets, double exptime)
    {
        var full = Prefix + name;
        var metric = new Metric(this, kind, full, help, labels ?? [], buckets, exptime);
        _registry[full] = metric;
        return metric;
    }

    private void Error(string message)
    {
        _logError?.Invoke(message);
        _dict.Incr(Prefix + ErrorMetricName, 1, 0, 0);
    }

    private void Add(string key, double value, double exptime)
    {
        var (_, err) = _dict.Incr(key, value, 0, exptime);
        if (err != null) { Error("Error while incrementing '" + key + "': " + err); return; }
        if (exptime > 0) _dict.Expire(key, exptime);
    }

    private bool CheckLabels(Metric metric, IReadOnlyList<string?>? values, out string? key)
    {
        key = null;
        var n = values?.Count ?? 0;
        // a Lua array ends at its first nil
        if (values != null) for (var i = 0; i < values.Count; i++) if (values[i] == null) { n = i; break; }
        if (n != metric.LabelNames.Count)
        {
            Error("Wrong number of labels for " + metric.Name + ". Expected " + metric.LabelNames.Count + ", got " + n);
            return false;
        }
        key = metric.Key(values);
        return true;
    }

    private static string Braces(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

    private static string LabelPart(IReadOnlyList<string> names, IReadOnlyList<string?>? values)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < names.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(names[i]).Append("=\"").Append(Escape(values![i] ?? "")).Append('"');
        }
        return sb.ToString();
    }

    /// <summary>Label values escape backslash, newline and double quote.</summary>
    private static string Escape(string v) =>
        v.AsSpan().IndexOfAny('\\', '\n', '"') < 0 ? v
        : v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>
    /// The printf format that writes every bound with the same width: as many digits before the
    /// point as the largest bound has, as many after as the most precise one (at least one each).
    /// </summary>
    private static (int Width, int Precision) BucketFormat(IReadOnlyList<double> buckets)
    {
        int maxOrder = 1, maxPrecision = 1;
        foreach (var b in buckets)
        {
            var s = b.ToString("F6", CultureInfo.InvariantCulture).TrimEnd('0');
            var dot = s.IndexOf('.');
            maxOrder = Math.Max(maxOrder, dot);
            maxPrecision = Math.Max(maxPrecision, s.Length - dot - 1);
        }
        return (maxOrder + maxPrecision + 1, maxPrecision);
    }

    private static string Sprintf((int Width, int Precision) f, double v)
    {
        var s = v.ToString("F" + f.Precision, CultureInfo.InvariantCulture);
        return s.Length >= f.Width ? s : (s[0] == '-' ? "-" + s[1..].PadLeft(f.Width - 1, '0') : s.PadLeft(f.Width, '0'));
    }

    // "name_bucket{...}" and the like belong to the metric "name"
    private Metric? MetricOf(string key)
    {
        var brace = key.IndexOf('{');
        var name = brace < 0 ? key : key[..brace];
        if (_registry.TryGetValue(name, out var m)) return m;
        foreach (var suffix in new[] { "_bucket", "_count", "_sum" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal)
                && _registry.TryGetValue(name[..^suffix.Length], out m) && m.Kind == Kind.Histogram)
                return m;
        }
        return null;
    }

    // le="00005.0" is written back as le="5", le="Inf" as le="+Inf"
    private static string FixBucketLabel(string key)
    {
        var at = key.LastIndexOf(",le=\"", StringComparison.Ordinal);
        if (at < 0) at = key.LastIndexOf("{le=\"", StringComparison.Ordinal);
        if (at < 0) return key;
        var start = at + 5;
        var end = key.IndexOf('"', start);
        if (end < 0) return key;
        var bound = key[start..end];
        var text = bound == "Inf" ? "+Inf"
            : double.TryParse(bound, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? LuaNumber.ToLuaString(d) : bound;
        return key[..start] + text + key[end..];
    }

    private static readonly Dictionary<Kind, string> TypeLiteral = new()
    {
        [Kind.Counter] = "counter", [Kind.Gauge] = "gauge", [Kind.Histogram] = "histogram",
    };

    /// <summary><c>prometheus:metric_data()</c>: the exposition text, one string per line.</summary>
    public List<string> MetricData()
    {
        var keys = _dict.Keys(0);
        keys.Sort(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var output = new List<string>();
        foreach (var key in keys)
        {
            if (_dict.Get(key).Value is not double value) continue;
            // a series whose metric this worker did not register is still written, without HELP/TYPE
            var metric = MetricOf(key);
            if (metric != null && seen.Add(metric.Name))
            {
                output.Add("# HELP " + metric.Name + " " + metric.Help + "\n");
                output.Add("# TYPE " + metric.Name + " " + TypeLiteral[metric.Kind] + "\n");
            }
            output.Add(FixBucketLabel(key) + " " + LuaNumber.ToLuaString(value) + "\n");
        }
        return output;
    }
}
