using System.Diagnostics;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Jobs;

// The reliability promises, shown with the real binary: killed, signalled and restarted processes
// on one database never lose a review and never post one twice.
public sealed class CrashRecoveryTests
{
    private const string Repo = "Codertocat/Hello-World";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Environment(TestDatabase db, FakeGitHub github, FakeOpenAi openAi, int? shutdownSeconds = null)
    {
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        env["GITHUB_API_URL"] = github.Url.ToString();
        env["OPENAI_BASE_URL"] = openAi.BaseUrl.ToString();
        if (shutdownSeconds is { } s)
        {
            env["SHUTDOWN_TIMEOUT_SECONDS"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return env;
    }

    private static async Task<ReviewBotProcess> StartAsync(Dictionary<string, string> env)
    {
        var process = ReviewBotProcess.Start(env);
        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        return process;
    }

    private static Task WaitForJobsAsync(TestDatabase db, string condition, long count, TimeSpan timeout) =>
        QueueTestApp.WaitUntilAsync(async () => await db.ScalarAsync<long>($"SELECT count(*) FROM review_jobs WHERE {condition}") == count, timeout, condition);

    [Fact]
    public async Task Kill_9_mid_review_then_restart_posts_exactly_one_review_on_the_same_check_run()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(60) };
        const string sha = "c0ffee00000000000000000000000000000000aa";
        github.AddPull(Repo, 2, sha, "diffs/modification-multiple-hunks.diff");

        var first = await StartAsync(Environment(db, github, openAi));
        using (var client = new HttpClient { BaseAddress = first.BaseAddress })
        {
            await Webhooks.ConfigureInstallationAsync(client, 1);
            await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 1, 2, sha));
        }

        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(!openAi.Requests.IsEmpty), TimeSpan.FromSeconds(20), "the review to reach the model");
        first.KillHard();
        await first.DisposeAsync();
        openAi.Latency = TimeSpan.Zero;
        var killedAt = Stopwatch.StartNew();

        await using var second = await StartAsync(Environment(db, github, openAi));
        await WaitForJobsAsync(db, "status = 'completed'", 1, TimeSpan.FromSeconds(30));
        TestContext.Current.SendDiagnosticMessage($"kill -9 to completed review on restart: {killedAt.ElapsedMilliseconds} ms");

        Assert.Equal(1, github.ReviewsFor(Repo, 2, sha));
        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal(("completed", "neutral"), (checkRun.Last.Status, checkRun.Last.Conclusion));
        Assert.Equal(2, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));
        using var metricsClient = new HttpClient { BaseAddress = second.BaseAddress };
        Assert.Contains("reviewbot_jobs_recovered_total 1", await metricsClient.GetStringAsync("metrics", Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kill_9_after_GitHub_accepted_the_review_but_before_the_job_was_done_posts_no_second_review()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        const string sha = "5ca1ab1e000000000000000000000000000000cc";
        github.AddPull(Repo, 5, sha, "diffs/modification-multiple-hunks.diff");
        var first = await StartAsync(Environment(db, github, openAi));
        github.OnReviewStored = _ =>
        {
            github.OnReviewStored = null;
            first.KillHard();
        };
        using (var client = new HttpClient { BaseAddress = first.BaseAddress })
        {
            await Webhooks.ConfigureInstallationAsync(client, 1);
            await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 1, 5, sha));
        }

        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(first.HasExited), TimeSpan.FromSeconds(30), "the crash at posting");
        await first.DisposeAsync();
        Assert.Equal("processing", await db.ScalarAsync<string>("SELECT status FROM review_jobs"));

        await using var second = await StartAsync(Environment(db, github, openAi));
        await WaitForJobsAsync(db, "status = 'completed'", 1, TimeSpan.FromSeconds(30));

        Assert.Equal(1, github.ReviewsFor(Repo, 5, sha));
        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal("completed", checkRun.Last.Status);
        // The restarted attempt found the marker first: the model was asked once.
        Assert.Single(openAi.Requests);
    }

    [Fact]
    public async Task Kill_9_after_the_check_run_was_created_but_before_its_id_was_stored_reuses_that_check_run()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        const string sha = "c4ec4ec4000000000000000000000000000000ee";
        github.AddPull(Repo, 6, sha, "diffs/modification-multiple-hunks.diff");
        var first = await StartAsync(Environment(db, github, openAi));
        github.OnCheckRunCreated = _ =>
        {
            github.OnCheckRunCreated = null;
            first.KillHard();
        };
        using (var client = new HttpClient { BaseAddress = first.BaseAddress })
        {
            await Webhooks.ConfigureInstallationAsync(client, 1);
            await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 1, 6, sha));
        }

        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(first.HasExited), TimeSpan.FromSeconds(30), "the crash after creating the check run");
        await first.DisposeAsync();

        await using var second = await StartAsync(Environment(db, github, openAi));
        await WaitForJobsAsync(db, "status = 'completed'", 1, TimeSpan.FromSeconds(30));

        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal(("completed", "neutral"), (checkRun.Last.Status, checkRun.Last.Conclusion));
        Assert.Equal(checkRun.Id, await db.ScalarAsync<long>("SELECT check_run_id FROM review_jobs"));
        Assert.Equal(1, github.ReviewsFor(Repo, 6, sha));
    }

    [Fact]
    public async Task Kill_9_of_one_replica_hands_its_review_to_the_live_one()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(60) };
        const string sha = "d00d0000000000000000000000000000000000bb";
        github.AddPull(Repo, 3, sha, "diffs/modification-multiple-hunks.diff");
        var a = await StartAsync(Environment(db, github, openAi));
        var b = await StartAsync(Environment(db, github, openAi));
        using (var client = new HttpClient { BaseAddress = a.BaseAddress })
        {
            await Webhooks.ConfigureInstallationAsync(client, 1);
            await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 1, 3, sha));
        }

        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(!openAi.Requests.IsEmpty), TimeSpan.FromSeconds(20), "the review to reach the model");
        var owner = await db.ScalarAsync<string>("SELECT lease_owner FROM review_jobs");
        var (victim, survivor) = owner.Contains($"/{a.Id}/", StringComparison.Ordinal) ? (a, b) : (b, a);
        openAi.Latency = TimeSpan.Zero;
        victim.KillHard();
        var killedAt = Stopwatch.StartNew();

        await WaitForJobsAsync(db, "status = 'completed'", 1, TimeSpan.FromSeconds(30));
        TestContext.Current.SendDiagnosticMessage($"kill -9 to completed review on the live replica: {killedAt.ElapsedMilliseconds} ms");
        Assert.Equal(1, github.ReviewsFor(Repo, 3, sha));
        Assert.Single(github.CheckRuns.Values);
        Assert.Equal(2, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));
        using var metricsClient = new HttpClient { BaseAddress = survivor.BaseAddress };
        Assert.Contains("reviewbot_jobs_recovered_total 1", await metricsClient.GetStringAsync("metrics", Ct), StringComparison.Ordinal);
        await victim.DisposeAsync();
        await survivor.DisposeAsync();
    }

    [Fact]
    public async Task SIGTERM_lets_reviews_in_flight_finish_none_lost_none_failed()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(2) };
        var shas = Enumerable.Range(0, 3).Select(i => $"ee{i}0000000000000000000000000000000000000{i}").ToArray();
        await using var process = await StartAsync(Environment(db, github, openAi, shutdownSeconds: 20));
        using (var client = new HttpClient { BaseAddress = process.BaseAddress })
        {
            for (var i = 0; i < shas.Length; i++)
            {
                github.AddPull($"octo/repo{i}", 10 + i, shas[i], "diffs/modification-multiple-hunks.diff");
                await Webhooks.ConfigureInstallationAsync(client, 100 + i);
                await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 100 + i, 10 + i, shas[i], repo: $"octo/repo{i}", repoId: 5000 + i));
            }
        }

        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(openAi.Requests.Count >= 3), TimeSpan.FromSeconds(20), "three reviews in flight");
        process.Terminate();

        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(3L, await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE status = 'completed' AND conclusion = 'neutral'"));
        for (var i = 0; i < shas.Length; i++)
        {
            Assert.Equal(1, github.ReviewsFor($"octo/repo{i}", 10 + i, shas[i]));
        }
    }

    [Fact]
    public async Task SIGTERM_past_the_grace_period_hands_reviews_back_for_the_next_start()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(60) };
        const string sha = "ff00000000000000000000000000000000000011";
        github.AddPull(Repo, 4, sha, "diffs/modification-multiple-hunks.diff");
        var first = await StartAsync(Environment(db, github, openAi, shutdownSeconds: 1));
        using (var client = new HttpClient { BaseAddress = first.BaseAddress })
        {
            await Webhooks.ConfigureInstallationAsync(client, 1);
            await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 1, 4, sha));
        }

        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(!openAi.Requests.IsEmpty), TimeSpan.FromSeconds(20), "the review to reach the model");
        first.Terminate();
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        await first.DisposeAsync();

        // Handed back: pending, runnable now, no attempt charged.
        Assert.Equal("pending", await db.ScalarAsync<string>("SELECT status FROM review_jobs"));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));

        openAi.Latency = TimeSpan.Zero;
        await using var second = await StartAsync(Environment(db, github, openAi));
        await WaitForJobsAsync(db, "status = 'completed'", 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, github.ReviewsFor(Repo, 4, sha));
        var checkRun = Assert.Single(github.CheckRuns.Values);
        Assert.Equal("completed", checkRun.Last.Status);
    }

    // The web server and the workers stop side by side: a request still arriving when SIGTERM lands
    // (here a webhook body trickling in just above Kestrel's minimum data rate) used to hold the
    // reviews' grace and hand-back until the web server had drained, past an orchestrator's kill.
    // That request itself is answered 503, which GitHub shows as failed and the recovery loop asks
    // for again; it used to get a 401 over its partial body, which nothing redelivers.
    [Fact]
    public async Task A_slow_request_in_flight_neither_holds_back_the_hand_back_nor_gets_a_final_401()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromSeconds(60) };
        const string sha = "ff00000000000000000000000000000000000012";
        github.AddPull(Repo, 4, sha, "diffs/modification-multiple-hunks.diff");
        await using var first = await StartAsync(Environment(db, github, openAi, shutdownSeconds: 1));
        using (var client = new HttpClient { BaseAddress = first.BaseAddress })
        {
            await Webhooks.ConfigureInstallationAsync(client, 1);
            await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 1, 4, sha));
        }

        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(!openAi.Requests.IsEmpty), TimeSpan.FromSeconds(20), "the review to reach the model");

        using var slow = new System.Net.Sockets.TcpClient();
        await slow.ConnectAsync(first.BaseAddress.Host, first.BaseAddress.Port, Ct);
        var stream = slow.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            "POST /api/github/webhooks HTTP/1.1\r\nHost: reviewbot\r\nContent-Type: application/json\r\nX-GitHub-Event: ping\r\n" +
            "X-GitHub-Delivery: slow-1\r\nX-Hub-Signature-256: sha256=" + new string('0', 64) + "\r\nContent-Length: 1000000\r\n\r\n"), Ct);
        using var stopSending = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            var chunk = new byte[300];
            while (!stopSending.IsCancellationRequested)
            {
                await stream.WriteAsync(chunk, Ct);
                await Task.Delay(1000, stopSending.Token);
            }
        }, Ct);
        await Task.Delay(500, Ct);

        first.Terminate();

        // Handed back (pending, no attempt charged) within the grace, not after the web server's drain.
        await WaitForJobsAsync(db, "status = 'pending' AND attempts = 0", 1, TimeSpan.FromSeconds(8));

        var answer = new byte[256];
        using var read = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        read.CancelAfter(TimeSpan.FromSeconds(10));
        var count = await stream.ReadAsync(answer, read.Token);
        Assert.StartsWith("HTTP/1.1 503", System.Text.Encoding.ASCII.GetString(answer, 0, count), StringComparison.Ordinal);

        await stopSending.CancelAsync();
        await sending.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        slow.Close();
        var exit = await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, $"exit {exit}\n{string.Join('\n', first.StandardError)}\n{string.Join('\n', first.StandardOutput.TakeLast(30))}");
    }

    [Fact]
    public async Task Per_installation_limit_holds_across_two_processes()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromMilliseconds(400) };
        await using var a = await StartAsync(Environment(db, github, openAi));
        await using var b = await StartAsync(Environment(db, github, openAi));
        using var clientA = new HttpClient { BaseAddress = a.BaseAddress };
        using var clientB = new HttpClient { BaseAddress = b.BaseAddress };
        await Webhooks.ConfigureInstallationAsync(clientA, 1);
        for (var i = 0; i < 6; i++)
        {
            var sha = $"ab{i}0000000000000000000000000000000000000{i}";
            github.AddPull(Repo, 20 + i, sha, "diffs/modification-multiple-hunks.diff");
            await Webhooks.SendAsync(i % 2 == 0 ? clientA : clientB, "pull_request", Webhooks.PullRequest("opened", 1, 20 + i, sha));
        }

        await WaitForJobsAsync(db, "status = 'completed'", 6, TimeSpan.FromSeconds(60));
        Assert.Equal(1, openAi.MaxInFlight);
        Assert.Equal(6, github.Reviews.Count);
        Assert.True(await db.ScalarAsync<long>("SELECT count(DISTINCT split_part(lease_owner, '/', 2)) FROM review_jobs") >= 0);
    }
}
