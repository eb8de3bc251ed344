using System.Globalization;
using ReviewBot.GitHub;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Upstream;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.GitHub;

// A wait GitHub names for one call belongs to the credential: "Best practices for using the REST API"
// → "Handle rate limit errors appropriately" (stop making requests until the time given). Each test
// lets one call be told to wait, then makes another call with the same credential and reads the
// time it reached WireMock, and one with another credential, which must not be held.
public sealed class GitHubCredentialCooldownTests : IDisposable
{
    private const string Repo = "octocat/Hello-World";
    private const string LimitedPullPath = "/api/v3/repos/octocat/Hello-World/pulls/1347";
    private const string OtherPullPath = "/api/v3/repos/octocat/Hello-World/pulls/1";
    private const string OtherInstallationPullPath = "/api/v3/repos/octocat/Hello-World/pulls/2";

    private readonly WireMockServer _server = WireMockServer.Start();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _server.Stop();

    [Fact]
    public async Task Retry_after_on_one_installation_call_holds_its_other_calls_until_the_deadline()
    {
        using var stack = new GitHubStack(_server);
        GivenTokens();
        GivenPullsAnswered(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "2")
            .WithBody("""{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"""));

        var limited = stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);
        var until = await LearnedAsync(stack, CredentialKey.GitHubInstallation(42));

        var other = stack.Client.GetPullRequestAsync(42, Repo, 1, Ct);
        var otherInstallation = stack.Client.GetPullRequestAsync(43, Repo, 2, Ct);

        Assert.True((await otherInstallation).IsOk);
        Assert.False(other.IsCompleted, "a call with the waiting installation's token went out at once");
        Assert.True((await other).IsOk);
        Assert.True((await limited).IsOk);

        var first = Requests(LimitedPullPath)[0];
        Assert.Equal(429, Status(first));
        AssertArrivedNotBefore(until, Requests(OtherPullPath).Single());
        AssertArrivedNotBefore(Arrival(first).AddSeconds(2), Requests(OtherPullPath).Single());
        AssertArrivedNotBefore(until, Requests(LimitedPullPath)[1]);
        Assert.True(Arrival(Requests(OtherInstallationPullPath).Single()) < until, "another installation's call was held");
    }

    [Fact]
    public async Task Exhausted_installation_rate_limit_holds_its_other_calls_until_the_reset()
    {
        using var stack = new GitHubStack(_server);
        GivenTokens();
        var reset = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);
        GivenPullsAnswered(Response.Create().WithStatusCode(403)
            .WithHeader("x-ratelimit-remaining", "0")
            .WithHeader("x-ratelimit-reset", reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture))
            .WithBody("""{"message":"API rate limit exceeded for installation ID 42."}"""));

        var limited = stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);
        var until = await LearnedAsync(stack, CredentialKey.GitHubInstallation(42));
        var other = await stack.Client.GetPullRequestAsync(42, Repo, 1, Ct);

        Assert.True(other.IsOk, other.ToString());
        Assert.True((await limited).IsOk);
        Assert.True(until >= reset);
        AssertArrivedNotBefore(reset, Requests(OtherPullPath).Single());
        AssertArrivedNotBefore(reset, Requests(LimitedPullPath)[1]);
    }

    [Fact]
    public async Task Retry_after_on_a_token_exchange_holds_every_call_made_with_the_app_jwt()
    {
        using var stack = new GitHubStack(_server);
        _server.Given(Request.Create().WithPath(TokenPath(42)).UsingPost()).InScenario("app").WillSetStateTo("ok")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "2")
                .WithBody("""{"message":"You have exceeded a secondary rate limit."}"""));
        _server.Given(Request.Create().WithPath(TokenPath(42)).UsingPost()).InScenario("app").WhenStateIs("ok")
            .RespondWith(TokenResponse("ghs_42"));
        _server.Given(Request.Create().WithPath(TokenPath(43)).UsingPost()).RespondWith(TokenResponse("ghs_43"));
        _server.Given(Request.Create().WithPath("/api/v3/app/hook/deliveries").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("[]"));

        var limited = stack.Tokens.GetAsync(42, Ct);
        var until = await LearnedAsync(stack, CredentialKey.GitHubApp);
        var otherInstallation = stack.Tokens.GetAsync(43, Ct);
        var deliveries = stack.App.ListWebhookDeliveriesAsync(null, Ct);

        Assert.True((await otherInstallation).IsOk);
        Assert.True((await deliveries).IsOk);
        Assert.True((await limited).IsOk);
        Assert.Equal(429, Status(Requests(TokenPath(42))[0]));
        AssertArrivedNotBefore(until, Requests(TokenPath(43)).Single());
        AssertArrivedNotBefore(until, Requests("/api/v3/app/hook/deliveries").Single());
        AssertArrivedNotBefore(Arrival(Requests(TokenPath(42))[0]).AddSeconds(2), Requests(TokenPath(43)).Single());
    }

    [Fact]
    public async Task A_wait_longer_than_a_call_may_sit_out_is_returned_to_the_other_calls_without_sending_them()
    {
        using var stack = new GitHubStack(_server);
        GivenTokens();
        GivenPullsAnswered(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "120"));
        var before = DateTimeOffset.UtcNow;

        var limited = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);
        var other = await stack.Client.GetPullRequestAsync(42, Repo, 1, Ct);

        Assert.Equal(GitHubOutcome.RateLimited, limited.Outcome);
        Assert.Equal(GitHubOutcome.RateLimited, other.Outcome);
        Assert.Equal(stack.Cooldown.Until(CredentialKey.GitHubInstallation(42)), other.RetryAt);
        Assert.InRange(other.RetryAt!.Value, before.AddSeconds(119), DateTimeOffset.UtcNow.AddSeconds(121));
        Assert.Empty(Requests(OtherPullPath));
        Assert.True(DateTimeOffset.UtcNow - before < TimeSpan.FromSeconds(5));
    }

    private static string TokenPath(long installation) => $"/api/v3/app/installations/{installation}/access_tokens";

    private void GivenTokens()
    {
        _server.Given(Request.Create().WithPath(TokenPath(42)).UsingPost()).RespondWith(TokenResponse("ghs_42"));
        _server.Given(Request.Create().WithPath(TokenPath(43)).UsingPost()).RespondWith(TokenResponse("ghs_43"));
    }

    // The first call for pull 1347 gets the given answer, every later call (any pull) a pull request.
    private void GivenPullsAnswered(IResponseBuilder first)
    {
        var pull = TestPaths.ReadFixture("github/rest/pulls-get.pull-request.json");
        _server.Given(Request.Create().WithPath(LimitedPullPath).UsingGet()).InScenario("limit").WillSetStateTo("ok").RespondWith(first);
        _server.Given(Request.Create().WithPath(LimitedPullPath).UsingGet()).InScenario("limit").WhenStateIs("ok")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(pull));
        foreach (var path in new[] { OtherPullPath, OtherInstallationPullPath })
        {
            _server.Given(Request.Create().WithPath(path).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody(pull));
        }
    }

    private static IResponseBuilder TokenResponse(string token) =>
        Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
            .WithBody($$$"""{"token":"{{{token}}}","expires_at":"{{{DateTimeOffset.UtcNow.AddHours(1).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}}","permissions":{"checks":"write"}}""");

    // The deadline the client took from GitHub's answer, once it has read it: calls made from then on
    // must wait for it (calls already on the wire could not have known).
    private static async Task<DateTimeOffset> LearnedAsync(GitHubStack stack, CredentialKey credential)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (stack.Cooldown.Until(credential) is { } until)
            {
                return until;
            }

            await Task.Delay(5, Ct);
        }

        throw new TimeoutException($"no wait recorded for {credential}");
    }

    private List<ILogEntry> Requests(string path) =>
        _server.LogEntries.Where(e => e.RequestMessage.Path == path).OrderBy(e => e.RequestMessage.DateTime).ToList();

    private static DateTimeOffset Arrival(ILogEntry entry) => new(DateTime.SpecifyKind(entry.RequestMessage.DateTime, DateTimeKind.Utc), TimeSpan.Zero);

    private static int Status(ILogEntry entry) => Convert.ToInt32(entry.ResponseMessage.StatusCode, CultureInfo.InvariantCulture);

    private static void AssertArrivedNotBefore(DateTimeOffset deadline, ILogEntry entry) =>
        Assert.True(Arrival(entry) >= deadline, $"{entry.RequestMessage.Method} {entry.RequestMessage.Path} arrived at {Arrival(entry):HH:mm:ss.fff}, before {deadline:HH:mm:ss.fff}");
}
