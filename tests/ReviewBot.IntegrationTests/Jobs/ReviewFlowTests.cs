using Microsoft.Extensions.DependencyInjection;
using System.Net;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;

namespace ReviewBot.IntegrationTests.Jobs;

// A pull request webhook through to the review on GitHub, in process: the real composition, a real
// database, WireMock standing in for GitHub and OpenAI.
public sealed class ReviewFlowTests
{
    private const string Repo = "Codertocat/Hello-World";
    private const string ShaA = "aaaaaaa1111111111111111111111111111111111";
    private const string ShaB = "bbbbbbb2222222222222222222222222222222222";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TestApp> StartAsync(TestDatabase db, FakeGitHub github, FakeOpenAi openAi, int? perInstallation = null, JobQueueTuning? tuning = null) =>
        await TestApp.StartAsync(TestApp.Options(db.ConnectionString, o => o with
        {
            WorkersEnabled = true,
            GitHubApiUrl = github.Url,
            OpenAiBaseUrl = openAi.BaseUrl,
            ReviewConcurrencyPerInstallation = perInstallation ?? o.ReviewConcurrencyPerInstallation,
        }), b => b.Services.AddSingleton(tuning ?? new JobQueueTuning { HeartbeatInterval = TimeSpan.FromMilliseconds(200), RetryBaseDelay = TimeSpan.FromMilliseconds(200) }));

    [Fact]
    public async Task Opened_pull_request_gets_one_review_with_its_marker_and_a_completed_check_run()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);

        using var accepted = await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "review");
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaA));
        var review = Assert.Single(github.Reviews);
        Assert.Equal("COMMENT", review.Event);
        Assert.Equal(1, review.InlineComments);
        Assert.EndsWith($"<!-- reviewbot:sha={ShaA} -->", review.Body, StringComparison.Ordinal);

        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal("ReviewBot", checkRun.Name);
        Assert.Equal(ShaA, checkRun.HeadSha);
        Assert.Equal("in_progress", checkRun.Updates.First().Status);
        Assert.Equal(("completed", "neutral"), (checkRun.Last.Status, checkRun.Last.Conclusion));
        Assert.Equal(checkRun.Id, await db.ScalarAsync<long>("SELECT check_run_id FROM review_jobs"));
        Assert.Equal(150, await db.ScalarAsync<int>("SELECT input_tokens + output_tokens FROM review_jobs"));
    }

    [Fact]
    public async Task A_review_GitHub_accepted_before_the_response_was_lost_is_not_posted_again()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub { AcceptReviewThenFail = 1 };
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));

        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(30), "review");
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaA));
        Assert.Equal(2, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));
        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal("completed", checkRun.Last.Status);
        // The second attempt found the marker and did not ask the model again.
        Assert.Single(openAi.Requests);
    }

    [Fact]
    public async Task Duplicate_deliveries_of_one_push_produce_one_review()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        var payload = Webhooks.PullRequest("opened", 1, 2, ShaA);

        await Webhooks.SendAsync(app.Client, "pull_request", payload, "delivery-1");
        await Webhooks.SendAsync(app.Client, "pull_request", payload, "delivery-1");
        await Webhooks.SendAsync(app.Client, "pull_request", payload, "delivery-2");
        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("reopened", 1, 2, ShaA), "delivery-3");

        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "review");
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs"));
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaA));
    }

    [Fact]
    public async Task A_push_while_reviewing_cancels_the_older_review_and_reviews_the_new_head()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(2) };
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));
        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(!openAi.Requests.IsEmpty), TimeSpan.FromSeconds(10), "the first review to reach the model");
        github.SetPull(Repo, 2, p => p with { HeadSha = ShaB });
        openAi.Latency = TimeSpan.Zero;
        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("synchronize", 1, 2, ShaB, before: ShaA));

        await QueueTestApp.WaitUntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE completed_at IS NOT NULL") == 2, TimeSpan.FromSeconds(30), "both jobs");
        Assert.Equal("superseded", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE commit_sha = $1", ShaA));
        Assert.Equal(0, github.ReviewsFor(Repo, 2, ShaA));
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaB));
        Assert.Equal("cancelled", github.CheckRuns.Values.Single(c => c.HeadSha == ShaA).Last.Conclusion);
        Assert.Equal("neutral", github.CheckRuns.Values.Single(c => c.HeadSha == ShaB).Last.Conclusion);
    }

    // A force push back to an earlier commit: that commit's job (superseded at intake when the later one
    // was pushed) is made pending again under its old id, lower than the later commit's completed job.
    // GitHub's head is that earlier commit again, so it is reviewed; comparing job ids called it stale.
    [Fact]
    public async Task A_pull_request_pushed_back_to_an_earlier_commit_gets_that_commit_reviewed()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        await db.ExecuteAsync(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, base_branch, trigger, dedupe_key, status, conclusion, completed_at)
            VALUES (1, 186853002, $1, 2, 'Title', $2, 'main', 'opened', '186853002:2:' || $2, 'superseded', 'cancelled', now()),
                   (1, 186853002, $1, 2, 'Title', $3, 'main', 'synchronize', '186853002:2:' || $3, 'completed', 'neutral', now())
            """,
            Repo, ShaA, ShaB);

        using var accepted = await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("synchronize", 1, 2, ShaA, before: ShaB));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        await QueueTestApp.WaitUntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE commit_sha = $1 AND completed_at IS NOT NULL", ShaA) == 1, TimeSpan.FromSeconds(20), "the earlier commit's job");
        Assert.Equal("completed", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE commit_sha = $1", ShaA));
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaA));
    }

    // A re-run of ReviewBot's check on an older commit is not a newer commit: the head's pending review
    // is not cancelled for it (and the re-run itself finds the head moved on).
    [Fact]
    public async Task A_re_run_on_an_older_commit_leaves_the_heads_pending_review_alone()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaB, "diffs/modification-multiple-hunks.diff");
        await using var app = await TestApp.StartAsync(TestApp.Options(db.ConnectionString, o => o with { WorkersEnabled = false, GitHubApiUrl = github.Url }));

        using (var head = await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("synchronize", 1, 2, ShaB, before: ShaA)))
        {
            Assert.Equal(HttpStatusCode.Accepted, head.StatusCode);
        }

        var intake = app.Services.GetRequiredService<JobIntake>();
        var rerun = await intake.EnqueueReviewAsync(
            new DeliveryInfo("rerun-old", "check_run", "rerequested", 1),
            new ReviewRequest(1, 186853002, Repo, 2, "", ShaA, "main", "rerequested", "rerun-old", DedupeKey.ForRun(186853002, 2, ShaA, "rerun-old")),
            Ct);

        Assert.NotNull(rerun.JobId);
        Assert.Equal(0L, rerun.Superseded);
        Assert.Equal("pending", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE commit_sha = $1", ShaB));
    }

    // CONTRACT §4, "queued as early as practical": with REVIEW_CONCURRENCY_PER_INSTALLATION 1, a second
    // pull request waits while the first is reviewed; it shows a queued ReviewBot check meanwhile, and
    // that same check run (never a second one) goes in progress and completes when its turn comes.
    [Fact]
    public async Task A_job_waiting_for_a_slot_shows_a_queued_check_run_that_its_review_then_completes()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        // Long enough that the second pull request is still waiting when the test looks, even on a loaded machine.
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(6) };
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        github.AddPull(Repo, 3, ShaB, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartWithSecondPullWaitingAsync(db, github, openAi, announceAfter: TimeSpan.FromMilliseconds(1000));

        // While the first review still waits on the model, the second pull request shows a queued check.
        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(github.CheckRuns.Values.Any(c => c.HeadSha == ShaB)), TimeSpan.FromSeconds(10), "the queued check run");
        var queued = github.CheckRuns.Values.Single(c => c.HeadSha == ShaB);
        Assert.Equal("queued", queued.Updates.First().Status);
        Assert.Equal("pending", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE commit_sha = $1", ShaB));
        // GitHub answers the create before the announcer stores the id: wait for the store, not for GitHub.
        await QueueTestApp.WaitUntilAsync(
            async () => await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE commit_sha = $1 AND check_run_id IS NOT NULL", ShaB) == 1,
            TimeSpan.FromSeconds(10),
            "the queued check run's id to be stored");
        Assert.Equal(queued.Id, await db.ScalarAsync<long>("SELECT check_run_id FROM review_jobs WHERE commit_sha = $1", ShaB));

        openAi.Latency = TimeSpan.Zero;
        await QueueTestApp.WaitForCompletedAsync(db, 2, TimeSpan.FromSeconds(30), "both reviews");
        Assert.Equal(1, github.ReviewsFor(Repo, 3, ShaB));
        var second = Assert.Single(github.CheckRuns.Values, c => c.HeadSha == ShaB);
        Assert.Equal(queued.Id, second.Id);
        Assert.Equal(["queued", "in_progress", "completed"], second.Updates.Select(u => u.Status).Distinct());
        Assert.Equal("neutral", second.Last.Conclusion);

        // The first one has one check run too, whether or not it was announced before a worker took it.
        Assert.Equal("neutral", Assert.Single(github.CheckRuns.Values, c => c.HeadSha == ShaA).Last.Conclusion);
    }

    // The announcer's create was answered after a worker had taken the job (the announcer gave up on
    // the answer, or it came after the 30 s): the announcer neither stores its check run over the
    // worker's nor cancels it; the worker finds it by its external id and reports in it.
    [Fact]
    public async Task A_queued_check_run_answered_after_a_worker_took_its_job_is_left_to_that_worker_which_reports_in_it()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(4) };
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        github.AddPull(Repo, 3, ShaB, "diffs/modification-multiple-hunks.diff");
        var taken = new TaskCompletionSource();
        github.OnCheckRunCreated = run =>
        {
            if (run.HeadSha == ShaB && run.Updates.First().Status == "queued")
            {
                // GitHub answers the announcer only once a worker holds the job.
                db.ExecuteAsync("UPDATE review_jobs SET status = 'processing', lease_owner = 'another-replica' WHERE commit_sha = $1", ShaB).GetAwaiter().GetResult();
                taken.TrySetResult();
            }
        };
        await using var app = await StartWithSecondPullWaitingAsync(db, github, openAi, announceAfter: TimeSpan.FromMilliseconds(500));
        await taken.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var queued = Assert.Single(github.CheckRuns.Values, c => c.HeadSha == ShaB);

        // Give the announcer time to store or conclude: it must do neither.
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        Assert.Equal(["queued"], queued.Updates.Select(u => u.Status));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT coalesce(check_run_id, 0) FROM review_jobs WHERE commit_sha = $1", ShaB));

        // That worker's process dies; the job is recovered and a worker here runs it.
        await db.ExecuteAsync("UPDATE review_jobs SET status = 'pending', lease_owner = NULL, run_after = now() WHERE commit_sha = $1", ShaB);
        openAi.Latency = TimeSpan.Zero;
        await QueueTestApp.WaitForCompletedAsync(db, 2, TimeSpan.FromSeconds(30), "both reviews");
        var reported = Assert.Single(github.CheckRuns.Values, c => c.HeadSha == ShaB);
        Assert.Equal(queued.Id, reported.Id);
        Assert.Equal(["queued", "in_progress", "completed"], reported.Updates.Select(u => u.Status).Distinct());
        Assert.Equal("neutral", reported.Last.Conclusion);
        Assert.Equal(queued.Id, await db.ScalarAsync<long>("SELECT check_run_id FROM review_jobs WHERE commit_sha = $1", ShaB));
        Assert.Equal(1, github.ReviewsFor(Repo, 3, ShaB));
    }

    // The announcer created the queued check run and then died (or timed out) before storing its id:
    // the worker that takes the job finds that check run by its external id and reports in it.
    [Fact]
    public async Task A_queued_check_run_whose_id_was_never_stored_is_found_and_reused_not_duplicated()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);

        // Taken for an announcement a moment ago: no worker claims it yet.
        var jobId = await db.ScalarAsync<long>(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, base_branch, trigger, dedupe_key, check_run_announced_at)
            VALUES (1, 1296269, $1, 2, 'Title', $2, 'main', 'opened', 'announced-1', now())
            RETURNING id
            """,
            Repo, ShaA);
        using (var http = new HttpClient())
        using (var created = await http.PostAsync(
            new Uri(github.Url, $"repos/{Repo}/check-runs"),
            new StringContent($$"""{"name":"ReviewBot","head_sha":"{{ShaA}}","status":"queued","external_id":"{{jobId}}"}""", System.Text.Encoding.UTF8, "application/json"),
            Ct))
        {
            created.EnsureSuccessStatusCode();
        }

        // The announcer's 30 s are over: the job is claimed and reviewed.
        await db.ExecuteAsync("UPDATE review_jobs SET check_run_announced_at = now() - interval '31 seconds' WHERE id = $1", jobId);
        await db.ExecuteAsync("NOTIFY review_jobs");
        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "review");

        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal(["queued", "in_progress", "completed"], checkRun.Updates.Select(u => u.Status).Distinct());
        Assert.Equal(checkRun.Id, await db.ScalarAsync<long>("SELECT check_run_id FROM review_jobs WHERE id = $1", jobId));
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaA));
    }

    // An attempt created its check run and its process died before storing the id; the job went back to
    // the queue, and then a newer commit was pushed. Superseding the job in the database alone would
    // leave that check run in progress for ever (a required check that never ends): intake leaves the
    // job to the runner, which finds the check run by its external id and concludes it cancelled.
    [Fact]
    public async Task A_check_run_left_open_by_a_crashed_attempt_is_concluded_when_a_newer_push_supersedes_its_job()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);

        // Due in a moment, so the push below reaches intake while it still waits.
        var jobId = await InsertRecoveredJobAsync(db, ShaA, dueInSeconds: 2);
        var orphan = await CreateCheckRunAsync(github, ShaA, jobId, "in_progress");

        github.SetPull(Repo, 2, p => p with { HeadSha = ShaB });
        using (var accepted = await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("synchronize", 1, 2, ShaB, before: ShaA)))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        Assert.Equal("pending", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE id = $1", jobId));
        await QueueTestApp.WaitUntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE completed_at IS NOT NULL") == 2, TimeSpan.FromSeconds(30), "both jobs");
        Assert.Equal("superseded", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE id = $1", jobId));
        var checkRun = Assert.Single(github.CheckRuns.Values, c => c.HeadSha == ShaA);
        Assert.Equal((orphan, "completed", "cancelled"), (checkRun.Id, checkRun.Last.Status, checkRun.Last.Conclusion));
        Assert.All(github.CheckRuns.Values, c => Assert.Equal("completed", c.Last.Status));
        Assert.Equal(0, github.ReviewsFor(Repo, 2, ShaA));
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaB));
    }

    // Two check runs of one job open on GitHub (an attempt's create landed after the next attempt had
    // looked, or two workers ran the job when one lost its lease): the newest reports the review, and
    // once it is concluded the other is concluded too, saying where the review reports.
    [Fact]
    public async Task When_a_job_has_two_open_check_runs_the_newest_reports_and_the_other_is_concluded_as_replaced()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);

        var jobId = await InsertRecoveredJobAsync(db, ShaA, dueInSeconds: 1);
        var older = await CreateCheckRunAsync(github, ShaA, jobId, "in_progress");
        var newer = await CreateCheckRunAsync(github, ShaA, jobId, "in_progress");

        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "review");
        Assert.Equal(newer, await db.ScalarAsync<long>("SELECT check_run_id FROM review_jobs WHERE id = $1", jobId));
        Assert.Equal(("completed", "neutral"), (github.CheckRuns[newer].Last.Status, github.CheckRuns[newer].Last.Conclusion));
        Assert.DoesNotContain("another ReviewBot check run", github.CheckRuns[newer].Last.Summary ?? "", StringComparison.Ordinal);
        Assert.Equal(("completed", "neutral"), (github.CheckRuns[older].Last.Status, github.CheckRuns[older].Last.Conclusion));
        Assert.Contains("another ReviewBot check run", github.CheckRuns[older].Last.Summary, StringComparison.Ordinal);
        Assert.Equal(2, github.CheckRuns.Count);
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaA));
    }

    // Pull requests 2 (ShaA) and 3 (ShaB) of one installation with REVIEW_CONCURRENCY_PER_INSTALLATION 1:
    // the first is with the model (as long as openAi's latency holds it), the second has just been
    // opened and waits for the slot, where the announcer finds it after `announceAfter`.
    private static async Task<TestApp> StartWithSecondPullWaitingAsync(TestDatabase db, FakeGitHub github, FakeOpenAi openAi, TimeSpan announceAfter)
    {
        var app = await StartAsync(db, github, openAi, perInstallation: 1, tuning: new JobQueueTuning
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            RetryBaseDelay = TimeSpan.FromMilliseconds(200),
            AnnounceAfter = announceAfter,
            AnnounceInterval = TimeSpan.FromMilliseconds(100),
        });
        try
        {
            await Webhooks.ConfigureInstallationAsync(app.Client, 1);
            using (await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA)))
            {
            }

            await QueueTestApp.WaitUntilAsync(() => Task.FromResult(!openAi.Requests.IsEmpty), TimeSpan.FromSeconds(10), "the first review to reach the model");
            using (await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 3, ShaB)))
            {
            }

            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    // A job recovered after its process died: pending again, one attempt charged and marked by that
    // attempt's claim, its check run (if GitHub created one) unrecorded.
    private static Task<long> InsertRecoveredJobAsync(TestDatabase db, string sha, int dueInSeconds) =>
        db.ScalarAsync<long>(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, base_branch, trigger, dedupe_key,
                                     attempts, check_run_requested_at, run_after)
            VALUES (1, 186853002, $1, 2, 'Title', $2, 'main', 'opened', '186853002:2:' || $2, 1, now(), now() + $3 * interval '1 second')
            RETURNING id
            """,
            Repo, sha, dueInSeconds);

    // What a process that died right after GitHub's answer leaves behind: a check run of the job's.
    private static async Task<long> CreateCheckRunAsync(FakeGitHub github, string sha, long jobId, string status)
    {
        using var http = new HttpClient();
        using var created = await http.PostAsync(
            new Uri(github.Url, $"repos/{Repo}/check-runs"),
            new StringContent($$"""{"name":"ReviewBot","head_sha":"{{sha}}","status":"{{status}}","external_id":"{{jobId}}"}""", System.Text.Encoding.UTF8, "application/json"),
            Ct);
        created.EnsureSuccessStatusCode();
        return System.Text.Json.Nodes.JsonNode.Parse(await created.Content.ReadAsStringAsync(Ct))!["id"]!.GetValue<long>();
    }

    [Fact]
    public async Task Installation_without_settings_gets_a_skipped_check_run_saying_what_to_configure()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi();
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));

        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "job");
        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal(("completed", "skipped"), (checkRun.Last.Status, checkRun.Last.Conclusion));
        Assert.Contains("ReviewBot settings", checkRun.Last.Summary, StringComparison.Ordinal);
        Assert.Empty(github.Reviews);
        Assert.Empty(openAi.Requests);
    }

    [Fact]
    public async Task Closed_pull_request_is_cancelled_without_a_review()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi();
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff", state: "closed");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));

        await QueueTestApp.WaitUntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE completed_at IS NOT NULL") == 1, TimeSpan.FromSeconds(20), "job");
        Assert.Equal("cancelled", await db.ScalarAsync<string>("SELECT conclusion FROM review_jobs"));
        Assert.Equal("cancelled", Assert.Single(github.CheckRuns.Values).Last.Conclusion);
        Assert.Empty(github.Reviews);
    }

    [Fact]
    public async Task Rejected_api_key_fails_at_once_with_an_actionable_check_run()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi();
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        // The key worked when saved and was revoked since: the provider now answers 401.
        openAi.RejectKey = true;

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));

        await QueueTestApp.WaitUntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE completed_at IS NOT NULL") == 1, TimeSpan.FromSeconds(20), "job");
        Assert.Equal("failed", await db.ScalarAsync<string>("SELECT status FROM review_jobs"));
        Assert.Equal(1, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));
        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal("failure", checkRun.Last.Conclusion);
        Assert.Contains("rejected", checkRun.Last.Summary, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(github.Reviews);
    }

    [Fact]
    public async Task Over_the_hourly_budget_a_review_waits_and_the_check_run_says_until_when()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        github.AddPull(Repo, 3, ShaB, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        await db.ExecuteAsync("UPDATE installation_settings SET reviews_per_hour = 1 WHERE installation_id = 1");

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));
        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "first review");
        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 3, ShaB));

        await QueueTestApp.WaitUntilAsync(
            async () => github.CheckRuns.Values.Any(c => c.HeadSha == ShaB && c.Last.Status == "queued")
                && await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE commit_sha = $1 AND status = 'pending' AND attempts = 0", ShaB) == 1,
            TimeSpan.FromSeconds(20), "the deferral on the check run and in the queue");
        // Not dropped: pending, due in about an hour, no attempt used.
        Assert.Equal("pending", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE commit_sha = $1", ShaB));
        Assert.InRange(await db.ScalarAsync<double>("SELECT extract(epoch FROM run_after - now())::float8 FROM review_jobs WHERE commit_sha = $1", ShaB), 3000, 3601);
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs WHERE commit_sha = $1", ShaB));
        Assert.Contains("will run at about", github.CheckRuns.Values.Single(c => c.HeadSha == ShaB).Last.Summary, StringComparison.Ordinal);
        Assert.Equal(0, github.ReviewsFor(Repo, 3, ShaB));

        // When the hour has passed (here: the first review's start moved back), it runs.
        await db.ExecuteAsync("UPDATE review_jobs SET started_at = now() - interval '2 hours' WHERE commit_sha = $1", ShaA);
        await db.ExecuteAsync("UPDATE review_jobs SET run_after = now() WHERE commit_sha = $1", ShaB);
        await db.ExecuteAsync("NOTIFY review_jobs");
        await QueueTestApp.WaitForCompletedAsync(db, 2, TimeSpan.FromSeconds(20), "second review");
        Assert.Equal(1, github.ReviewsFor(Repo, 3, ShaB));
    }

    // A draft's review and its ready_for_review's share one marker (the same commit). With two review
    // slots per installation both can run at once; they take turns at posting, so the second finds the
    // first's review instead of posting a second one.
    [Fact]
    public async Task Two_jobs_for_the_same_commit_running_at_once_post_one_review()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(2) };
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi, perInstallation: 2);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        await db.ExecuteAsync("UPDATE installation_settings SET review_drafts = true WHERE installation_id = 1");

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));
        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("ready_for_review", 1, 2, ShaA));

        await QueueTestApp.WaitForCompletedAsync(db, 2, TimeSpan.FromSeconds(30), "both jobs");
        Assert.True(openAi.Requests.Count >= 2, "both jobs asked the model, i.e. ran side by side");
        Assert.Equal(1, github.ReviewsFor(Repo, 2, ShaA));
    }

    // The hourly budget is spent only on reviews that run: a draft (reviewDrafts off) is skipped
    // without taking the hour's only slot from the next pull request.
    [Fact]
    public async Task A_skipped_draft_does_not_use_the_hourly_budget()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff", draft: true);
        github.AddPull(Repo, 3, ShaB, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        await db.ExecuteAsync("UPDATE installation_settings SET reviews_per_hour = 1 WHERE installation_id = 1");

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));
        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "the draft's job");
        Assert.Equal("skipped", github.CheckRuns.Values.Single(c => c.HeadSha == ShaA).Last.Conclusion);

        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 3, ShaB));
        await QueueTestApp.WaitForCompletedAsync(db, 2, TimeSpan.FromSeconds(20), "the next pull request's review");
        Assert.Equal(1, github.ReviewsFor(Repo, 3, ShaB));
    }

    [Fact]
    public async Task Metrics_after_a_review_carry_every_contract_name()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));
        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "review");

        var text = await app.Client.GetStringAsync("/metrics", Ct);

        // CONTRACT §5, with the label values a review produces.
        foreach (var series in new[]
        {
            "reviewbot_webhooks_received_total{event=\"pull_request\",outcome=\"accepted\"}",
            "reviewbot_reviews_total{outcome=\"neutral\"}",
            "reviewbot_review_duration_seconds_count",
            "reviewbot_queue_depth{status=\"pending\"}",
            "reviewbot_queue_depth{status=\"processing\"}",
            "reviewbot_job_retries_total",
            "reviewbot_jobs_recovered_total",
            "reviewbot_llm_requests_total{provider=\"openai\",outcome=\"success\"}",
            "reviewbot_llm_request_duration_seconds_count{provider=\"openai\"}",
            "reviewbot_llm_tokens_total{provider=\"openai\",kind=\"input\"}",
            "reviewbot_llm_tokens_total{provider=\"openai\",kind=\"output\"}",
            "reviewbot_github_requests_total{operation=\"create_review\",status=\"200\"}",
            "reviewbot_review_comments_total{outcome=\"posted\"}",
            "reviewbot_review_comments_total{outcome=\"unanchored\"}",
        })
        {
            Assert.Contains(series, text, StringComparison.Ordinal);
        }

        // No repository, user or free text in any label.
        Assert.DoesNotContain("Hello-World", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Codertocat", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Review_comment_reviews_the_current_head_again_with_a_run_marker()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        github.AddPull(Repo, 2, ShaA, "diffs/modification-multiple-hunks.diff");
        await using var app = await StartAsync(db, github, openAi);
        await Webhooks.ConfigureInstallationAsync(app.Client, 1);
        await Webhooks.SendAsync(app.Client, "pull_request", Webhooks.PullRequest("opened", 1, 2, ShaA));
        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(20), "first review");

        // The real issue_comment payload, on a pull request (issue.pull_request set), asking for a review.
        var comment = System.Text.Json.Nodes.JsonNode.Parse(TestPaths.ReadFixture("github/webhooks/issue_comment/created.with-installation.payload.json"))!.AsObject();
        comment["issue"]!["number"] = 2;
        comment["issue"]!["pull_request"] = new System.Text.Json.Nodes.JsonObject { ["url"] = "https://api.github.com/repos/Codertocat/Hello-World/pulls/2" };
        comment["comment"]!["body"] = "@reviewbot review please";
        using var accepted = await Webhooks.SendAsync(app.Client, "issue_comment", comment.ToJsonString(), "comment-delivery");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        await QueueTestApp.WaitForCompletedAsync(db, 2, TimeSpan.FromSeconds(20), "re-run");
        Assert.Equal(2, github.ReviewsFor(Repo, 2, ShaA));
        Assert.Contains(github.Reviews, r => r.Body.EndsWith($"<!-- reviewbot:sha={ShaA}:run=comment-delivery -->", StringComparison.Ordinal));
        Assert.Equal(ShaA, await db.ScalarAsync<string>("SELECT commit_sha FROM review_jobs WHERE run_id = 'comment-delivery'"));
        Assert.Equal(2, github.CheckRuns.Count);
    }
}
