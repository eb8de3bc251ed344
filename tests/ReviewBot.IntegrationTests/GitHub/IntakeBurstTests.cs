using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;

namespace ReviewBot.IntegrationTests.GitHub;

// Intake group-commits the deliveries that arrive together (JobIntake). Whatever shares a batch,
// every webhook must be answered as if it had arrived alone.
public sealed class IntakeBurstTests(WebhookAppFixture fixture) : IClassFixture<WebhookAppFixture>
{
    private const long RepoId = 186853002;

    private TestApp App => fixture.App;

    private TestDatabase Db => fixture.Database;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_burst_of_deliveries_stores_one_job_per_commit_and_answers_each_delivery_once()
    {
        await fixture.ResetAsync();
        const int PullRequests = 60;

        // Per pull request: the delivery, the same delivery again (a redelivery racing it), and a
        // second delivery of the same commit (GitHub sends synchronize and a re-run can follow):
        // all at once.
        var sends = new List<(int Pr, string Delivery, Task<HttpResponseMessage> Response)>();
        var bodies = Enumerable.Range(1, PullRequests)
            .Select(pr => Encoding.UTF8.GetBytes(Infrastructure.Webhooks.PullRequest("synchronize", 42, pr, Sha(pr))))
            .ToArray();
        for (var pr = 1; pr <= PullRequests; pr++)
        {
            var body = bodies[pr - 1];
            var delivery = $"burst-{pr}-a";
            sends.Add((pr, delivery, App.SendAsync("pull_request", body, delivery)));
            sends.Add((pr, delivery, App.SendAsync("pull_request", body, delivery)));
            sends.Add((pr, $"burst-{pr}-b", App.SendAsync("pull_request", body, $"burst-{pr}-b")));
        }

        var responses = await Task.WhenAll(sends.Select(s => s.Response));
        var answered = sends.Select((s, i) => (s.Pr, Status: responses[i].StatusCode)).ToList();
        foreach (var response in responses)
        {
            response.Dispose();
        }

        foreach (var group in answered.GroupBy(s => s.Pr))
        {
            var statuses = group.Select(s => s.Status).ToList();
            // Exactly one delivery stored the job; the others were a duplicate delivery or a
            // duplicate of the job, both answered 200.
            Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Accepted));
            Assert.Equal(2, statuses.Count(s => s == HttpStatusCode.OK));
        }

        Assert.Equal(PullRequests, await Db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE status = 'pending'"));
        Assert.Equal(PullRequests, await Db.ScalarAsync<long>("SELECT count(DISTINCT dedupe_key) FROM review_jobs"));
        Assert.Equal(2L * PullRequests, await Db.ScalarAsync<long>("SELECT count(*) FROM webhook_deliveries"));
    }

    [Fact]
    public async Task A_delivery_PostgreSQL_refuses_fails_alone_and_the_deliveries_beside_it_are_stored()
    {
        await fixture.ResetAsync();
        var intake = App.Services.GetRequiredService<JobIntake>();

        // A title PostgreSQL's text type refuses (U+0000; the webhook router never passes one on)
        // among forty deliveries sent at once, so it shares a batch with some of them.
        var calls = Enumerable.Range(1, 40)
            .Select(pr => (Pr: pr, Call: Enqueue(intake, $"refused-{pr}", 43, pr, pr == 20 ? "bad\0title" : "Title")))
            .ToList();

        foreach (var (pr, call) in calls)
        {
            if (pr == 20)
            {
                await Assert.ThrowsAsync<PostgresException>(() => call);
            }
            else
            {
                Assert.NotNull((await call).JobId);
            }
        }

        Assert.Equal(39L, await Db.ScalarAsync<long>("SELECT count(*) FROM review_jobs"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM webhook_deliveries WHERE delivery_id = 'refused-20'"));
    }

    [Fact]
    public async Task A_title_with_a_nul_character_is_stored_and_reviewed_not_refused()
    {
        await fixture.ResetAsync();
        var payload = Infrastructure.Webhooks.PullRequest("opened", 44, 7, Sha(7)).Replace("\"title\":\"", "\"title\":\"nul\\u0000here ", StringComparison.Ordinal);
        Assert.Contains("\\u0000", payload, StringComparison.Ordinal);

        using var response = await App.SendAsync("pull_request", Encoding.UTF8.GetBytes(payload));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith("nul\uFFFDhere", await Db.ScalarAsync<string>("SELECT pr_title FROM review_jobs WHERE pr_number = 7"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writers_give_their_connections_back_when_intake_goes_idle()
    {
        await fixture.ResetAsync();
        var intake = App.Services.GetRequiredService<JobIntake>();

        await Task.WhenAll(Enumerable.Range(1, 20).Select(pr => Enqueue(intake, $"idle-{pr}", 45, pr)));
        Assert.InRange(intake.HeldConnections, 1, 4);

        // IdleRelease is one second.
        for (var i = 0; i < 50 && intake.HeldConnections > 0; i++)
        {
            await Task.Delay(100, Ct);
        }

        Assert.Equal(0, intake.HeldConnections);
    }

    [Fact]
    public async Task A_connection_the_server_drops_is_replaced_without_refusing_a_delivery()
    {
        await fixture.ResetAsync();
        var intake = App.Services.GetRequiredService<JobIntake>();

        Assert.NotNull((await Enqueue(intake, "dropped-1", 46, 1)).JobId);
        Assert.InRange(intake.HeldConnections, 1, 4); // this one, and any other writer still within its idle second

        // The server ends every session of the app's pool, the writer's held one among them. The
        // test's own pool loses its idle sessions too: cleared, so that its next query does not meet one.
        await Db.ScalarAsync<long>(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
        Db.DataSource.Clear();

        // The writer finds out on its next batch, takes a fresh connection and writes the batch
        // again: no delivery is refused for it.
        for (var pr = 2; pr <= 6; pr++)
        {
            Assert.NotNull((await Enqueue(intake, $"dropped-{pr}", 46, pr)).JobId);
        }

        Assert.Equal(6L, await Db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE installation_id = 46"));
    }

    [Fact]
    public async Task A_delivery_chosen_as_a_deadlock_victim_is_written_again_not_refused()
    {
        await fixture.ResetAsync();
        var intake = App.Services.GetRequiredService<JobIntake>();

        // Another transaction creates installation 47 and stays open: the delivery waits for it...
        await using var other = await Db.DataSource.OpenConnectionAsync(Ct);
        await using var transaction = await other.BeginTransactionAsync(Ct);
        await using (var insert = new NpgsqlCommand("INSERT INTO installations (id) VALUES (47)", other, transaction))
        {
            await insert.ExecuteNonQueryAsync(Ct);
        }

        var enqueue = Enqueue(intake, "deadlock-1", 47, 1);
        await Task.Delay(300, Ct);

        // ...and then waits for the delivery's own row: PostgreSQL aborts the delivery's statement
        // (it waited first) after deadlock_timeout, and the other transaction goes on and rolls back.
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO webhook_deliveries (delivery_id, event, action, installation_id, outcome) VALUES ('deadlock-1', 'x', 'x', 47, 'accepted')", other, transaction))
        {
            await insert.ExecuteNonQueryAsync(Ct);
        }

        await transaction.RollbackAsync(Ct);

        Assert.NotNull((await enqueue.WaitAsync(TimeSpan.FromSeconds(10), Ct)).JobId);
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM webhook_deliveries WHERE delivery_id = 'deadlock-1'"));
    }

    private static Task<EnqueueResult> Enqueue(JobIntake intake, string delivery, long installation, int pr, string title = "Title") =>
        intake.EnqueueReviewAsync(
            new DeliveryInfo(delivery, "pull_request", "synchronize", installation),
            new ReviewRequest(installation, RepoId, "Codertocat/Hello-World", pr, title, Sha(pr), "main", "synchronize", null, DedupeKey.ForCommit(RepoId, pr, Sha(pr))),
            Ct);

    private static string Sha(int pr) => pr.ToString("x40", System.Globalization.CultureInfo.InvariantCulture);
}
