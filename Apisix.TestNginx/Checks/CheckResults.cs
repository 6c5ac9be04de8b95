namespace Apisix.TestNginx.Checks;

/// <summary>
/// One failed Test::More assertion: its name as prove prints it (<c>TEST 3: foo - status code ok</c>)
/// and the <c>#</c> diagnostic lines Test::More would print under it.
/// </summary>
public sealed record CheckFailure(string Name, IReadOnlyList<string> Diagnostics)
{
    /// <summary>The name, then the diagnostic lines, newline-separated.</summary>
    public string Message => Diagnostics.Count == 0 ? Name : Name + "\n" + string.Join("\n", Diagnostics);

    public override string ToString() => Message;
}

/// <summary>Everything the checks of one block found.</summary>
public sealed class BlockCheckResult
{
    public List<CheckFailure> Failures { get; } = new();

    /// <summary>Non-failing notes (e.g. <c>WARNING: TEST 1: x - ... [alert] ...</c>), as Test::Nginx warns them.</summary>
    public List<string> Warnings { get; } = new();

    /// <summary>Names of the assertions that passed, in order.</summary>
    public List<string> Passed { get; } = new();

    public bool Ok => Failures.Count == 0;

    /// <summary>All failure messages, blank-line separated; null when the block passed.</summary>
    public string? Message => Failures.Count == 0 ? null : string.Join("\n\n", Failures.Select(f => f.Message));
}

/// <summary>Values Test::Nginx substitutes into expectations.</summary>
public sealed class CheckOptions
{
    /// <summary>Replaces <c>$ServerPort</c> in response_body, response_body_like and response_headers values.</summary>
    public int ServerPort { get; init; } = 1984;

    /// <summary>Replaces <c>$ServerPortForClient</c>; defaults to <see cref="ServerPort"/>.</summary>
    public int? ServerPortForClient { get; init; }

    /// <summary>Looks up <c>$TEST_NGINX_*</c> variables in response_body and grep_error_log_out.</summary>
    public Func<string, string?> Environment { get; init; } = Runner.RunEnvironment.Get;

    /// <summary>Where <c>open</c> resolves for the Perl of a <c>response_body_eval</c> section.</summary>
    public string PerlRoot { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>The repetition (repeat_each) being checked: Test::Nginx's <c>$repeated_req_idx</c>, which names
    /// the checks ("repeated req N", "(req N)") and picks a grep_error_log_out array's item.</summary>
    public int Repetition { get; init; }

    /// <summary>Longer strings are cut in diagnostics (the cut is said).</summary>
    public int MaxShownChars { get; init; } = 16 * 1024;
}
