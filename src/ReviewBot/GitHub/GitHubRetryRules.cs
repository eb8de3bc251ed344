using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace ReviewBot.GitHub;

internal enum RetryKind
{
    None,
    RateLimited,
    Transient,
}

internal readonly record struct RetryDecision(RetryKind Kind, TimeSpan Delay)
{
    public static RetryDecision None { get; } = new(RetryKind.None, TimeSpan.Zero);
}

// GitHub's rules for when a failed request may be sent again, as a pure function of the response.
// "Rate limits for the REST API" → "Exceeding the rate limit" and "Best practices for using the REST
// API" → "Handle rate limit errors appropriately" (docs.github.com/en/rest/using-the-rest-api):
//   - Retry-After present: wait that many seconds;
//   - x-ratelimit-remaining 0: wait until x-ratelimit-reset (epoch seconds);
//   - otherwise a secondary rate limit (403/429): wait at least one minute, longer on each repeat;
//   - 5xx and timeouts: exponential backoff with jitter; any other 4xx is never retried.
internal static class GitHubRetryRules
{
    public static readonly TimeSpan SecondaryRateLimitWait = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan BackoffBase = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan BackoffCap = TimeSpan.FromMinutes(5);

    public static RetryDecision Classify(HttpStatusCode status, HttpResponseHeaders headers, string? body, int attempt, DateTimeOffset now)
    {
        var code = (int)status;
        var retryAfter = RetryAfter(headers, now);

        if (code is 403 or 429)
        {
            if (retryAfter is { } wait)
            {
                return new RetryDecision(RetryKind.RateLimited, wait);
            }

            if (Header(headers, "x-ratelimit-remaining") == "0")
            {
                var reset = long.TryParse(Header(headers, "x-ratelimit-reset"), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
                    ? DateTimeOffset.FromUnixTimeSeconds(epoch)
                    : now + SecondaryRateLimitWait;

                // The reset is a whole second; a request sent in that very second may still be refused.
                var until = reset - now + TimeSpan.FromSeconds(1);
                return new RetryDecision(RetryKind.RateLimited, until < TimeSpan.Zero ? TimeSpan.Zero : until);
            }

            // A 403 is a rate limit only when GitHub says so; otherwise it is a permission problem.
            if (code == 429 || (body is not null && body.Contains("rate limit", StringComparison.OrdinalIgnoreCase)))
            {
                return new RetryDecision(RetryKind.RateLimited, SecondaryRateLimitWait * Math.Pow(2, Math.Min(attempt, 4)));
            }

            return RetryDecision.None;
        }

        if (code >= 500)
        {
            return new RetryDecision(RetryKind.Transient, retryAfter ?? Backoff(attempt));
        }

        return RetryDecision.None;
    }

    // Timeouts and connection failures: nothing was answered, so back off like a 5xx.
    public static RetryDecision ForNoResponse(int attempt) => new(RetryKind.Transient, Backoff(attempt));

    // Exponential with "equal jitter": half fixed, half random, so retries from many workers spread out.
    public static TimeSpan Backoff(int attempt)
    {
        var exponential = BackoffBase * Math.Pow(2, Math.Min(attempt, 16));
        if (exponential > BackoffCap)
        {
            exponential = BackoffCap;
        }

        return exponential / 2 + exponential / 2 * Random.Shared.NextDouble();
    }

    // RFC 9110 §10.2.3: delay-seconds or an HTTP-date.
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (headers.RetryAfter is not { } retryAfter)
        {
            return null;
        }

        if (retryAfter.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (retryAfter.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static string? Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;
}
