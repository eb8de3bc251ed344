using System.Diagnostics;
using System.Globalization;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Jobs;

// Not a test: the orphan-recovery measurement of bench/recovery/run.sh (explicit, never in `make test`).
// Two replicas of the real binary; a review in flight on one is killed with SIGKILL; the time until a
// live replica runs it again is measured, ROUNDS times. The figures go to RECOVERY_RESULTS (a file).
public sealed class RecoveryMeasurement
{
    [Fact(Explicit = true)]
    public async Task Measure_orphan_recovery_after_kill_9()
    {
        var rounds = int.Parse(Environment.GetEnvironmentVariable("ROUNDS") ?? "5", CultureInfo.InvariantCulture);
        var output = Environment.GetEnvironmentVariable("RECOVERY_RESULTS") ?? Path.Combine(Path.GetTempPath(), "reviewbot-recovery.txt");
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5) { Latency = TimeSpan.FromMinutes(5) };
        var replicas = new List<ReviewBotProcess>();
        ReviewBotProcess Start()
        {
            var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
            env["GITHUB_API_URL"] = github.Url.ToString();
            env["OPENAI_BASE_URL"] = openAi.BaseUrl.ToString();
            env["LOG_LEVEL"] = "Warning";
            var p = ReviewBotProcess.Start(env);
            replicas.Add(p);
            return p;
        }

        try
        {
            await MeasureAsync(rounds, output, db, github, openAi, replicas, Start);
        }
        finally
        {
            foreach (var r in replicas)
            {
                await r.DisposeAsync();
            }
        }
    }

    private static async Task MeasureAsync(int rounds, string output, TestDatabase db, FakeGitHub github, FakeOpenAi openAi, List<ReviewBotProcess> replicas, Func<ReviewBotProcess> start)
    {
        var a = start();
        var b = start();
        await a.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        await b.WaitForHealthyAsync(TimeSpan.FromSeconds(30));

        var results = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var sha = $"{round:x2}c0000000000000000000000000000000000000dd";
            github.AddPull("Codertocat/Hello-World", 100 + round, sha, "diffs/modification-multiple-hunks.diff");
            var live = replicas.Where(r => !r.HasExited).ToList();
            // One installation per round: the previous round's review still holds its installation's slot.
            using (var client = new HttpClient { BaseAddress = live[0].BaseAddress })
            {
                await Webhooks.ConfigureInstallationAsync(client, 10 + round);
                await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 10 + round, 100 + round, sha));
            }

            var requestsBefore = openAi.Requests.Count;
            await QueueTestApp.WaitUntilAsync(() => Task.FromResult(openAi.Requests.Count > requestsBefore), TimeSpan.FromSeconds(30), "review in flight");
            var owner = await db.ScalarAsync<string>("SELECT lease_owner FROM review_jobs WHERE commit_sha = $1", sha);
            var victim = live.Single(r => owner.Contains($"/{r.Id}/", StringComparison.Ordinal));
            victim.KillHard();
            var killed = Stopwatch.StartNew();
            await QueueTestApp.WaitUntilAsync(
                async () => await db.ScalarAsync<bool>("SELECT status = 'processing' AND lease_owner <> $2 FROM review_jobs WHERE commit_sha = $1", sha, owner),
                TimeSpan.FromSeconds(60), "recovery");
            results.Add(killed.Elapsed.TotalMilliseconds);

            // Keep two replicas for the next round; finish this review quickly.
            var fresh = start();
            await fresh.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        }

        results.Sort();
        var line = string.Create(CultureInfo.InvariantCulture,
            $"orphan recovery after kill -9, live replica, {rounds} rounds: median {results[results.Count / 2]:F0} ms, min {results[0]:F0} ms, max {results[^1]:F0} ms (all: {string.Join(", ", results.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))})");
        await File.AppendAllTextAsync(output, line + Environment.NewLine, TestContext.Current.CancellationToken);
    }
}
