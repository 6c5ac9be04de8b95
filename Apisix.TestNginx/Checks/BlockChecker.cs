using System.Text.RegularExpressions;
using Apisix.TestNginx.Client;
using Apisix.TestNginx.Parsing;
using Apisix.TestNginx.Perl;

namespace Apisix.TestNginx.Checks;

/// <summary>
/// Test::Nginx::Socket's checks of one block, given what the requests got back and what the logs hold.
/// <para>Per request, in this order: transport errors (a timeout fails unless <c>abort</c>), then — unless
/// <c>ignore_response</c> — <c>error_code</c>/<c>error_code_like</c>, <c>raw_response_headers_like</c>/<c>_unlike</c>,
/// <c>response_headers</c> (or else <c>response_headers_like</c>), and <c>response_body</c>/<c>response_body_eval</c>
/// (or else <c>response_body_like</c>, or else <c>response_body_unlike</c>). With several requests every
/// expectation must be an array with one entry per request.</para>
/// <para>Once per block: <c>grep_error_log</c>/<c>grep_error_log_out</c>, <c>error_log</c>, <c>no_error_log</c>,
/// warnings for [alert]/[crit]/[emerg] lines (unless a pattern mentions them), failures for
/// <c>Assertion ... failed</c> lines, then — unless <c>ignore_response</c> — <c>access_log</c>/<c>no_access_log</c>.</para>
/// <para>Log lines may be given with or without their trailing newline; a missing one is added, as
/// Test::Nginx reads whole lines. Test::Nginx re-reads the error log after each request of a multi-request
/// block; here the logs are checked once, over everything.</para>
/// <para>Sections Test::Nginx does not know, such as <c>response_body_chomp</c>, are never read.</para>
/// </summary>
public sealed partial class BlockChecker(CheckOptions? options = null)
{
    private readonly CheckOptions _options = options ?? new CheckOptions();

    // Sections this checker does not implement; their presence is reported as a warning.
    private static readonly string[] Unsupported = ["response_body_json_sort", "response_body_filters", "charset", "stap"];

    public static BlockCheckResult Run(TestBlock block, IReadOnlyList<HttpResult> results,
        IReadOnlyList<string> errorLog, IReadOnlyList<string> accessLog, CheckOptions? options = null) =>
        new BlockChecker(options).Check(block, results, [errorLog], [accessLog]);

    /// <summary>
    /// As Test::Nginx checks: the logs after each request (connection). The error log each time
    /// against the lines written since the previous check (<paramref name="errorLogPerRequest"/>),
    /// the access log against all of it so far (<paramref name="accessLogPerRequest"/>); one
    /// entry per request, a single entry is checked once.
    /// </summary>
    public static BlockCheckResult RunPerRequest(TestBlock block, IReadOnlyList<HttpResult> results,
        IReadOnlyList<IReadOnlyList<string>> errorLogPerRequest, IReadOnlyList<IReadOnlyList<string>> accessLogPerRequest,
        CheckOptions? options = null, IReadOnlyList<string>? shutdownErrorLog = null) =>
        new BlockChecker(options).Check(block, results, errorLogPerRequest, accessLogPerRequest, shutdownErrorLog);

    public BlockCheckResult Check(TestBlock block, IReadOnlyList<HttpResult> results,
        IReadOnlyList<IReadOnlyList<string>> errorLogPerRequest, IReadOnlyList<IReadOnlyList<string>> accessLogPerRequest,
        IReadOnlyList<string>? shutdownErrorLog = null)
    {
        var run = new Session(block, _options);
        foreach (var name in Unsupported.Where(block.Has))
            run.Result.Warnings.Add($"WARNING: {block.Name} - --- {name} is not supported by this runner; not checked");

        var needArray = block.Has("pipelined_requests") || results.Count > 1;
        for (var i = 0; i < results.Count; i++)
            run.CheckResponse(results[i], i, needArray);

        for (var i = 0; i < Math.Max(errorLogPerRequest.Count, accessLogPerRequest.Count); i++)
        {
            if (i < errorLogPerRequest.Count) run.CheckErrorLog(Lines(errorLogPerRequest[i]));
            if (i < accessLogPerRequest.Count && !block.Has("ignore_response"))
                run.CheckAccessLog(Lines(accessLogPerRequest[i]));
        }
        // Test::Nginx stops nginx for these sections, then reads the whole error log
        if (shutdownErrorLog != null) run.CheckShutdownErrorLog(Lines(shutdownErrorLog));
        return run.Result;
    }

    private static List<string> Lines(IReadOnlyList<string> lines) =>
        lines.Select(l => l.EndsWith('\n') ? l : l + "\n").ToList();

    /// <summary>The state of checking one block.</summary>
    private sealed class Session(TestBlock block, CheckOptions options)
    {
        public BlockCheckResult Result { get; } = new();
        private string Name => block.Name;
        private int Max => options.MaxShownChars;

        // ---- Test::More primitives -------------------------------------------------------------

        private void Pass(string name) => Result.Passed.Add(name);

        private void Fail(string name, string? section = null, IEnumerable<string>? details = null) =>
            Result.Failures.Add(new CheckFailure(name, [.. Diagnostics.FailedTest(name, Where(section)), .. details ?? []]));

        private void Is(string? got, string? expected, string name, string? section)
        {
            if (got == expected) Pass(name);
            else Fail(name, section, Diagnostics.Is(got, expected, Max));
        }

        private void Like(string? got, PerlRegex regex, string shown, string name, string? section, bool negated = false)
        {
            Regex compiled;
            try
            {
                compiled = PerlRegexTranslator.Compile(regex);
            }
            catch (PerlRegexException e)
            {
                Fail(name, section, [$"#   {e.Message}"]);
                return;
            }
            bool matched;
            try
            {
                matched = compiled.IsMatch(got ?? "");
            }
            catch (RegexMatchTimeoutException)
            {
                Fail(name, section, [$"#   the regex '{shown}' took too long to match"]);
                return;
            }
            if (matched != negated) Pass(name);
            else Fail(name, section, Diagnostics.Like(got, shown, negated, Max));
        }

        private string? Where(string? section) =>
            section != null && block.SectionLines.TryGetValue(section, out var line) ? $"--- {section}, line {line}" : null;

        // Test::Nginx's get_indexed_value: with several requests, expectations must be arrays.
        private bool Indexed(string section, PerlValue value, int index, bool needArray, out PerlValue? item)
        {
            item = null;
            if (value is PerlArray list)
            {
                if (!needArray && index != 0) return false;
                item = index < list.Items.Count && list.Items[index] is not PerlUndef ? list.Items[index] : null;
                return true;
            }
            if (needArray)
            {
                Fail($"{Name} - You asked for many requests, the expected results should be arrays as well.", section);
                return false;
            }
            item = value;
            return true;
        }

        private string Substitute(string text)
        {
            text = ServerPortVar().Replace(text, options.ServerPort.ToString());
            return ServerPortForClientVar().Replace(text, (options.ServerPortForClient ?? options.ServerPort).ToString());
        }

        private string ExpandEnv(string text) => TestNginxEnv.Expand(text, options.Environment, name =>
        {
            Fail(TestNginxEnv.Unset(Name, name));
            return "$" + name;
        });

        // ---- per request -----------------------------------------------------------------------

        public void CheckResponse(HttpResult r, int index, bool needArray)
        {
            if (r.TimedOut)
            {
                if (!block.Has("abort")) Fail($"{HttpResult.TimeoutError} - {Name}", "timeout");
            }
            else if (r.Error != null)
            {
                Fail($"{Name} - {r.Error}");
            }
            foreach (var w in r.Warnings) Result.Warnings.Add($"WARNING: {Name} - {w}");
            if (r.ParseError != null) Fail($"{Name} - {r.ParseError}");
            if (r.Leftover.Length > 0 && !needArray)
                Result.Warnings.Add($"WARNING: {Name} - unexpected extra bytes after last chunk in response: \"{EscapeBytes(r.Leftover)}\"");

            if (block.Has("ignore_response")) return;
            var parsed = r.ParseError == null;
            CheckStatus(parsed && r.Status != 0 ? r.Status.ToString() : "", index, needArray);
            CheckRawHeaders(parsed ? r.RawHeaders : "", index, needArray);
            CheckHeaders(parsed ? r : null, index, needArray);
            CheckBody(parsed ? r.Body : null, index, needArray);
        }

        private void CheckStatus(string got, int index, bool needArray)
        {
            var name = $"{Name} - status code ok";
            if (block.Get("error_code_like") is { } like)
            {
                if (Indexed("error_code_like", like, index, needArray, out var v))
                    Like(got, AsRegex(v, "ms"), ShowInterpolated(v, "ms"), name, "error_code_like");
            }
            else if (block.Get("error_code") is { } code)
            {
                if (Indexed("error_code", code, index, needArray, out var v))
                    Is(got, v?.ToString(), name, "error_code");
            }
            else Is(got, "200", name, null);
        }

        private void CheckRawHeaders(string raw, int index, bool needArray)
        {
            foreach (var (section, negated, label) in new[]
                     { ("raw_response_headers_like", false, "like"), ("raw_response_headers_unlike", true, "unlike") })
            {
                if (block.Get(section) is not { } value || !Indexed(section, value, index, needArray, out var v)) continue;
                Like(raw, AsRegex(v, "s"), ShowInterpolated(v, "s"), $"{Name} - raw resp headers {label}", section, negated);
            }
        }

        private void CheckHeaders(HttpResult? r, int index, bool needArray)
        {
            if (block.Get("response_headers") is { } exact)
            {
                if (!Indexed("response_headers", exact, index, needArray, out var v)) return;
                foreach (var (key, expected) in ParseHeaders(v?.ToString() ?? ""))
                {
                    if (expected == null)
                    {
                        // Test::Nginx looks for the name in the raw header lines, case-sensitively.
                        var absent = new PerlRegex($@"^\s*\Q{key}\E\s*:", "ms");
                        Like(r?.RawHeaders ?? "", absent, absent.ToString(), $"{Name} - header {key} not present in the raw headers",
                            "response_headers", negated: true);
                        continue;
                    }
                    Is(r?.Header(key) ?? "", Substitute(expected), $"{Name} - header {key} ok", "response_headers");
                }
            }
            else if (block.Get("response_headers_like") is { } like)
            {
                if (!Indexed("response_headers_like", like, index, needArray, out var v)) return;
                foreach (var (key, pattern) in ParseHeaders(v?.ToString() ?? ""))
                {
                    var regex = new PerlRegex($"^{pattern ?? ""}$", "");
                    Like(r?.Header(key) ?? "", regex, regex.ToString(), $"{Name} - header {key} like ok", "response_headers_like");
                }
            }
        }

        private void CheckBody(string? content, int index, bool needArray)
        {
            if (content != null) content = TestNginxNoise().Replace(content, "");

            if (block.Has("response_body") || block.Has("response_body_eval"))
            {
                PerlValue? expected;
                string section;
                if (Truthy(block.Get("response_body_eval")))
                {
                    section = "response_body_eval";
                    Result.Warnings.Add($"WARNING: {Name} - response_body_eval is DEPRECATED. Use response_body eval instead.");
                    if (!Indexed(section, block.Get(section)!, index, needArray, out var code)) return;
                    expected = EvalPerl(code);
                }
                else
                {
                    section = "response_body";
                    if (!Indexed(section, block.Get(section) ?? PerlValue.Undef, index, needArray, out expected)) return;
                }

                switch (expected)
                {
                    case PerlRegex regex:
                        Like(content, regex, regex.ToString(), $"{Name} - response_body - like (repeated req {options.Repetition}, req {index})", section);
                        break;
                    case PerlArray:
                        Fail($"{Name} - response_body - like (repeated req {options.Repetition}, req {index})", section,
                            ["#   the expected value is an array reference; give one string or regex per request"]);
                        break;
                    default:
                        var text = expected?.ToString();
                        if (text != null) text = ExpandEnv(Substitute(text));
                        Is(content, text, $"{Name} - response_body - response is expected (repeated req {options.Repetition}, req {index})", section);
                        break;
                }
                return;
            }

            var (likeSection, negated) = block.Has("response_body_like") ? ("response_body_like", false)
                : block.Has("response_body_unlike") ? ("response_body_unlike", true) : (null, false);
            if (likeSection == null) return;
            if (!Indexed(likeSection, block.Get(likeSection)!, index, needArray, out var pattern)) return;
            pattern = pattern switch
            {
                PerlString s => new PerlString(Substitute(s.Bytes)),
                PerlRegex re => re with { Pattern = Substitute(re.Pattern) },
                _ => pattern,
            };
            var type = negated ? "unlike" : "like";
            Like(content, AsRegex(pattern, "s"), ShowInterpolated(pattern, "s"),
                $"{Name} - response_body_{type} - response is expected ({Summary(content)})", likeSection, negated);
        }

        // response_body_eval holds Perl source; Test::Nginx evals it at check time.
        private PerlValue? EvalPerl(PerlValue? code)
        {
            if (code is PerlRegex or PerlArray or null) return code;
            try
            {
                var perl = new PerlInterpreter(options.PerlRoot);
                var values = perl.EvalList(perl.Parse(code.ToString(), block.SectionLines.GetValueOrDefault("response_body_eval") + 1));
                return values.Count == 0 ? null : values[^1];
            }
            catch (PerlException e)
            {
                Result.Warnings.Add($"WARNING: {Name} - response_body_eval: {e.Message}");
                return null;
            }
        }

        // ---- logs ------------------------------------------------------------------------------

        public void CheckErrorLog(List<string> lines)
        {
            CheckGrepErrorLog(lines);

            var errorLog = block.Get("error_log");
            var noErrorLog = block.Get("no_error_log");
            bool Mentioned(string what) => Contains(errorLog, what) || Contains(noErrorLog, what);

            if (errorLog != null) CheckLogHas(errorLog, lines, "error_log", "error.log");
            if (noErrorLog != null) CheckLogLacks(noErrorLog, lines, "no_error_log", "error.log");

            var warnings = new List<Regex>();
            if (!Mentioned("writing a global lua variable")) warnings.Add(GlobalWrite());
            if (!Mentioned("[alert")) warnings.Add(AlertLine());
            if (!Mentioned("[crit")) warnings.Add(CritLine());
            if (!Mentioned("[emerg")) warnings.Add(EmergLine());
            foreach (var regex in warnings)
                foreach (var line in lines.Where(l => regex.IsMatch(l)))
                    Result.Warnings.Add($"WARNING: {Name} - {Diagnostics.FmtStr(line)}");

            foreach (var line in lines.Where(l => AssertionFailed().IsMatch(l)))
                Fail($"{Name} - {line.TrimEnd('\n')}");
        }

        public void CheckShutdownErrorLog(List<string> lines)
        {
            if (block.Get("shutdown_error_log") is { } has) CheckLogHas(has, lines, "shutdown_error_log", "error.log");
            if (block.Get("no_shutdown_error_log") is { } lacks) CheckLogLacks(lacks, lines, "no_shutdown_error_log", "error.log");
        }

        public void CheckAccessLog(List<string> lines)
        {
            if (block.Get("access_log") is { } has) CheckLogHas(has, lines, "access_log", "access.log");
            if (block.Get("no_access_log") is { } lacks) CheckLogLacks(lacks, lines, "no_access_log", "access.log");
        }

        private void CheckGrepErrorLog(List<string> lines)
        {
            var grep = block.Get("grep_error_log");
            var expectedValue = block.Get("grep_error_log_out");
            if (grep == null)
            {
                if (expectedValue != null)
                    Fail($"{Name} - No --- grep_error_log defined but --- grep_error_log_out is defined", "grep_error_log_out");
                return;
            }
            if (grep is PerlArray patterns) grep = patterns.Items.Count > 0 ? patterns.Items[0] : null;
            if (grep is null or PerlUndef) return;
            if (expectedValue == null)
            {
                Fail($"{Name} - No --- grep_error_log_out defined but --- grep_error_log is defined", "grep_error_log");
                return;
            }
            // an array: one expected output per repetition
            if (expectedValue is PerlArray outs)
                expectedValue = options.Repetition < outs.Items.Count ? outs.Items[options.Repetition] : PerlValue.Undef;

            var matched = new System.Text.StringBuilder();
            foreach (var line in lines)
            {
                string? hit = null;
                if (grep is PerlRegex re)
                {
                    if (TryCompile(re, "grep_error_log") is not { } regex) return;
                    var m = regex.Match(line);
                    if (m.Success) hit = m.Value;
                }
                else if (line.Contains(grep.ToString(), StringComparison.Ordinal)) hit = grep.ToString();
                if (hit != null && !hit.Contains('\n')) matched.Append(hit).Append('\n');
            }

            var name = $"{Name} - grep_error_log_out (req {options.Repetition})";
            if (expectedValue is PerlRegex expectedRegex)
                Like(matched.ToString(), expectedRegex, expectedRegex.ToString(), name, "grep_error_log_out");
            else
                Is(matched.ToString(), expectedValue is PerlUndef ? null : ExpandEnv(expectedValue.ToString()), name, "grep_error_log_out");
        }

        private void CheckLogHas(PerlValue value, List<string> lines, string section, string file)
        {
            foreach (var pattern in Patterns(value))
            {
                if (pattern is null or PerlUndef) continue;
                if (lines.Any(l => Matches(pattern, l, section)))
                    Pass($"{Name} - pattern \"{pattern}\" matches a line in {file} (req {options.Repetition})");
                else
                    Fail($"{Name} - pattern \"{pattern}\" should match a line in {file} (req {options.Repetition})", section);
            }
        }

        private void CheckLogLacks(PerlValue value, List<string> lines, string section, string file)
        {
            const int MaxReportedLines = 10;
            foreach (var pattern in Patterns(value))
            {
                if (pattern is null or PerlUndef) continue;
                var p = Diagnostics.FmtStr(pattern.ToString());
                var hits = Enumerable.Range(0, lines.Count).Where(i => Matches(pattern, lines[i], section)).ToList();
                if (hits.Count == 0)
                {
                    Pass($"{Name} - pattern \"{p}\" does not match a line in {file} (req {options.Repetition})");
                    continue;
                }
                foreach (var i in hits.Take(MaxReportedLines))
                {
                    // Like Test::Nginx, show up to 9 of the lines that follow (never the log's last line).
                    var following = lines.Skip(i + 1).Take(Math.Max(0, Math.Min(i + 10, lines.Count - 1) - (i + 1)))
                        .Select(l => "#     " + l.TrimEnd('\n'));
                    Fail($"{Name} - pattern \"{p}\" should not match any line in {file} but matches line \"{Diagnostics.FmtStr(lines[i])}\" (req {options.Repetition})",
                        section, following.Any() ? ["#   the lines after it:", .. following] : null);
                }
                if (hits.Count > MaxReportedLines)
                    Fail($"{Name} - pattern \"{p}\" matches {hits.Count - MaxReportedLines} more lines in {file} (req {options.Repetition})", section);
            }
        }

        private bool Matches(PerlValue pattern, string line, string section) => pattern switch
        {
            PerlRegex re => TryCompile(re, section) is { } regex && SafeIsMatch(regex, line),
            PerlArray => false,
            _ => line.Contains(pattern.ToString(), StringComparison.Ordinal),
        };

        private readonly HashSet<PerlRegex> _reportedBadRegexes = new();

        private Regex? TryCompile(PerlRegex re, string section)
        {
            try
            {
                return PerlRegexTranslator.Compile(re);
            }
            catch (PerlRegexException e)
            {
                if (_reportedBadRegexes.Add(re)) Fail($"{Name} - bad regex in --- {section}", section, [$"#   {e.Message}"]);
                return null;
            }
        }

        private static bool SafeIsMatch(Regex regex, string text)
        {
            try { return regex.IsMatch(text); }
            catch (RegexMatchTimeoutException) { return false; }
        }

        // ---- helpers -----------------------------------------------------------------------------

        // A log section as a list of patterns: text is split on runs of newlines (each piece a literal),
        // a regex is one pattern, an array is taken as it is.
        private static List<PerlValue> Patterns(PerlValue value) => value switch
        {
            PerlString s => PerlSplit(s.Bytes.EndsWith('\n') ? s.Bytes[..^1] : s.Bytes).Select(x => (PerlValue)new PerlString(x)).ToList(),
            PerlArray a => a.Items.ToList(),
            _ => [value],
        };

        // Perl's split /\n+/: leading empty field kept, trailing empty fields dropped.
        private static List<string> PerlSplit(string text)
        {
            var fields = Newlines().Split(text).ToList();
            while (fields.Count > 0 && fields[^1].Length == 0) fields.RemoveAt(fields.Count - 1);
            return fields;
        }

        // Test::Nginx's value_contains: does a section value (or any array item) contain the text?
        private static bool Contains(PerlValue? value, string what) => value switch
        {
            null or PerlUndef => false,
            PerlArray a => a.Items.Any(i => Contains(i, what)),
            _ => value.ToString().Contains(what, StringComparison.Ordinal),
        };

        // test-nginx's parse_headers: "Name: value" per line; "!Name" (or a name alone) means "absent".
        private static List<(string Key, string? Value)> ParseHeaders(string text)
        {
            var result = new List<(string, string?)>();
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.Trim(TestBaseParser.PerlSpace);
                if (line.Length == 0) continue;
                (string Key, string? Value) entry;
                if (line.StartsWith('!')) entry = (line[1..].TrimStart(TestBaseParser.PerlSpace), null);
                else
                {
                    var m = HeaderColon().Match(line);
                    entry = m.Success ? (line[..m.Index], line[(m.Index + m.Length)..]) : (line, null);
                }
                var existing = result.FindIndex(e => e.Item1 == entry.Key); // a Perl hash: the last value wins
                if (existing >= 0) result[existing] = entry;
                else result.Add(entry);
            }
            return result;
        }

        // qr/$x/FLAGS: text takes the outer flags, a qr object keeps its own.
        private static PerlRegex AsRegex(PerlValue? v, string outerFlags) =>
            v as PerlRegex ?? new PerlRegex(v?.ToString() ?? "", outerFlags);

        private static string ShowInterpolated(PerlValue? v, string outerFlags) => $"(?^{outerFlags}:{v?.ToString() ?? ""})";

        private static bool Truthy(PerlValue? v) => v switch
        {
            null or PerlUndef => false,
            PerlString s => s.Bytes.Length > 0 && s.Bytes != "0",
            _ => true,
        };

        // Test::Nginx's trim() for the like/unlike test name: one line, runs of whitespace squeezed.
        private static string Summary(string? content)
        {
            if (content == null) return "";
            var s = content.Trim(TestBaseParser.PerlSpace).Replace('\n', ' ');
            s = Whitespace().Replace(s, " ");
            return s.Length > 300 ? s[..300] + "..." : s;
        }

        private static string EscapeBytes(string s) =>
            string.Concat(s.Select(c => c < 0x20 || c >= 0x80 ? $"\\x{{{(int)c:x2}}}" : c.ToString()));
    }

    [GeneratedRegex(@"\$ServerPort\b")]
    private static partial Regex ServerPortVar();

    [GeneratedRegex(@"\$ServerPortForClient\b")]
    private static partial Regex ServerPortForClientVar();

    // Lines an old echo module quirk put in bodies; Test::Nginx strips them before comparing.
    [GeneratedRegex("^TE: deflate,gzip;q=0\\.3\r\n|^Connection: TE, close\r\n", RegexOptions.Multiline)]
    private static partial Regex TestNginxNoise();

    [GeneratedRegex(@"\n+")]
    private static partial Regex Newlines();

    [GeneratedRegex(@"[ \t\n\r\f\v]*:[ \t\n\r\f\v]*")]
    private static partial Regex HeaderColon();

    [GeneratedRegex(@"[ \t\n\r\f\v]{2,}")]
    private static partial Regex Whitespace();

    [GeneratedRegex("writing a global lua variable")]
    private static partial Regex GlobalWrite();

    [GeneratedRegex(@"\[alert\]")]
    private static partial Regex AlertLine();

    [GeneratedRegex(@"\[crit\]")]
    private static partial Regex CritLine();

    [GeneratedRegex(@"\[emerg\]")]
    private static partial Regex EmergLine();

    [GeneratedRegex(@"\bAssertion .*?failed\b")]
    private static partial Regex AssertionFailed();
}
