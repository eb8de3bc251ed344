using System.Net;
using System.Net.Http.Headers;
using ReviewBot.GitHub;

namespace ReviewBot.Tests.GitHub;

public sealed class GitHubRetryRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Retry_after_seconds_is_honoured_on_a_secondary_rate_limit()
    {
        var headers = Headers(("Retry-After", "37"));
        var decision = GitHubRetryRules.Classify(HttpStatusCode.Forbidden, headers, """{"message":"You have exceeded a secondary rate limit"}""", 0, Now);
        Assert.Equal(new RetryDecision(RetryKind.RateLimited, TimeSpan.FromSeconds(37)), decision);
    }

    [Fact]
    public void Retry_after_http_date_is_honoured()
    {
        var headers = Headers(("Retry-After", Now.AddSeconds(90).ToString("r")));
        var decision = GitHubRetryRules.Classify(HttpStatusCode.TooManyRequests, headers, null, 0, Now);
        Assert.Equal(RetryKind.RateLimited, decision.Kind);
        Assert.Equal(TimeSpan.FromSeconds(90), decision.Delay);
    }

    [Fact]
    public void Exhausted_primary_rate_limit_waits_until_the_reset_time()
    {
        var headers = Headers(("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", Now.AddMinutes(20).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var decision = GitHubRetryRules.Classify(HttpStatusCode.Forbidden, headers, """{"message":"API rate limit exceeded"}""", 0, Now);
        Assert.Equal(RetryKind.RateLimited, decision.Kind);
        Assert.InRange(decision.Delay, TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(20) + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Secondary_rate_limit_without_headers_waits_at_least_a_minute()
    {
        var decision = GitHubRetryRules.Classify(HttpStatusCode.Forbidden, Headers(), """{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}""", 0, Now);
        Assert.Equal(RetryKind.RateLimited, decision.Kind);
        Assert.True(decision.Delay >= TimeSpan.FromMinutes(1));

        var repeated = GitHubRetryRules.Classify(HttpStatusCode.TooManyRequests, Headers(), null, 2, Now);
        Assert.True(repeated.Delay > decision.Delay);
    }

    [Fact]
    public void Forbidden_without_rate_limit_signal_is_never_retried()
    {
        var decision = GitHubRetryRules.Classify(HttpStatusCode.Forbidden, Headers(("x-ratelimit-remaining", "4999")), """{"message":"Resource not accessible by integration"}""", 0, Now);
        Assert.Equal(RetryDecision.None, decision);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.Conflict)]
    [InlineData(HttpStatusCode.UnprocessableEntity)]
    public void Other_client_errors_are_never_retried(HttpStatusCode status)
    {
        Assert.Equal(RetryDecision.None, GitHubRetryRules.Classify(status, Headers(("Retry-After", "1")), null, 0, Now));
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public void Server_errors_back_off_exponentially_with_jitter(HttpStatusCode status)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var decision = GitHubRetryRules.Classify(status, Headers(), null, attempt, Now);
            var full = TimeSpan.FromSeconds(Math.Pow(2, attempt));
            Assert.Equal(RetryKind.Transient, decision.Kind);
            Assert.InRange(decision.Delay, full / 2, full);
        }
    }

    [Fact]
    public void Server_error_with_retry_after_uses_it()
    {
        var decision = GitHubRetryRules.Classify(HttpStatusCode.ServiceUnavailable, Headers(("Retry-After", "3")), null, 0, Now);
        Assert.Equal(new RetryDecision(RetryKind.Transient, TimeSpan.FromSeconds(3)), decision);
    }

    private static HttpResponseHeaders Headers(params (string Name, string Value)[] headers)
    {
        using var response = new HttpResponseMessage();
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        return response.Headers;
    }
}
