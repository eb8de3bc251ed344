namespace ReviewBot.Jobs;

// Every statement against review_jobs lives here, named entity first. Values are always parameters.
internal static class JobSql
{
    public const string JobCountByStatus =
        """
        SELECT count(*) FILTER (WHERE status = 'pending')    AS pending,
               count(*) FILTER (WHERE status = 'processing') AS processing
        FROM review_jobs
        WHERE status IN ('pending', 'processing')
        """;

    // ---------------------------------------------------------------------------------------------
    // Intake: statements the webhook handler runs inside its delivery transaction.
    // ---------------------------------------------------------------------------------------------

    // One statement, so one implicit transaction and one round trip: record the delivery (a repeated
    // X-GitHub-Delivery inserts nothing and so does nothing else), make sure the installation row
    // exists, store the job unless its dedupe key already has one (a cancelled or superseded job of
    // that key, e.g. closed then reopened on the same SHA, is made pending again and keeps its check
    // run; a pending, running, completed or failed one is left alone), mark that pull request's older
    // pending jobs superseded. All CTEs see the same snapshot, so the UPDATE never
    // sees the new job; `commit_sha <> $9` keeps jobs of the same SHA (re-runs) alive, and an empty SHA
    // (issue_comment: head resolved by the job) supersedes nothing. Running jobs are left to the runner,
    // which checks for a newer job itself. Workers are woken after commit by JobNotify (JobWakeup).
    // $1 delivery_id, $2 event, $3 action, $4 installation_id, $5 repo_id, $6 repo_full_name,
    // $7 pr_number, $8 pr_title, $9 commit_sha, $10 base_branch, $11 trigger, $12 run_id,
    // $13 dedupe_key, $14 max_attempts
    public const string JobEnqueueFromDelivery =
        """
        WITH delivery AS (
            INSERT INTO webhook_deliveries (delivery_id, event, action, installation_id, outcome)
            VALUES ($1, $2, $3, $4, 'accepted')
            ON CONFLICT (delivery_id) DO NOTHING
            RETURNING delivery_id
        ), installation AS (
            INSERT INTO installations (id)
            SELECT $4 FROM delivery
            ON CONFLICT (id) DO NOTHING
        ), job AS (
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha,
                                     base_branch, trigger, run_id, delivery_id, dedupe_key, max_attempts)
            SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12, $1, $13, $14 FROM delivery
            ON CONFLICT (dedupe_key) DO UPDATE
            SET status = 'pending', conclusion = NULL, attempts = 0, run_after = now(), lease_owner = NULL,
                lease_expires_at = NULL, error_message = NULL, started_at = NULL, completed_at = NULL,
                trigger = EXCLUDED.trigger, delivery_id = EXCLUDED.delivery_id, pr_title = EXCLUDED.pr_title,
                updated_at = now()
            WHERE review_jobs.status IN ('cancelled', 'superseded')
            RETURNING id
        ), superseded AS (
            UPDATE review_jobs
            SET status = 'superseded', conclusion = 'cancelled', completed_at = now(), updated_at = now(),
                error_message = 'Superseded by a newer commit ' || left($9, 7)
            WHERE repo_id = $5 AND pr_number = $7 AND status = 'pending'
              AND $9 <> '' AND commit_sha <> '' AND commit_sha <> $9
              AND EXISTS (SELECT 1 FROM job)
            RETURNING id
        )
        SELECT (SELECT count(*) FROM delivery)   AS recorded,
               (SELECT id FROM job)              AS job_id,
               (SELECT count(*) FROM superseded) AS superseded
        """;

    // Wakes the job workers (they LISTEN review_jobs). Sent after the intake commits, coalesced by
    // JobWakeup: a NOTIFY inside every intake transaction takes PostgreSQL's global notify-queue lock
    // at each commit and cut intake from ~2,850 to ~980 transactions/s in pgbench (bench/RESULTS.md).
    public const string JobNotify =
        """
        NOTIFY review_jobs
        """;

    // pull_request closed: pending work for that pull request is cancelled (a running job finds out
    // through its own checks). $1 delivery_id, $2 event, $3 action, $4 installation_id, $5 repo_id, $6 pr_number
    public const string JobCancelForClosedPullRequest =
        """
        WITH delivery AS (
            INSERT INTO webhook_deliveries (delivery_id, event, action, installation_id, outcome)
            VALUES ($1, $2, $3, $4, 'accepted')
            ON CONFLICT (delivery_id) DO NOTHING
            RETURNING delivery_id
        ), cancelled AS (
            UPDATE review_jobs
            SET status = 'cancelled', conclusion = 'cancelled', completed_at = now(), updated_at = now(),
                error_message = 'Pull request closed'
            WHERE repo_id = $5 AND pr_number = $6 AND status = 'pending'
              AND EXISTS (SELECT 1 FROM delivery)
            RETURNING id
        )
        SELECT (SELECT count(*) FROM delivery) AS recorded,
               (SELECT count(*) FROM cancelled) AS cancelled
        """;

    // The primary key turns a repeated X-GitHub-Delivery into zero rows. $5 outcome: accepted | ignored
    public const string DeliveryInsert =
        """
        INSERT INTO webhook_deliveries (delivery_id, event, action, installation_id, outcome)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (delivery_id) DO NOTHING
        """;

    // Which of these GitHub delivery GUIDs were ever stored (delivery-recovery loop).
    public const string DeliveryFindRecorded =
        """
        SELECT delivery_id FROM webhook_deliveries WHERE delivery_id = ANY($1)
        """;

    // installation created / new_permissions_accepted / installation_repositories: the account may
    // have been renamed since, so the latest payload wins.
    public const string InstallationUpsert =
        """
        INSERT INTO installations (id, account_login, account_type)
        VALUES ($1, $2, $3)
        ON CONFLICT (id) DO UPDATE
        SET account_login = EXCLUDED.account_login, account_type = EXCLUDED.account_type, updated_at = now()
        """;

    // suspend sets, unsuspend clears ($2 null).
    public const string InstallationSetSuspended =
        """
        UPDATE installations SET suspended_at = $2, updated_at = now() WHERE id = $1
        """;

    // installation_settings and installation_repositories go with it (ON DELETE CASCADE).
    public const string InstallationDelete =
        """
        DELETE FROM installations WHERE id = $1
        """;

    public const string InstallationRepositoryUpsert =
        """
        INSERT INTO installation_repositories (installation_id, repo_id, full_name)
        SELECT $1, r.repo_id, r.full_name FROM unnest($2::bigint[], $3::text[]) AS r (repo_id, full_name)
        ON CONFLICT (installation_id, repo_id) DO UPDATE SET full_name = EXCLUDED.full_name
        """;

    public const string InstallationRepositoryDelete =
        """
        DELETE FROM installation_repositories WHERE installation_id = $1 AND repo_id = ANY($2)
        """;

    // installation deleted: nothing of that installation may run any more.
    public const string JobCancelForInstallation =
        """
        UPDATE review_jobs
        SET status = 'cancelled', conclusion = 'cancelled', completed_at = now(), updated_at = now(),
            error_message = 'ReviewBot was uninstalled'
        WHERE installation_id = $1 AND status = 'pending'
        """;

    // ---------------------------------------------------------------------------------------------
    // Queue: claiming, leases, completion, retries, recovery, pruning.
    // ---------------------------------------------------------------------------------------------



}
