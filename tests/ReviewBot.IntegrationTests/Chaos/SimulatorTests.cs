using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ReviewBot.GitHub;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Simulator;
using ReviewBot.Simulator.Diffs;
using ReviewBot.Simulator.Faults;

namespace ReviewBot.IntegrationTests.Chaos;

// The simulator judges ReviewBot in the chaos test and the demo, so its own fidelity is specified
// here: GitHub's file split, GitHub's 422 for lines outside the diff, the App JWT check, Link-header
// pagination, and the Retry-After bookkeeping.
public sealed class SimulatorTests
{
    private const string Repo = "octo-org/service";

    [Fact]
    public void Split_turns_a_git_diff_into_GitHub_style_file_entries()
    {
        var files = GitDiff.Split(GitDiff.Load("rename-with-changes"));
        var renamed = Assert.Single(files, f => f.Status == "renamed");
        Assert.Equal("src/min_max.rs", renamed.Filename);
        Assert.Equal("src/internal.rs", renamed.PreviousFilename);
        Assert.StartsWith("@@ ", renamed.Patch, StringComparison.Ordinal);
        Assert.DoesNotContain("+++ ", renamed.Patch, StringComparison.Ordinal);

        var added = GitDiff.Split(GitDiff.Load("new-files-text-and-binary"));
        var binary = Assert.Single(added, f => f.Filename == "doc/sponsors/warp-logo.png");
        Assert.Null(binary.Patch);
        Assert.Equal("added", binary.Status);
        Assert.Contains(GitDiff.Split(GitDiff.Load("deleted-file")), f => f.Status == "removed" && f.Filename == "src/timer/internal.rs");
    }

    [Fact]
    public void Validate_accepts_lines_of_one_hunk_and_refuses_others_like_GitHub()
    {
        // modification-multiple-hunks: "@@ -2,6 +2,7 @@" adds "    ValueHint," as new line 5.
        var cli = Assert.Single(GitDiff.Split(GitDiff.Load("modification-multiple-hunks")));
        Assert.Null(cli.Validate(5, "RIGHT", null, null));
        Assert.Null(cli.Validate(5, "RIGHT", 4, "RIGHT"));
        Assert.Equal("Line could not be resolved", cli.Validate(9, "RIGHT", null, null)); // between hunks
        Assert.Null(cli.Validate(5, "LEFT", null, null)); // old line 5 ("};") is context in the first hunk
        Assert.Equal("Line could not be resolved", cli.Validate(8, "LEFT", null, null)); // old side of that hunk is 2..7
        Assert.Equal("Start line could not be resolved", cli.Validate(33, "RIGHT", 5, "RIGHT")); // a range across two hunks
    }

    [Fact]
    public async Task Installation_token_needs_a_JWT_signed_with_the_App_key()
    {
        await using var sim = await SimulatorHost.StartAsync(new SimulatorOptions { AppId = 12345, AppKeyPem = TestKeys.PrivateKeyPem }, TestContext.Current.CancellationToken);
        using var http = new HttpClient { BaseAddress = sim.BaseAddress };

        using var valid = TokenRequest(TestKeys.PrivateKeyPem, 12345);
        using var validResponse = await http.SendAsync(valid, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, validResponse.StatusCode);
        var token = (string?)(await validResponse.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))?["token"];
        Assert.StartsWith("ghs_", token, StringComparison.Ordinal);

        using var other = RSA.Create(2048);
        using var forged = TokenRequest(other.ExportRSAPrivateKeyPem(), 12345);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged, TestContext.Current.CancellationToken)).StatusCode);

        using var wrongApp = TokenRequest(TestKeys.PrivateKeyPem, 999);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrongApp, TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task Create_review_answers_422_for_a_comment_outside_the_diff_and_records_nothing()
    {
        await using var sim = await SimulatorHost.StartAsync(new SimulatorOptions { AppId = 12345, AppKeyPem = TestKeys.PrivateKeyPem }, TestContext.Current.CancellationToken);
        sim.State.AddPull(7, Repo, 3, "t", null, new string('a', 40), new string('b', 40), GitDiff.Split(GitDiff.Load("modification-multiple-hunks")));
        using var http = await InstallationClientAsync(sim, 7);

        using var outside = await http.PostAsJsonAsync($"repos/{Repo}/pulls/3/reviews", new
        {
            commit_id = new string('b', 40),
            body = "x",
            @event = "COMMENT",
            comments = new[] { new { path = "src/cli.rs", line = 9, side = "RIGHT", body = "not in a hunk" } },
        }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, outside.StatusCode);
        var error = await outside.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken);
        Assert.Equal("Unprocessable Entity", (string?)error?["message"]);
        Assert.StartsWith("Line could not be resolved", (string?)error?["errors"]?[0], StringComparison.Ordinal);
        Assert.Empty(sim.State.Reviews());
        Assert.Single(sim.State.Rejections());

        using var inside = await http.PostAsJsonAsync($"repos/{Repo}/pulls/3/reviews", new
        {
            commit_id = new string('b', 40),
            body = "ok",
            @event = "COMMENT",
            comments = new[] { new { path = "src/cli.rs", line = 5, side = "RIGHT", body = "in the first hunk" } },
        }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
        Assert.Single(sim.State.Reviews());
    }

    [Fact]
    public async Task Reviews_are_paginated_with_Link_headers_that_ReviewBot_follows()
    {
        await using var sim = await SimulatorHost.StartAsync(new SimulatorOptions { AppId = 12345, AppKeyPem = TestKeys.PrivateKeyPem }, TestContext.Current.CancellationToken);
        sim.State.AddPull(7, Repo, 3, "t", null, new string('a', 40), new string('b', 40), GitDiff.Split(GitDiff.Load("no-newline-at-eof")));
        for (var i = 0; i < 5; i++)
        {
            sim.State.AddReview(new ReviewBot.Simulator.State.ReviewRecord(sim.State.NextId(), 7, Repo, 3, new string('b', 40), $"review {i}", "COMMENT", [], DateTimeOffset.UtcNow));
        }

        using var http = await InstallationClientAsync(sim, 7);
        using var first = await http.GetAsync($"repos/{Repo}/pulls/3/reviews?per_page=2", TestContext.Current.CancellationToken);
        var next = GitHubPage<PullRequestReview>.NextLink(first);
        Assert.NotNull(next);
        Assert.Equal(2, (await first.Content.ReadFromJsonAsync<JsonArray>(TestContext.Current.CancellationToken))!.Count);

        using var last = await http.GetAsync($"repos/{Repo}/pulls/3/reviews?per_page=2&page=3", TestContext.Current.CancellationToken);
        Assert.Null(GitHubPage<PullRequestReview>.NextLink(last));
        Assert.Single((await last.Content.ReadFromJsonAsync<JsonArray>(TestContext.Current.CancellationToken))!);
    }

    [Fact]
    public async Task A_request_repeated_before_its_Retry_After_is_recorded_as_a_violation()
    {
        await using var sim = await SimulatorHost.StartAsync(new SimulatorOptions { AppId = 12345, AppKeyPem = TestKeys.PrivateKeyPem }, TestContext.Current.CancellationToken);
        sim.State.AddPull(7, Repo, 3, "t", null, new string('a', 40), new string('b', 40), GitDiff.Split(GitDiff.Load("no-newline-at-eof")));
        using var http = await InstallationClientAsync(sim, 7);
        sim.Faults.Settings = new FaultSettings { GitHub429Rate = 1, RetryAfterSeconds = 30 };

        using var limited = await http.GetAsync($"repos/{Repo}/pulls/3", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), limited.Headers.RetryAfter?.Delta);
        Assert.Empty(sim.State.Violations());

        sim.Faults.Settings = FaultSettings.None;
        using var early = await http.GetAsync($"repos/{Repo}/pulls/3", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.TooManyRequests, early.StatusCode);
        Assert.Equal("same-request", Assert.Single(sim.State.Violations()).Scope);
    }

    private static HttpRequestMessage TokenRequest(string privateKeyPem, long appId)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(privateKeyPem);
        var request = new HttpRequestMessage(HttpMethod.Post, "app/installations/7/access_tokens");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", GitHubAppJwt.Create(rsa, appId, DateTimeOffset.UtcNow));
        return request;
    }

    private static async Task<HttpClient> InstallationClientAsync(SimulatorHost sim, long installation)
    {
        var http = new HttpClient { BaseAddress = sim.BaseAddress };
        using var rsa = RSA.Create();
        rsa.ImportFromPem(TestKeys.PrivateKeyPem);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"app/installations/{installation}/access_tokens");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", GitHubAppJwt.Create(rsa, 12345, DateTimeOffset.UtcNow));
        using var response = await http.SendAsync(request);
        var token = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["token"]!;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}
