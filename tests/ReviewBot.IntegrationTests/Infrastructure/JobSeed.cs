using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Infrastructure;

// Inserts review jobs the way the webhook intake does (row + installation + NOTIFY), for queue tests.
internal static class JobSeed
{
    public static async Task<long> InsertAsync(TestDatabase db, long installationId, int pr, string sha, long repoId = 0, DateTimeOffset? createdAt = null)
    {
        repoId = repoId == 0 ? installationId * 1000 : repoId;
        await db.ExecuteAsync("INSERT INTO installations (id) VALUES ($1) ON CONFLICT DO NOTHING", installationId);
        var id = await db.ScalarAsync<long>(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, base_branch, trigger, dedupe_key, created_at, run_after)
            VALUES ($1, $2, 'octo/repo-' || $1::text, $3, 'Title', $4, 'main', 'opened', $2::text || ':' || $3::text || ':' || $4, $5, $5)
            RETURNING id
            """,
            installationId, repoId, pr, sha, createdAt ?? DateTimeOffset.UtcNow);
        await db.ExecuteAsync("NOTIFY review_jobs");
        return id;
    }

    public static Task<string> StatusAsync(TestDatabase db, long jobId) =>
        db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE id = $1", jobId);
}
