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
        $$"""
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
                -- Its old check run was concluded cancelled and stays so; the new attempt gets a new one.
                check_run_id = NULL, check_run_announced_at = NULL, check_run_requested_at = NULL, updated_at = now()
            WHERE review_jobs.status IN ('cancelled', 'superseded')
            RETURNING id
        ), superseded AS (
            UPDATE review_jobs
            SET status = 'superseded', conclusion = 'cancelled', completed_at = now(), updated_at = now(),
                error_message = 'Superseded by a newer commit ' || left($9, 7)
            WHERE repo_id = $5 AND pr_number = $7 AND status = 'pending'
              AND $9 <> '' AND commit_sha <> '' AND commit_sha <> $9
              -- Only a push supersedes: a re-run or an @reviewbot command ($12, their delivery) for an
              -- older commit is not a newer commit, and must not cancel the head's own review.
              AND $12 IS NULL
              -- A job that has (or may have) a check run on GitHub is left to the runner, which claims it
              -- and completes that check run as cancelled; this statement cannot.
              AND {{WithoutCheckRun}}
              AND EXISTS (SELECT 1 FROM job)
            RETURNING id
        )
        SELECT (SELECT count(*) FROM delivery)   AS recorded,
               (SELECT id FROM job)              AS job_id,
               (SELECT count(*) FROM superseded) AS superseded
        """;

    // A review_jobs row that has no check run on GitHub, not even one whose id was never stored (a
    // process died between GitHub's answer and storing it): no claim and no announcement ever asked
    // for one (check_run_requested_at, schema step 5; attempts = 0 covers rows claimed by a version
    // before that step). Only such a job may be superseded or cancelled by intake alone.
    private const string WithoutCheckRun =
        "check_run_id IS NULL AND check_run_requested_at IS NULL AND attempts = 0";

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
        $$"""
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
              -- One that has (or may have) a check run is left to the runner, which completes it.
              AND {{WithoutCheckRun}}
              AND EXISTS (SELECT 1 FROM delivery)
            RETURNING id
        )
        SELECT (SELECT count(*) FROM delivery) AS recorded,
               (SELECT count(*) FROM cancelled) AS cancelled
        """;

    // Taken while a review is looked for by its marker and posted (JobStore.LockPostingAsync). The
    // two-key form keeps these apart from the workers' bigint lease locks; released by PostingUnlock.
    public const string PostingLock =
        """
        SELECT pg_advisory_lock(1919250031, hashtext($1))
        """;

    public const string PostingUnlock =
        """
        SELECT pg_advisory_unlock(1919250031, hashtext($1))
        """;

    // A re-run from a fork's pull request: the pull request of the job behind the check run's external_id.
    public const string JobPullRequestOf =
        """
        SELECT pr_number, base_branch FROM review_jobs WHERE id = $1 AND installation_id = $2 AND repo_id = $3
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

    // `waiting`: each installation that has pending jobs, with its oldest (installation_id, run_after,
    // id), by a skip scan of review_jobs_pending_by_installation: one index probe per such
    // installation, so installations with nothing queued cost nothing, however many have ReviewBot
    // installed. Shared by the claim and "when is the next job due".
    private const string PendingByInstallation =
        """
        waiting AS (
            (SELECT p.installation_id, p.run_after, p.id
             FROM review_jobs p
             WHERE p.status = 'pending'
             ORDER BY p.installation_id, p.run_after, p.id
             LIMIT 1)
            UNION ALL
            SELECT n.installation_id, n.run_after, n.id
            FROM waiting w
            CROSS JOIN LATERAL (
                SELECT p.installation_id, p.run_after, p.id
                FROM review_jobs p
                WHERE p.status = 'pending' AND p.installation_id > w.installation_id
                ORDER BY p.installation_id, p.run_after, p.id
                LIMIT 1
            ) n
        )
        """;

    // Claims up to $2 runnable jobs in one statement (one round trip, one implicit transaction).
    //
    // Fairness: every installation with work offers its oldest runnable job first (rank 1), ordered
    // by how few reviews it runs now, so a quiet installation's first review never waits behind a busy
    // installation's backlog for more than one job slot. Only when fewer installations have work than
    // the batch wants does an installation offer more than one job (up to its free slots), so one
    // installation with a backlog and REVIEW_CONCURRENCY_PER_INSTALLATION 8 fills its 8 slots in one
    // round instead of eight.
    //
    // Cost: one index probe per installation with pending jobs (review_jobs_pending_by_installation),
    // so a claim costs the same with ten or ten thousand jobs queued and with ten or ten thousand
    // idle installations; the deeper probes run only when few installations have work (the one-time
    // filter on `depth`), so they cost at most about $2 rows.
    //
    // Locking: candidates are chosen first and only the $2 picked rows are locked, FOR UPDATE SKIP
    // LOCKED: a job another replica is claiming right now is passed over, never claimed twice, and the
    // re-check of j.status on the newest row version passes over a job claimed after our snapshot.
    //
    // Slots: installations.running is a row-locked increment whose WHERE is re-checked against the
    // committed value (READ COMMITTED re-evaluation), so REVIEW_CONCURRENCY_PER_INSTALLATION holds across
    // replicas; when another replica took a slot in between, that installation starts nothing this
    // round (its locked rows are let go at commit) and is offered again in the next.
    //
    // $1 per-installation limit, $2 batch size, $3 owner, $4 lease key, $5 lease seconds.
    // Returns the claimed jobs with their position in the fair order.
    public const string JobClaim =
        $$"""
        WITH RECURSIVE {{PendingByInstallation}},
        firsts AS (
            -- An installation whose oldest pending job is not due yet (a retry's backoff) has
            -- nothing runnable: its jobs are ordered by run_after.
            SELECT i.id AS installation_id, i.running, w.id, w.run_after
            FROM waiting w
            JOIN installations i ON i.id = w.installation_id
            WHERE w.run_after <= now() AND i.running < $1 AND i.suspended_at IS NULL
              AND (i.not_before IS NULL OR i.not_before <= now())
        ),
        depth AS (
            SELECT CASE WHEN count(*) >= $2 THEN 1 ELSE ceil($2::numeric / greatest(count(*), 1))::int END AS jobs
            FROM firsts
        ),
        ranked AS (
            SELECT f.installation_id, f.running, f.id, f.run_after, 1::bigint AS rank
            FROM firsts f
            UNION ALL
            SELECT f.installation_id, f.running, d.id, d.run_after, d.rank
            FROM firsts f
            CROSS JOIN LATERAL (
                SELECT p.id, p.run_after, row_number() OVER (ORDER BY p.run_after, p.id) AS rank
                FROM review_jobs p
                WHERE p.installation_id = f.installation_id AND p.status = 'pending' AND p.run_after <= now()
                ORDER BY p.run_after, p.id
                LIMIT least($1 - f.running, (SELECT jobs FROM depth))
            ) d
            WHERE (SELECT jobs FROM depth) > 1 AND d.rank > 1
        ),
        picked AS (
            SELECT r.installation_id, r.running, r.id, r.run_after, r.rank
            FROM ranked r
            ORDER BY r.rank, r.running, r.run_after, r.id
            LIMIT $2
        ),
        candidates AS (
            SELECT p.installation_id, p.running, p.id, p.run_after, p.rank,
                   -- Before this claim: may a check run with this job's external id already exist?
                   (j.check_run_requested_at IS NOT NULL OR j.check_run_announced_at IS NOT NULL OR j.attempts > 0) AS check_run_may_exist
            FROM picked p
            JOIN review_jobs j ON j.id = p.id
            WHERE j.status = 'pending'
              -- Not while a queued check run is being created for it (CheckRunAnnouncer): wait for its id.
              AND (j.check_run_id IS NOT NULL OR j.check_run_announced_at IS NULL
                   OR j.check_run_announced_at <= now() - interval '30 seconds')
            FOR UPDATE OF j SKIP LOCKED
        ),
        ordered AS (
            SELECT c.installation_id, c.id, c.check_run_may_exist, row_number() OVER (ORDER BY c.rank, c.running, c.run_after, c.id) AS position
            FROM candidates c
        ),
        wanted AS (
            SELECT c.installation_id, count(*)::int AS n FROM candidates c GROUP BY c.installation_id
        ),
        slots AS (
            UPDATE installations i
            SET running = i.running + w.n, updated_at = now()
            FROM wanted w
            WHERE i.id = w.installation_id AND i.running + w.n <= $1 AND i.suspended_at IS NULL
              AND (i.not_before IS NULL OR i.not_before <= now())
            RETURNING i.id
        )
        UPDATE review_jobs j
        SET status = 'processing',
            lease_owner = $3,
            lease_key = $4,
            lease_expires_at = now() + $5 * interval '1 second',
            heartbeat_at = now(),
            attempts = j.attempts + 1,
            -- This attempt creates the check run first thing if the job has none.
            check_run_requested_at = coalesce(j.check_run_requested_at, now()),
            updated_at = now()
        FROM ordered o
        JOIN slots s ON s.id = o.installation_id
        WHERE j.id = o.id AND j.status = 'pending'
        RETURNING j.id, j.installation_id, j.repo_id, j.repo_full_name, j.pr_number, j.pr_title, j.commit_sha,
                  j.base_branch, j.trigger, j.run_id, j.delivery_id, j.attempts, j.max_attempts, j.check_run_id, j.created_at,
                  o.position, o.check_run_may_exist
        """;

    // Renews the leases of the jobs this process still holds ($3: claimed and not yet concluded, see
    // RunningJobs) in one statement; a job missing from the result has been taken from us (lease
    // expired and recovered elsewhere) and must stop at once. Rows of ours that are not held (an
    // outcome that could not be written) are left to expire and be recovered.
    public const string JobHeartbeat =
        """
        UPDATE review_jobs
        SET heartbeat_at = now(), lease_expires_at = now() + $2 * interval '1 second'
        WHERE lease_owner = $1 AND status = 'processing' AND id = ANY($3)
        RETURNING id
        """;

    // A running job is orphaned when its lease expired, or ($2) when its owner's session-level advisory
    // lock is gone (the owner's connection died: kill -9, crash, OOM) and it has missed heartbeats for
    // $1 ms. The heartbeat condition keeps a live owner whose lock connection merely blipped from losing
    // its jobs; $2 is false right after the database itself came back (JobPresence.MayJudgeLocks).
    public const string JobRecoverOrphans =
        """
        WITH orphans AS (
            SELECT j.id, j.installation_id
            FROM review_jobs j
            WHERE j.status = 'processing'
              AND (j.lease_expires_at < now()
                   OR ($2 AND j.heartbeat_at < now() - $1 * interval '1 millisecond'
                       AND NOT EXISTS (
                           -- A bigint advisory lock shows in pg_locks split: classid is the high half, objid the low half.
                           SELECT 1
                           FROM pg_locks l
                           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                             AND ((l.classid::bigint << 32) | l.objid::bigint) = j.lease_key)))
            FOR UPDATE OF j SKIP LOCKED
        ),
        slots AS (
            UPDATE installations i
            SET running = greatest(i.running - o.n, 0)
            FROM (SELECT installation_id, count(*)::int AS n FROM orphans GROUP BY installation_id) o
            WHERE i.id = o.installation_id
        )
        UPDATE review_jobs j
        SET status = 'pending', lease_owner = NULL, lease_key = NULL, lease_expires_at = NULL,
            heartbeat_at = NULL, run_after = now(), updated_at = now()
        FROM orphans o
        WHERE j.id = o.id
        RETURNING j.id
        """;

    // Finishes jobs this worker still owns and frees their installation slots, in one statement
    // (JobCompleter batches whatever is waiting). Returns the ids actually finished; a missing id had
    // lost its lease (another worker owns it now and will finish it). $1 owner, then one array per
    // column: id, status, conclusion, error, review id, input/output tokens, comments posted/unanchored.
    public const string JobCompleteMany =
        """
        WITH input AS (
            SELECT *
            FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[], $8::int[], $9::int[], $10::int[])
                 AS t (id, status, conclusion, error, review_id, input_tokens, output_tokens, posted, unanchored)
        ),
        done AS (
            UPDATE review_jobs j
            SET status = t.status, conclusion = t.conclusion, error_message = t.error,
                review_id = coalesce(t.review_id, j.review_id),
                input_tokens = j.input_tokens + t.input_tokens, output_tokens = j.output_tokens + t.output_tokens,
                comments_posted = t.posted, comments_unanchored = t.unanchored,
                completed_at = now(), lease_owner = NULL, lease_key = NULL, lease_expires_at = NULL,
                heartbeat_at = NULL, updated_at = now()
            FROM input t
            WHERE j.id = t.id AND j.lease_owner = $1 AND j.status = 'processing'
            RETURNING j.id, j.installation_id
        ),
        slots AS (
            UPDATE installations i
            SET running = greatest(i.running - d.n, 0)
            FROM (SELECT installation_id, count(*)::int AS n FROM done GROUP BY installation_id) d
            WHERE i.id = d.installation_id
        )
        SELECT id FROM done
        """;

    // Puts a job this worker owns back in the queue. $3 delay in ms (added to the database's clock, so
    // replicas with skewed clocks still honour Retry-After), $4 error message (kept for the
    // settings API), $5 attempts to refund (1 when the attempt does not count: shutdown hand-back,
    // budget deferral), $6 input tokens, $7 output tokens spent on the attempt, $8 ms during which no
    // job of the installation may start (an upstream's Retry-After for the installation's credentials).
    public const string JobRelease =
        """
        WITH released AS (
            UPDATE review_jobs
            SET status = 'pending', run_after = now() + $3 * interval '1 millisecond', error_message = coalesce($4, error_message),
                attempts = greatest(attempts - $5, 0),
                input_tokens = input_tokens + $6, output_tokens = output_tokens + $7,
                lease_owner = NULL, lease_key = NULL, lease_expires_at = NULL, heartbeat_at = NULL, updated_at = now()
            WHERE id = $1 AND lease_owner = $2 AND status = 'processing'
            RETURNING installation_id
        ),
        slot AS (
            UPDATE installations i
            SET running = greatest(i.running - 1, 0),
                not_before = CASE WHEN $8 > 0
                                  THEN greatest(coalesce(i.not_before, now()), now() + $8 * interval '1 millisecond')
                                  ELSE i.not_before END
            FROM released WHERE i.id = released.installation_id
        )
        SELECT count(*)::int FROM released
        """;

    // A job stored without a head SHA (an `@reviewbot review` comment: the payload has none) gets the
    // pull request's head when it runs.
    public const string JobSetCommitSha =
        """
        UPDATE review_jobs SET commit_sha = $3, updated_at = now()
        WHERE id = $1 AND lease_owner = $2 AND commit_sha = ''
        """;

    // Announcer, step 1: takes up to $2 jobs that have waited at least $1 ms without a check run and
    // marks them announced, which keeps workers off them until step 2 (or for 30 s). Installations
    // that are suspended or in a GitHub cooldown are passed over: the call would only wait.
    public const string JobAnnounceTake =
        """
        UPDATE review_jobs j
        SET check_run_announced_at = now(), updated_at = now()
        FROM (
            SELECT r.id
            FROM review_jobs r
            JOIN installations i ON i.id = r.installation_id
            WHERE r.status = 'pending' AND r.check_run_id IS NULL AND r.check_run_announced_at IS NULL
              AND r.commit_sha <> '' AND r.created_at <= now() - $1 * interval '1 millisecond'
              AND i.suspended_at IS NULL AND (i.not_before IS NULL OR i.not_before <= now())
            ORDER BY r.created_at, r.id
            LIMIT $2
            FOR UPDATE OF r SKIP LOCKED
        ) c
        WHERE j.id = c.id
        RETURNING j.id, j.installation_id, j.repo_full_name, j.commit_sha
        """;

    // Announcer, before each create: the 30 s during which workers leave a marked job alone start
    // again for this job, since the jobs of one pass are created one after another (each up to 10 s).
    // No row: a worker has taken the job meanwhile (or it is no longer waiting), so no check run now.
    public const string JobAnnounceRenew =
        """
        UPDATE review_jobs SET check_run_announced_at = now(), check_run_requested_at = coalesce(check_run_requested_at, now())
        WHERE id = $1 AND status = 'pending' AND check_run_id IS NULL AND check_run_announced_at IS NOT NULL
        RETURNING id
        """;

    // Announcer, step 2: the queued check run's id, stored unless the job has one already or a worker
    // runs it now (it took the job after the 30 s, or after the announcer gave up on an answer that
    // then came): that worker adopts this check run by its external id or concludes it as a duplicate
    // when it finishes, and storing it here would only be overwritten by the worker's own. Returns
    // whether it was stored, the job's status (null: gone) and the check run the job had before (the
    // snapshot precedes the update): the announcer concludes a check run that no longer waits.
    public const string JobAnnounceDone =
        """
        WITH done AS (
            UPDATE review_jobs SET check_run_id = $2, updated_at = now()
            WHERE id = $1 AND check_run_id IS NULL AND status <> 'processing'
            RETURNING id
        )
        SELECT EXISTS (SELECT 1 FROM done), j.status, j.check_run_id
        FROM (SELECT 1) AS one
        LEFT JOIN review_jobs j ON j.id = $1
        """;

    // Announcer gave up on these (GitHub failed or did not answer in time): workers may claim them at
    // once, and still look their check run up by external id first (the mark stays).
    public const string JobAnnounceGaveUp =
        """
        UPDATE review_jobs SET check_run_announced_at = now() - interval '31 seconds'
        WHERE id = ANY($1) AND check_run_id IS NULL
        """;

    public const string JobSetCheckRun =
        """
        UPDATE review_jobs SET check_run_id = $3, updated_at = now()
        WHERE id = $1 AND lease_owner = $2
        RETURNING id
        """;

    // Budget per installation (reviews per hour), step 1: serialize budget decisions of one
    // installation across replicas on its row.
    public const string InstallationLockForBudget =
        """
        SELECT id FROM installations WHERE id = $1 FOR UPDATE
        """;

    // Step 2: when the $2-th most recent review start in the last hour exists, the budget is spent
    // until that start is an hour old.
    public const string JobBudgetNextSlot =
        """
        SELECT started_at + interval '1 hour' - now()
        FROM review_jobs
        WHERE installation_id = $1 AND id <> $3 AND started_at > now() - interval '1 hour'
        ORDER BY started_at DESC
        OFFSET $2 - 1
        LIMIT 1
        """;

    public const string JobMarkStarted =
        """
        UPDATE review_jobs SET started_at = coalesce(started_at, now()), updated_at = now()
        WHERE id = $1 AND lease_owner = $2
        """;

    // The last SHA of this pull request that got a review posted: the base of an incremental review.
    public const string JobLastReviewedSha =
        """
        SELECT commit_sha
        FROM review_jobs
        WHERE repo_id = $1 AND pr_number = $2 AND id < $3 AND status = 'completed'
          AND conclusion IN ('success', 'neutral') AND commit_sha <> $4
        ORDER BY completed_at DESC
        LIMIT 1
        """;

    // When the next pending job becomes claimable (retries, budget, an installation's Retry-After):
    // the dispatcher sleeps until then. Only installations that could take a job now count, so an
    // installation at its concurrency limit with a backlog does not make the dispatcher spin.
    // $1 per-installation limit.
    public const string JobNextRunAfter =
        $$"""
        WITH RECURSIVE {{PendingByInstallation}}
        SELECT min(greatest(w.run_after, coalesce(i.not_before, w.run_after))) - now()
        FROM waiting w
        JOIN installations i ON i.id = w.installation_id
        WHERE i.suspended_at IS NULL AND i.running < $1
        """;

    // Jobs of installations the webhook never told us about (ReviewBot deployed after the App was
    // installed) still need an installations row to be claimable.
    public const string InstallationInsertMissingForPendingJobs =
        """
        INSERT INTO installations (id)
        SELECT DISTINCT installation_id FROM review_jobs WHERE status = 'pending'
        ON CONFLICT (id) DO NOTHING
        """;

    // Repairs drift in installations.running, step 1: lock the rows that look wrong...
    public const string InstallationLockDrifted =
        """
        SELECT i.id
        FROM installations i
        WHERE i.running <> (SELECT count(*) FROM review_jobs j WHERE j.installation_id = i.id AND j.status = 'processing')
        ORDER BY i.id
        FOR UPDATE OF i
        """;

    // ...step 2, a new statement and so a new snapshot taken after the locks: no claim can commit in
    // between, so the recount is exact.
    public const string InstallationRecountRunning =
        """
        UPDATE installations i
        SET running = (SELECT count(*) FROM review_jobs j WHERE j.installation_id = i.id AND j.status = 'processing')
        WHERE i.id = ANY($1)
        """;

    // Pruning works in bounded batches so it never holds many row locks at once.
    public const string JobDeleteFinishedBefore =
        """
        DELETE FROM review_jobs
        WHERE id IN (
            SELECT id FROM review_jobs
            WHERE completed_at < now() - $1 * interval '1 day'
              AND status IN ('completed', 'failed', 'cancelled', 'superseded')
            LIMIT $2)
        """;

    public const string DeliveryDeleteBefore =
        """
        DELETE FROM webhook_deliveries
        WHERE delivery_id IN (
            SELECT delivery_id FROM webhook_deliveries WHERE received_at < now() - $1 * interval '1 day' LIMIT $2)
        """;
}
