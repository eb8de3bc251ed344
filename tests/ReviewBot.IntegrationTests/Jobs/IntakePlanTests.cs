using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;

namespace ReviewBot.IntegrationTests.Jobs;

// The intake's UPDATEs of a pull request's pending jobs (supersede on a newer SHA, cancel on close)
// run as prepared statements (Npgsql auto-prepare), so PostgreSQL soon switches to one generic plan
// per connection and keeps it until the statistics change. That plan must find the pull request's
// pending jobs through an index on the pull request, whatever the statistics said when it was made:
// in a healthy deployment they say "almost nothing pending", and a plan that then walks the pending
// queue costs a scan of the whole backlog per delivery once one builds (bench/RESULTS.md, session 4).
public sealed class IntakePlanTests
{
    [Theory]
    [InlineData(nameof(JobSql.JobEnqueueFromDelivery))]
    [InlineData(nameof(JobSql.JobCancelForClosedPullRequest))]
    public async Task The_generic_plan_finds_a_pull_requests_pending_jobs_by_the_pull_request_with_a_backlog_the_statistics_never_saw(string statement)
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var db = await TestDatabase.CreateAsync();

        // A deployment that has been running: thousands of finished jobs, analyzed, nothing pending...
        await db.ExecuteAsync(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, commit_sha, trigger, dedupe_key, status, conclusion, completed_at)
            SELECT 1, 186853002, 'o/r', g % 500 + 1, md5(g::text), 'synchronize', 'history-' || g, 'completed', 'success', now()
            FROM generate_series(1, 5000) g
            """);
        await db.ExecuteAsync("ANALYZE review_jobs");
        // ...then a backlog the statistics have not caught up with (autoanalyze runs at most once a minute).
        await db.ExecuteAsync(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, commit_sha, trigger, dedupe_key)
            SELECT 1, 186853002, 'o/r', 1000 + g, md5(g::text), 'synchronize', 'backlog-' || g
            FROM generate_series(1, 20000) g
            """);

        var sql = statement == nameof(JobSql.JobEnqueueFromDelivery) ? JobSql.JobEnqueueFromDelivery : JobSql.JobCancelForClosedPullRequest;
        var parameterTypes = statement == nameof(JobSql.JobEnqueueFromDelivery)
            ? "text, text, text, bigint, bigint, text, integer, text, text, text, text, text, text, integer"
            : "text, text, text, bigint, bigint, integer";
        var arguments = statement == nameof(JobSql.JobEnqueueFromDelivery)
            ? "'d-1', 'pull_request', 'synchronize', 1, 186853002, 'o/r', 1005, 't', 'ffff', 'main', 'synchronize', NULL, 'k-1', 3"
            : "'d-1', 'pull_request', 'closed', 1, 186853002, 1005";

        await using var connection = await db.DataSource.OpenConnectionAsync(cancellation);
        await using (var prepare = new NpgsqlCommand($"SET plan_cache_mode = force_generic_plan; PREPARE intake ({parameterTypes}) AS {sql}", connection))
        {
            await prepare.ExecuteNonQueryAsync(cancellation);
        }

        var plan = new List<string>();
        await using (var explain = new NpgsqlCommand($"EXPLAIN EXECUTE intake ({arguments})", connection))
        await using (var reader = await explain.ExecuteReaderAsync(cancellation))
        {
            while (await reader.ReadAsync(cancellation))
            {
                plan.Add(reader.GetString(0));
            }
        }

        var text = string.Join("\n", plan);
        var update = plan.Single(line => line.Contains("Update on review_jobs", StringComparison.Ordinal));
        var scan = plan.SkipWhile(line => line != update).First(line => line.Contains(" on review_jobs", StringComparison.Ordinal) && line.Contains("Scan", StringComparison.Ordinal));
        Assert.True(scan.Contains("review_jobs_pending_pull_request", StringComparison.Ordinal), text);
    }
}
