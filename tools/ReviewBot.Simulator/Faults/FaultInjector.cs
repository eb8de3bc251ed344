using System.Collections.Concurrent;
using System.Globalization;
using ReviewBot.Simulator.State;

namespace ReviewBot.Simulator.Faults;

// What goes wrong upstream, per target ("github" = every GitHub route, "llm" = completion calls; the
// list-models calls that validate a key are left alone so setting up an installation never flakes).
// Rates are probabilities per request, 0..1. Set at start or at run time with POST /_sim/faults.
public sealed record FaultSettings
{
    public int GitHubLatencyMs { get; init; }
    public int LlmLatencyMs { get; init; }
    public double GitHub5xxRate { get; init; }
    public double Llm5xxRate { get; init; }

    // 429 with Retry-After (GitHub's secondary rate limit; the providers' rate limits).
    public double GitHub429Rate { get; init; }
    public double Llm429Rate { get; init; }
    public int RetryAfterSeconds { get; init; } = 1;

    // GitHub's primary rate limit: 403 with x-ratelimit-remaining 0 and x-ratelimit-reset.
    public double GitHubRateLimitRate { get; init; }
    public int RateLimitResetSeconds { get; init; } = 2;

    // Creating a review succeeds, then the answer is a 502: the case where a retry must find the
    // review that was created rather than post a second one.
    public double CreateReviewThen5xxRate { get; init; }

    public static FaultSettings None { get; } = new();
}

public sealed record FaultDecision(int Status, TimeSpan? RetryAfter, DateTimeOffset? RateLimitReset);

public sealed class FaultInjector(SimulatorState state, TimeProvider time)
{
    // The last deadline set per credential, and per (credential, request): a repeat of the very request
    // that was told to wait is a retry that ignored Retry-After; another request with the same
    // credential ignored the rate limit of that credential (GitHub: "stop making requests
    // temporarily"), which is recorded apart so a test can tell the two.
    private readonly ConcurrentDictionary<string, (DateTimeOffset Deadline, DateTimeOffset SetAt)> _deadlines = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _requestDeadlines = new();
    private volatile FaultSettings _settings = FaultSettings.None;

    public FaultSettings Settings
    {
        get => _settings;
        set => _settings = value;
    }

    public TimeSpan Latency(string target) => TimeSpan.FromMilliseconds(target == "llm" ? _settings.LlmLatencyMs : _settings.GitHubLatencyMs);

    // A request that comes with a credential we told to wait (Retry-After, or a rate-limit reset)
    // before that time is a violation: recorded, and refused again as GitHub and the providers would.
    // Retry-After is whole seconds, the simulator reads the wall clock and a client's timers run on a
    // millisecond tick count, so a retry a few milliseconds "early" is clock granularity, not a
    // client that ignored the wait.
    public static readonly TimeSpan ClockTolerance = TimeSpan.FromMilliseconds(10);

    // Another request with the same credential that arrives just after a 429 was decided was, as
    // likely as not, sent before the client could have read that 429 (the answer is still on the
    // wire, or waiting for a thread on a loaded machine): it is refused like any other, but not
    // counted against the client. A retry of the very request that was told to wait has no such
    // excuse and is always counted.
    public static readonly TimeSpan InFlightTolerance = TimeSpan.FromMilliseconds(500);

    public FaultDecision? CheckDeadline(string target, string credential, string request, string method, string path)
    {
        var now = time.GetUtcNow() + ClockTolerance;
        var scope = "same-request";
        var counted = true;
        if (!_requestDeadlines.TryGetValue(Key(target, credential) + "\n" + request, out var deadline) || now >= deadline)
        {
            scope = "same-credential";
            if (!_deadlines.TryGetValue(Key(target, credential), out var set) || now >= set.Deadline)
            {
                return null;
            }

            deadline = set.Deadline;
            counted = now - ClockTolerance - set.SetAt >= InFlightTolerance;
        }

        if (counted)
        {
            state.AddViolation(new Violation(now, target, scope, Mask(credential), method, path, (deadline - now).TotalMilliseconds));
        }

        var wait = deadline - now;
        return new FaultDecision(429, TimeSpan.FromSeconds(Math.Ceiling(wait.TotalSeconds)), null);
    }

    public FaultDecision? Decide(string target, string credential, string request)
    {
        var s = _settings;
        var roll = Random.Shared.NextDouble();
        var now = time.GetUtcNow();
        if (target == "github")
        {
            if ((roll -= s.GitHub5xxRate) < 0)
            {
                return new FaultDecision(Random.Shared.Next(2) == 0 ? 502 : 503, null, null);
            }

            if ((roll -= s.GitHub429Rate) < 0)
            {
                var wait = TimeSpan.FromSeconds(s.RetryAfterSeconds);
                SetDeadline(target, credential, request, now + wait);
                return new FaultDecision(429, wait, null);
            }

            if ((roll -= s.GitHubRateLimitRate) < 0)
            {
                // x-ratelimit-reset is whole epoch seconds, so the deadline is that second.
                var reset = DateTimeOffset.FromUnixTimeSeconds((now + TimeSpan.FromSeconds(s.RateLimitResetSeconds)).ToUnixTimeSeconds());
                SetDeadline(target, credential, request, reset);
                return new FaultDecision(403, null, reset);
            }

            return null;
        }

        if ((roll -= s.Llm5xxRate) < 0)
        {
            return new FaultDecision(500, null, null);
        }

        if ((roll -= s.Llm429Rate) < 0)
        {
            var wait = TimeSpan.FromSeconds(s.RetryAfterSeconds);
            SetDeadline(target, credential, request, now + wait);
            return new FaultDecision(429, wait, null);
        }

        return null;
    }

    private void SetDeadline(string target, string credential, string request, DateTimeOffset deadline)
    {
        _deadlines[Key(target, credential)] = (deadline, time.GetUtcNow());
        _requestDeadlines[Key(target, credential) + "\n" + request] = deadline;
    }

    public bool CreateReviewThen5xx() => Random.Shared.NextDouble() < _settings.CreateReviewThen5xxRate;

    private static string Key(string target, string credential) => target + "\n" + credential;

    // Enough of a credential to tell two apart in a report, never the whole secret.
    public static string Mask(string credential) =>
        credential.Length <= 12 ? credential : credential[..8] + "…" + credential[^4..];

    public static string Seconds(TimeSpan wait) => ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
