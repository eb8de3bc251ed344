using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ReviewBot.GitHub;
using ReviewBot.IntegrationTests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.GitHub;

public sealed class GitHubClientTests : IDisposable
{
    private const string Repo = "octocat/Hello-World";
    private const string PullPath = "/api/v3/repos/octocat/Hello-World/pulls/1347";
    private const string TokenPath = "/api/v3/app/installations/42/access_tokens";

    private readonly WireMockServer _server = WireMockServer.Start();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _server.Stop();

    [Fact]
    public async Task Installation_token_is_requested_with_a_verifiable_app_jwt_and_reused_across_calls()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_first", DateTimeOffset.UtcNow.AddHours(1));
        GivenPullRequest();

        var first = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);
        var second = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.True(first.IsOk, first.ToString());
        Assert.Equal("Amazing new feature", second.Value!.Title);
        var tokenCall = Assert.Single(Requests(TokenPath));
        var jwt = tokenCall.RequestMessage.Headers!["Authorization"].Single()["Bearer ".Length..];
        AssertSignedByAppKey(jwt);
        Assert.All(Requests(PullPath), r => Assert.Equal("Bearer ghs_first", r.RequestMessage.Headers!["Authorization"].Single()));
        Assert.All(Requests(PullPath), r => Assert.Equal("2022-11-28", r.RequestMessage.Headers!["X-GitHub-Api-Version"].Single()));
    }

    [Fact]
    public async Task Installation_token_is_renewed_a_few_minutes_before_it_expires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var stack = new GitHubStack(_server, time);
        GivenToken("ghs_first", time.GetUtcNow().AddMinutes(60));
        GivenPullRequest();

        Assert.True((await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct)).IsOk);
        time.Advance(TimeSpan.FromMinutes(54));
        Assert.True((await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct)).IsOk);
        Assert.Single(Requests(TokenPath));

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True((await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct)).IsOk);
        Assert.Equal(2, Requests(TokenPath).Count);
    }

    [Fact]
    public async Task A_401_drops_the_cached_token_and_the_call_succeeds_with_a_fresh_one()
    {
        using var stack = new GitHubStack(_server);
        _server.Given(Request.Create().WithPath(TokenPath).UsingPost()).InScenario("token").WillSetStateTo("second")
            .RespondWith(TokenResponse("ghs_revoked", DateTimeOffset.UtcNow.AddHours(1)));
        _server.Given(Request.Create().WithPath(TokenPath).UsingPost()).InScenario("token").WhenStateIs("second")
            .RespondWith(TokenResponse("ghs_fresh", DateTimeOffset.UtcNow.AddHours(1)));
        _server.Given(Request.Create().WithPath(PullPath).WithHeader("Authorization", "Bearer ghs_revoked").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"message":"Bad credentials"}"""));
        _server.Given(Request.Create().WithPath(PullPath).WithHeader("Authorization", "Bearer ghs_fresh").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("pulls-get.pull-request.json")));

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.True(result.IsOk, result.ToString());
        Assert.Equal(2, Requests(TokenPath).Count);
        Assert.Equal(2, Requests(PullPath).Count);
    }

    [Fact]
    public async Task Retry_after_is_honoured_and_never_anticipated()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet()).InScenario("limit").WillSetStateTo("ok")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "2").WithBody("""{"message":"You have exceeded a secondary rate limit"}"""));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet()).InScenario("limit").WhenStateIs("ok")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("pulls-get.pull-request.json")));

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.True(result.IsOk, result.ToString());
        var calls = Requests(PullPath);
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1].RequestMessage.DateTime - calls[0].RequestMessage.DateTime >= TimeSpan.FromSeconds(2),
            $"retried after {(calls[1].RequestMessage.DateTime - calls[0].RequestMessage.DateTime).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Exhausted_rate_limit_waits_until_the_reset_time()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        var reset = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);
        _server.Given(Request.Create().WithPath(PullPath).UsingGet()).InScenario("primary").WillSetStateTo("ok")
            .RespondWith(Response.Create().WithStatusCode(403)
                .WithHeader("x-ratelimit-remaining", "0")
                .WithHeader("x-ratelimit-reset", reset.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture))
                .WithBody("""{"message":"API rate limit exceeded for installation ID 42."}"""));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet()).InScenario("primary").WhenStateIs("ok")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("pulls-get.pull-request.json")));

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.True(result.IsOk, result.ToString());
        var calls = Requests(PullPath);
        Assert.Equal(2, calls.Count);
        Assert.True(new DateTimeOffset(calls[1].RequestMessage.DateTime, TimeSpan.Zero) >= reset, $"retried at {calls[1].RequestMessage.DateTime:O}, reset {reset:O}");
    }

    [Fact]
    public async Task Secondary_rate_limit_without_headers_comes_back_as_rate_limited_a_minute_later_without_blocking()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(403).WithBody("""{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"""));
        var before = DateTimeOffset.UtcNow;

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.Equal(GitHubOutcome.RateLimited, result.Outcome);
        Assert.True(result.RetryAt >= before.AddMinutes(1), $"retry at {result.RetryAt:O}");
        Assert.Single(Requests(PullPath));
        Assert.True(DateTimeOffset.UtcNow - before < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Long_retry_after_is_returned_for_the_job_to_requeue()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "120"));
        var before = DateTimeOffset.UtcNow;

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.Equal(GitHubOutcome.RateLimited, result.Outcome);
        Assert.InRange(result.RetryAt!.Value, before.AddSeconds(119), DateTimeOffset.UtcNow.AddSeconds(121));
        Assert.Single(Requests(PullPath));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_then_succeed()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet()).InScenario("5xx").WillSetStateTo("ok")
            .RespondWith(Response.Create().WithStatusCode(502));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet()).InScenario("5xx").WhenStateIs("ok")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("pulls-get.pull-request.json")));

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.True(result.IsOk, result.ToString());
        var calls = Requests(PullPath);
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1].RequestMessage.DateTime - calls[0].RequestMessage.DateTime >= TimeSpan.FromMilliseconds(500));
        var metrics = await stack.MetricsTextAsync();
        Assert.Contains("reviewbot_github_requests_total{operation=\"get_pull_request\",status=\"502\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("reviewbot_github_requests_total{operation=\"get_pull_request\",status=\"200\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Persistent_server_errors_give_up_after_three_attempts_as_transient()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet()).RespondWith(Response.Create().WithStatusCode(503));

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.Equal(GitHubOutcome.Transient, result.Outcome);
        Assert.NotNull(result.RetryAfter);
        Assert.Equal(3, Requests(PullPath).Count);
    }

    [Theory]
    [InlineData(404, "NotFound")]
    [InlineData(422, "Unprocessable")]
    [InlineData(403, "Forbidden")]
    [InlineData(400, "Unprocessable")]
    public async Task Other_client_errors_are_never_retried(int status, string outcome)
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath(PullPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(status)
                // On a 403, Retry-After means a rate limit (GitHub's rule), so only the others carry it.
                .WithHeader(status == 403 ? "X-Unrelated" : "Retry-After", "1")
                .WithBody(Fixture("validation-failed-422.json")));

        var result = await stack.Client.GetPullRequestAsync(42, Repo, 1347, Ct);

        Assert.Equal(outcome, result.Outcome.ToString());
        Assert.Contains("Validation Failed", result.Message, StringComparison.Ordinal);
        Assert.Single(Requests(PullPath));
    }

    [Fact]
    public async Task Creating_a_review_is_not_repeated_after_a_server_error()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath(PullPath + "/reviews").UsingPost()).RespondWith(Response.Create().WithStatusCode(502));

        var result = await stack.Client.CreateReviewAsync(42, Repo, 1347, new CreateReviewRequest { Body = "x", CommitId = "abc" }, Ct);

        Assert.Equal(GitHubOutcome.Transient, result.Outcome);
        var call = Assert.Single(Requests(PullPath + "/reviews"));
        Assert.Equal("""{"commit_id":"abc","body":"x","event":"COMMENT"}""", call.RequestMessage.Body);
    }

    [Fact]
    public async Task Pull_request_files_follow_the_link_header_across_pages()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        var page1 = JsonSerializer.Serialize(Enumerable.Range(0, 100).Select(i => new { filename = $"f{i}.cs", status = "modified", changes = 1, patch = "@@ -1 +1 @@" }));
        var page2 = JsonSerializer.Serialize(new[] { new { filename = "last.bin", status = "added", changes = 0 } });
        _server.Given(Request.Create().WithPath(PullPath + "/files").WithParam("page", "2").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(page2));
        _server.Given(Request.Create().WithPath(PullPath + "/files").WithParam("per_page", "100").UsingGet()).AtPriority(10)
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(page1)
                .WithHeader("Link", $"<{_server.Url}/api/v3/repos/octocat/Hello-World/pulls/1347/files?per_page=100&page=2>; rel=\"next\", <{_server.Url}/api/v3/repos/octocat/Hello-World/pulls/1347/files?per_page=100&page=2>; rel=\"last\""));

        var result = await stack.Client.ListPullRequestFilesAsync(42, Repo, 1347, Ct);

        Assert.True(result.IsOk, result.ToString());
        Assert.Equal(101, result.Value!.Count);
        Assert.Null(result.Value[^1].Patch);
        Assert.Equal(2, Requests(PullPath + "/files").Count);
    }

    [Fact]
    public async Task Compare_reviews_and_diff_read_what_the_runner_needs()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath("/api/v3/repos/octocat/Hello-World/compare/aaa...bbb").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(
                """{"status":"ahead","ahead_by":1,"behind_by":0,"total_commits":1,"commits":[{"sha":"bbb","commit":{"message":"Fix it"}}],"files":[{"filename":"a.cs","status":"modified","changes":2,"patch":"@@ -1 +1 @@\n-a\n+b"}]}"""));
        _server.Given(Request.Create().WithPath(PullPath + "/reviews").WithParam("page", "2").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("pulls-list-reviews.pull-request-review-items.json")));
        _server.Given(Request.Create().WithPath(PullPath + "/reviews").UsingGet()).AtPriority(10)
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("pulls-list-reviews.pull-request-review-items.json"))
                .WithHeader("Link", $"<{_server.Url}{PullPath}/reviews?per_page=100&page=2>; rel=\"next\""));
        _server.Given(Request.Create().WithPath(PullPath).WithHeader("Accept", "application/vnd.github.diff").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(TestPaths.ReadFixture("diffs/no-newline-at-eof.diff")));

        var compare = await stack.Client.CompareCommitsAsync(42, Repo, "aaa", "bbb", Ct);
        var reviews = await stack.Client.ListReviewsAsync(42, Repo, 1347, Ct);
        var diff = await stack.Client.GetPullRequestDiffAsync(42, Repo, 1347, Ct);

        Assert.Equal("ahead", compare.Value!.Status);
        Assert.Equal("Fix it", Assert.Single(compare.Value.Commits).Commit.Message);
        Assert.Equal("a.cs", Assert.Single(compare.Value.Files).Filename);
        Assert.Equal(2, reviews.Value!.Count);
        Assert.Equal("ecdd80bb57125d7ba9641ffaa4d7d2c19d3f3091", reviews.Value[0].CommitId);
        Assert.Equal(TestPaths.ReadFixture("diffs/no-newline-at-eof.diff"), diff.Value);
    }

    [Fact]
    public async Task Mutating_calls_for_one_installation_go_out_one_at_a_time()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath("/api/v3/repos/octocat/Hello-World/check-runs/*").UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromMilliseconds(400)).WithBody(Fixture("checks-create.check-run-completed.json")));
        var update = new UpdateCheckRunRequest { Status = "in_progress" };

        var results = await Task.WhenAll(
            stack.Client.UpdateCheckRunAsync(42, Repo, 1, update, Ct),
            stack.Client.UpdateCheckRunAsync(42, Repo, 2, update, Ct),
            stack.Client.UpdateCheckRunAsync(42, Repo, 3, update, Ct));

        Assert.All(results, r => Assert.True(r.IsOk, r.ToString()));
        var arrivals = _server.LogEntries.Where(e => e.RequestMessage.Method == "PATCH").Select(e => e.RequestMessage.DateTime).Order().ToList();
        Assert.Equal(3, arrivals.Count);
        Assert.True(arrivals[1] - arrivals[0] >= TimeSpan.FromMilliseconds(350) && arrivals[2] - arrivals[1] >= TimeSpan.FromMilliseconds(350),
            string.Join(", ", arrivals.Select(a => a.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public async Task Check_run_create_and_update_send_bodies_without_nulls_and_a_bounded_summary()
    {
        using var stack = new GitHubStack(_server);
        GivenToken("ghs_1", DateTimeOffset.UtcNow.AddHours(1));
        _server.Given(Request.Create().WithPath("/api/v3/repos/octocat/Hello-World/check-runs").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody(Fixture("checks-create.check-run-in-progress.json")));
        _server.Given(Request.Create().WithPath("/api/v3/repos/octocat/Hello-World/check-runs/4").UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("checks-create.check-run-completed.json")));

        var created = await stack.Client.CreateCheckRunAsync(42, Repo, new CreateCheckRunRequest { Name = "ReviewBot", HeadSha = "abc", Status = "queued", ExternalId = "7" }, Ct);
        var completed = await stack.Client.UpdateCheckRunAsync(42, Repo, created.Value!.Id, new UpdateCheckRunRequest
        {
            Conclusion = "neutral",
            CompletedAt = DateTimeOffset.UtcNow,
            Output = new CheckRunOutput { Title = "t", Summary = new string('s', 100_000) },
        }, Ct);

        Assert.Equal(4, created.Value.Id);
        Assert.Equal("completed", completed.Value!.Status);
        var post = Assert.Single(_server.LogEntries, e => e.RequestMessage.Method == "POST" && e.RequestMessage.Path.EndsWith("/check-runs", StringComparison.Ordinal));
        Assert.Equal("""{"name":"ReviewBot","head_sha":"abc","status":"queued","external_id":"7"}""", post.RequestMessage.Body);
        var patch = Assert.Single(_server.LogEntries, e => e.RequestMessage.Method == "PATCH");
        using var sent = JsonDocument.Parse(patch.RequestMessage.Body!);
        // GitHub's limit is in UTF-8 bytes (the note's "…" is three of them).
        Assert.Equal(65535, System.Text.Encoding.UTF8.GetByteCount(sent.RootElement.GetProperty("output").GetProperty("summary").GetString()!));
    }

    private void GivenToken(string token, DateTimeOffset expiresAt) =>
        _server.Given(Request.Create().WithPath(TokenPath).UsingPost()).RespondWith(TokenResponse(token, expiresAt));

    private void GivenPullRequest() =>
        _server.Given(Request.Create().WithPath(PullPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Fixture("pulls-get.pull-request.json")));

    private static IResponseBuilder TokenResponse(string token, DateTimeOffset expiresAt) =>
        Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json")
            .WithBody($$$"""{"token":"{{{token}}}","expires_at":"{{{expiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}}","permissions":{"checks":"write"}}""");

    private List<WireMock.Logging.ILogEntry> Requests(string path) =>
        _server.LogEntries.Where(e => e.RequestMessage.Path == path).OrderBy(e => e.RequestMessage.DateTime).ToList();

    private static string Fixture(string name) => TestPaths.ReadFixture("github/rest/" + name);

    private static void AssertSignedByAppKey(string jwt)
    {
        using var key = RSA.Create();
        key.ImportFromPem(TestKeys.PrivateKeyPem);
        var parts = jwt.Split('.');
        Assert.True(key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        using var payload = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        Assert.Equal("12345", payload.RootElement.GetProperty("iss").GetString());
    }
}
