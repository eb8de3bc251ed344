using System.Collections.Concurrent;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;

namespace ReviewBot.IntegrationTests.Jobs;

public sealed class JobStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Claim_by_concurrent_workers_never_hands_one_job_to_two()
    {
        await using var db = await TestDatabase.CreateAsync();
        for (var i = 0; i < 200; i++)
        {
            await JobSeed.InsertAsync(db, installationId: 1 + (i % 40), pr: i, sha: $"sha{i}");
        }

        // Four "replicas", each with its own connection pool.
        var claimed = new ConcurrentBag<long>();
        var replicas = Enumerable.Range(0, 4).Select(async _ =>
        {
            await using var dataSource = new NpgsqlSlimDataSourceBuilder(db.ConnectionString).EnableArrays().Build();
            var store = new JobStore(dataSource);
            var worker = new WorkerIdentity();
            while (true)
            {
                var jobs = await store.ClaimAsync(7, 1000, worker, 60, Ct);
                if (jobs.Count == 0 && await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE status = 'pending'") == 0)
                {
                    break;
                }

                foreach (var job in jobs)
                {
                    claimed.Add(job.Id);
                    Assert.True(await store.CompleteAsync(job, worker, "completed", "success", null, null, 0, 0, 0, 0, Ct));
                }
            }
        });
        await Task.WhenAll(replicas);

        Assert.Equal(200, claimed.Count);
        Assert.Equal(200, claimed.Distinct().Count());
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT coalesce(sum(running), 0) FROM installations"));
    }

    // CheckRunAnnouncer's two steps: a job taken for a queued check run is not claimed until its check
    // run id is stored (or 30 s have passed), so it never gets two; a job that no longer waits when the
    // id arrives says so, for the announcer to conclude that check run.
    [Fact]
    public async Task A_job_being_announced_is_not_claimed_until_its_queued_check_run_is_stored()
    {
        await using var db = await TestDatabase.CreateAsync();
        var old = DateTimeOffset.UtcNow.AddSeconds(-10);
        var waiting = await JobSeed.InsertAsync(db, installationId: 5, pr: 1, sha: "a1", createdAt: old);
        var superseded = await JobSeed.InsertAsync(db, installationId: 6, pr: 2, sha: "b1", createdAt: old);
        var fresh = await JobSeed.InsertAsync(db, installationId: 7, pr: 3, sha: "c1");
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();

        var taken = await store.TakeForAnnouncementAsync(TimeSpan.FromSeconds(5), 10, Ct);
        Assert.Equal(new[] { waiting, superseded }, taken.Select(j => j.Id).Order());
        Assert.Empty(await store.TakeForAnnouncementAsync(TimeSpan.FromSeconds(5), 10, Ct));

        // Only the job that was not taken can be claimed while the announcements are in flight.
        Assert.Equal(new[] { fresh }, (await store.ClaimAsync(10, 10, worker, 60, Ct)).Select(j => j.Id));

        await db.ExecuteAsync("UPDATE review_jobs SET status = 'superseded' WHERE id = $1", superseded);
        Assert.Equal((true, "pending", (long?)null), await store.AnnouncedAsync(waiting, 9001, Ct));
        Assert.Equal((true, "superseded", (long?)null), await store.AnnouncedAsync(superseded, 9002, Ct));
        // A second store for the same job keeps the first check run and names it.
        Assert.Equal((false, "pending", (long?)9001), await store.AnnouncedAsync(waiting, 9003, Ct));
        Assert.Equal((false, (string?)null, (long?)null), await store.AnnouncedAsync(999_999, 9004, Ct));

        var claimed = Assert.Single(await store.ClaimAsync(10, 10, worker, 60, Ct));
        Assert.Equal((waiting, 9001L, true), (claimed.Id, claimed.CheckRunId!.Value, claimed.CheckRunMayExist));

        // A marked job whose check run never arrived is claimable again after 30 s, still marked, so the
        // worker looks its check run up by external id before creating one.
        var lost = await JobSeed.InsertAsync(db, installationId: 8, pr: 4, sha: "d1", createdAt: old);
        Assert.Equal(lost, Assert.Single(await store.TakeForAnnouncementAsync(TimeSpan.FromSeconds(5), 10, Ct)).Id);
        Assert.Empty(await store.ClaimAsync(10, 10, worker, 60, Ct));
        await db.ExecuteAsync("UPDATE review_jobs SET check_run_announced_at = now() - interval '31 seconds' WHERE id = $1", lost);
        var retaken = Assert.Single(await store.ClaimAsync(10, 10, worker, 60, Ct));
        Assert.Equal((lost, (long?)null, true), (retaken.Id, retaken.CheckRunId, retaken.CheckRunMayExist));

        // One the announcer gave up on (GitHub failing) is claimable at once, and still marked.
        var failed = await JobSeed.InsertAsync(db, installationId: 9, pr: 5, sha: "e1", createdAt: old);
        Assert.Equal(failed, Assert.Single(await store.TakeForAnnouncementAsync(TimeSpan.FromSeconds(5), 10, Ct)).Id);
        await store.AnnouncementGaveUpAsync([failed], Ct);
        var taken2 = Assert.Single(await store.ClaimAsync(10, 10, worker, 60, Ct));
        Assert.Equal((failed, true), (taken2.Id, taken2.CheckRunMayExist));

        // The answer the announcer gave up on came after all: the worker that runs the job now adopts
        // that check run or concludes it as a duplicate, so it is not stored over the worker's own.
        Assert.Equal((false, "processing", (long?)null), await store.AnnouncedAsync(failed, 9005, Ct));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT coalesce(check_run_id, 0) FROM review_jobs WHERE id = $1", failed));
        Assert.Empty(await store.TakeForAnnouncementAsync(TimeSpan.FromSeconds(5), 10, Ct));
    }

    // The announcer's store can meet a claim of the same job in flight: it waits for the claim's commit
    // and does not store, but its snapshot still shows the job pending. The announcer reads "not stored,
    // pending, no check run" as a worker having taken the job, and leaves the check run to it.
    [Fact]
    public async Task An_announcement_that_waited_for_a_claim_is_not_stored_and_still_reads_pending()
    {
        await using var db = await TestDatabase.CreateAsync();
        var job = await JobSeed.InsertAsync(db, installationId: 22, pr: 1, sha: "g1");
        var store = new JobStore(db.DataSource);
        await using var connection = await db.DataSource.OpenConnectionAsync(Ct);
        await using var claim = await connection.BeginTransactionAsync(Ct);
        await using (var update = new Npgsql.NpgsqlCommand("UPDATE review_jobs SET status = 'processing', lease_owner = 'other' WHERE id = $1", connection, claim))
        {
            update.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = job });
            await update.ExecuteNonQueryAsync(Ct);
        }

        var announced = store.AnnouncedAsync(job, 9100, Ct);
        await Task.Delay(300, Ct);
        Assert.False(announced.IsCompleted);
        await claim.CommitAsync(Ct);

        Assert.Equal((false, "pending", (long?)null), await announced);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT coalesce(check_run_id, 0) FROM review_jobs WHERE id = $1", job));
    }

    // One announcement pass creates its jobs' check runs one after another, each up to 10 s: the 30 s a
    // worker leaves a marked job alone count from that job's own turn, not from the pass's start, or a
    // worker could take a later job of the batch and create a second check run beside the announcer's.
    [Fact]
    public async Task Each_announcement_renews_its_jobs_claim_exclusion_and_skips_jobs_taken_meanwhile()
    {
        await using var db = await TestDatabase.CreateAsync();
        var old = DateTimeOffset.UtcNow.AddSeconds(-60);
        var first = await JobSeed.InsertAsync(db, installationId: 20, pr: 1, sha: "f1", createdAt: old);
        var later = await JobSeed.InsertAsync(db, installationId: 21, pr: 2, sha: "f2", createdAt: old);
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();
        Assert.Equal(2, (await store.TakeForAnnouncementAsync(TimeSpan.FromSeconds(5), 10, Ct)).Count);

        // The pass's first create took long: both marks are 31 s old when the later job's turn comes.
        await db.ExecuteAsync("UPDATE review_jobs SET check_run_announced_at = now() - interval '31 seconds'");
        Assert.True(await store.RenewAnnouncementAsync(later, Ct));
        Assert.Equal(first, Assert.Single(await store.ClaimAsync(10, 10, worker, 60, Ct)).Id);

        // A job a worker took meanwhile is not announced at all.
        Assert.False(await store.RenewAnnouncementAsync(first, Ct));
    }

    [Fact]
    public async Task Claim_holds_the_per_installation_limit_across_replicas()
    {
        await using var db = await TestDatabase.CreateAsync();
        for (var i = 0; i < 30; i++)
        {
            await JobSeed.InsertAsync(db, installationId: 7, pr: i, sha: $"s{i}");
        }

        var maxRunning = 0;
        var running = 0;
        var gate = new Lock();
        var replicas = Enumerable.Range(0, 3).Select(async _ =>
        {
            await using var dataSource = new NpgsqlSlimDataSourceBuilder(db.ConnectionString).EnableArrays().Build();
            var store = new JobStore(dataSource);
            var worker = new WorkerIdentity();
            var idle = 0;
            while (idle < 20)
            {
                var jobs = await store.ClaimAsync(5, 2, worker, 60, Ct);
                if (jobs.Count == 0)
                {
                    idle++;
                    await Task.Yield();
                    continue;
                }

                idle = 0;
                lock (gate)
                {
                    running += jobs.Count;
                    maxRunning = Math.Max(maxRunning, running);
                }

                await Task.Delay(5, Ct);
                foreach (var job in jobs)
                {
                    lock (gate)
                    {
                        running--;
                    }

                    await store.CompleteAsync(job, worker, "completed", "success", null, null, 0, 0, 0, 0, Ct);
                }
            }
        });
        await Task.WhenAll(replicas);

        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE status <> 'completed'"));
        Assert.InRange(maxRunning, 1, 2);
    }

    [Fact]
    public async Task Claim_gives_a_quiet_installation_the_next_slot_before_a_busy_backlog()
    {
        await using var db = await TestDatabase.CreateAsync();
        var old = DateTimeOffset.UtcNow.AddMinutes(-30);
        for (var i = 0; i < 100; i++)
        {
            await JobSeed.InsertAsync(db, installationId: 1, pr: i, sha: $"busy{i}", createdAt: old.AddSeconds(i));
        }

        var quiet = await JobSeed.InsertAsync(db, installationId: 2, pr: 1, sha: "quiet");
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();

        var first = Assert.Single(await store.ClaimAsync(1, 4, worker, 60, Ct));
        Assert.Equal(1, first.InstallationId);

        // The busy installation has one running review and may run more (limit 4), but the quiet
        // installation, with none running, comes first.
        var second = Assert.Single(await store.ClaimAsync(1, 4, worker, 60, Ct));
        Assert.Equal(quiet, second.Id);
    }

    [Fact]
    public async Task Claim_fills_every_free_slot_of_a_lone_installation_in_one_round()
    {
        await using var db = await TestDatabase.CreateAsync();
        var old = DateTimeOffset.UtcNow.AddMinutes(-30);
        var ids = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add(await JobSeed.InsertAsync(db, installationId: 5, pr: i, sha: $"s{i}", createdAt: old.AddSeconds(i)));
        }

        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();

        // Limit 4 per installation, batch 8: the four oldest jobs, in order, in one round trip.
        var first = await store.ClaimAsync(8, 4, worker, 60, Ct);
        Assert.Equal(ids.Take(4), first.Select(j => j.Id));
        Assert.Equal(4, await db.ScalarAsync<int>("SELECT running FROM installations WHERE id = 5"));
        Assert.Empty(await store.ClaimAsync(8, 4, worker, 60, Ct));

        // One finishes: exactly one more may start.
        Assert.True(await store.CompleteAsync(first[0], worker, "completed", "success", null, null, 0, 0, 0, 0, Ct));
        var next = Assert.Single(await store.ClaimAsync(8, 4, worker, 60, Ct));
        Assert.Equal(ids[4], next.Id);
    }

    [Fact]
    public async Task Claim_offers_every_installation_its_first_job_before_any_installation_a_second()
    {
        await using var db = await TestDatabase.CreateAsync();
        var old = DateTimeOffset.UtcNow.AddMinutes(-30);
        var busy = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            busy.Add(await JobSeed.InsertAsync(db, installationId: 1, pr: i, sha: $"busy{i}", createdAt: old.AddSeconds(i)));
        }

        var other = await JobSeed.InsertAsync(db, installationId: 2, pr: 1, sha: "other1", createdAt: old.AddMinutes(1));
        var otherSecond = await JobSeed.InsertAsync(db, installationId: 2, pr: 2, sha: "other2", createdAt: old.AddMinutes(2));
        var quiet = await JobSeed.InsertAsync(db, installationId: 3, pr: 1, sha: "quiet", createdAt: old.AddMinutes(3));
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();

        // Batch 4, limit 8: three first jobs (oldest first), then the oldest second job.
        var claimed = await store.ClaimAsync(4, 8, worker, 60, Ct);
        Assert.Equal([busy[0], other, quiet, busy[1]], claimed.Select(j => j.Id));

        // The rest, up to the per-installation limit: every remaining job, the first jobs of each
        // installation first.
        var rest = await store.ClaimAsync(20, 8, worker, 60, Ct);
        Assert.Equal([busy[2], otherSecond], rest.Take(2).Select(j => j.Id).Order());
        Assert.Equal(busy.Skip(2).Append(otherSecond).Order(), rest.Select(j => j.Id).Order());
        var running = await db.ScalarAsync<string>("SELECT string_agg(running::text, ',' ORDER BY id) FROM installations");
        Assert.Equal("6,2,1", running);
    }

    [Fact]
    public async Task Claim_skips_suspended_installations_and_future_run_after()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 3, pr: 1, sha: "a");
        await db.ExecuteAsync("UPDATE installations SET suspended_at = now() WHERE id = 3");
        var later = await JobSeed.InsertAsync(db, installationId: 4, pr: 1, sha: "b");
        await db.ExecuteAsync("UPDATE review_jobs SET run_after = now() + interval '1 hour' WHERE id = $1", later);

        Assert.Empty(await new JobStore(db.DataSource).ClaimAsync(10, 1, new WorkerIdentity(), 60, Ct));
    }

    // Right after the database came back, every replica's lock is missing and every heartbeat is stale
    // at once: the sweep that may not judge locks (JobPresence.MayJudgeLocks) leaves a job whose lease
    // still runs to its owner, who is about to heartbeat and lock again. An expired lease still counts.
    [Fact]
    public async Task A_sweep_that_may_not_judge_locks_recovers_only_expired_leases()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 16, pr: 1, sha: "outage");
        var store = new JobStore(db.DataSource);
        var owner = new WorkerIdentity();
        var job = Assert.Single(await store.ClaimAsync(1, 1, owner, 60, Ct));
        await db.ExecuteAsync("UPDATE review_jobs SET heartbeat_at = now() - interval '10 seconds'");

        Assert.Empty(await store.RecoverOrphansAsync(TimeSpan.FromSeconds(2.5), judgeLocks: false, Ct));
        Assert.Equal("processing", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE id = $1", job.Id));

        Assert.Equal([job.Id], await store.RecoverOrphansAsync(TimeSpan.FromSeconds(2.5), judgeLocks: true, Ct));
    }

    [Fact]
    public async Task Orphans_of_a_dead_worker_are_recovered_but_a_live_worker_keeps_its_jobs()
    {
        await using var db = await TestDatabase.CreateAsync();
        var deadJob = await JobSeed.InsertAsync(db, installationId: 10, pr: 1, sha: "dead");
        var liveJob = await JobSeed.InsertAsync(db, installationId: 11, pr: 1, sha: "live");
        var store = new JobStore(db.DataSource);
        var dead = new WorkerIdentity();
        var live = new WorkerIdentity();

        // Each worker holds its presence lock on its own connection, as JobPresence does.
        var deadConnection = await HoldLockAsync(db, dead);
        await using var liveConnection = await HoldLockAsync(db, live);
        Assert.Single(await store.ClaimAsync(1, 1, dead, 60, Ct));
        Assert.Single(await store.ClaimAsync(1, 1, live, 60, Ct));
        await db.ExecuteAsync("UPDATE review_jobs SET heartbeat_at = now() - interval '10 seconds'");

        // While both are alive nothing is recovered, however old the heartbeats.
        Assert.Empty(await store.RecoverOrphansAsync(TimeSpan.FromSeconds(2), judgeLocks: true, Ct));

        // The dead worker's session ends (as when its process is killed): its lock is released.
        await deadConnection.DisposeAsync();
        NpgsqlConnection.ClearPool(deadConnection);

        var recovered = await PollAsync(() => store.RecoverOrphansAsync(TimeSpan.FromSeconds(2), judgeLocks: true, Ct), r => r.Count > 0);
        Assert.Equal([deadJob], recovered);
        Assert.Equal("pending", await JobSeed.StatusAsync(db, deadJob));
        Assert.Equal("processing", await JobSeed.StatusAsync(db, liveJob));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT running FROM installations WHERE id = 10"));
    }

    [Fact]
    public async Task Orphan_with_recent_heartbeat_is_not_recovered_even_without_its_lock()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 12, pr: 1, sha: "blip");
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();
        var claimed = Assert.Single(await store.ClaimAsync(1, 1, worker, 60, Ct));

        // No lock held (its lock connection blipped) but heartbeats are fresh: still ours.
        await store.HeartbeatAsync(worker, [claimed.Id], 60, Ct);
        Assert.Empty(await store.RecoverOrphansAsync(TimeSpan.FromSeconds(5), judgeLocks: true, Ct));
    }

    // A worker whose outcome write was lost (the database stayed away past the runner's retries) goes
    // on running other jobs, so it keeps heartbeating; the job it gave up on must not be renewed with
    // them, or it stays "processing" (and holds its installation's slot) for as long as the worker lives.
    [Fact]
    public async Task The_heartbeat_renews_only_the_jobs_the_worker_still_holds()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 14, pr: 1, sha: "given-up");
        await JobSeed.InsertAsync(db, installationId: 15, pr: 1, sha: "running");
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();
        await using var workerLock = await HoldLockAsync(db, worker);
        var claimed = await store.ClaimAsync(2, 1, worker, 2, Ct);
        Assert.Equal(2, claimed.Count);
        var givenUp = claimed.Single(j => j.InstallationId == 14);
        var running = claimed.Single(j => j.InstallationId == 15);

        for (var beat = 0; beat < 4; beat++)
        {
            Assert.Equal([running.Id], await store.HeartbeatAsync(worker, [running.Id], 2, Ct));
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        }

        // Its lease ran out although its owner is alive and heartbeating: recovered, and claimable again.
        Assert.Equal([givenUp.Id], await store.RecoverOrphansAsync(TimeSpan.FromSeconds(30), judgeLocks: true, Ct));
        Assert.Equal("processing", await db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE id = $1", running.Id));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT running FROM installations WHERE id = 14"));
    }

    [Fact]
    public async Task Expired_lease_is_recovered_and_the_old_owner_can_no_longer_finish()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 13, pr: 1, sha: "x");
        var store = new JobStore(db.DataSource);
        var first = new WorkerIdentity();
        await using var firstLock = await HoldLockAsync(db, first);
        var job = Assert.Single(await store.ClaimAsync(1, 1, first, 60, Ct));
        await db.ExecuteAsync("UPDATE review_jobs SET lease_expires_at = now() - interval '1 second'");

        Assert.Single(await store.RecoverOrphansAsync(TimeSpan.FromSeconds(2), judgeLocks: true, Ct));
        var second = new WorkerIdentity();
        var again = Assert.Single(await store.ClaimAsync(1, 1, second, 60, Ct));
        Assert.Equal(job.Id, again.Id);
        Assert.Equal(2, again.Attempts);

        Assert.False(await store.CompleteAsync(job, first, "completed", "success", null, null, 0, 0, 0, 0, Ct));
        Assert.Empty(await store.HeartbeatAsync(first, [job.Id], 60, Ct));
        Assert.True(await store.CompleteAsync(again, second, "completed", "success", null, null, 0, 0, 0, 0, Ct));
    }

    // Schema step 5: every claim marks the job, so any later attempt looks its check run up by external
    // id, even after a refunded attempt (a rate limit) or a process that died before storing the id;
    // and a worker whose lease was taken can no longer store a check run id over the new owner's.
    [Fact]
    public async Task A_claim_marks_that_a_check_run_may_exist_and_a_worker_that_lost_the_lease_cannot_store_one()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 15, pr: 1, sha: "m");
        var store = new JobStore(db.DataSource);
        var first = new WorkerIdentity();
        await using var firstLock = await HoldLockAsync(db, first);

        var job = Assert.Single(await store.ClaimAsync(1, 1, first, 60, Ct));
        Assert.False(job.CheckRunMayExist);
        Assert.True(await store.ReleaseAsync(job, first, TimeSpan.Zero, "GitHub rate limit", refundAttempt: true, 0, 0, Ct));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));

        var again = Assert.Single(await store.ClaimAsync(1, 1, first, 60, Ct));
        Assert.Equal((1, true), (again.Attempts, again.CheckRunMayExist));

        await db.ExecuteAsync("UPDATE review_jobs SET lease_expires_at = now() - interval '1 second'");
        Assert.Single(await store.RecoverOrphansAsync(TimeSpan.FromSeconds(2), judgeLocks: true, Ct));
        var second = new WorkerIdentity();
        var taken = Assert.Single(await store.ClaimAsync(1, 1, second, 60, Ct));
        Assert.False(await store.SetCheckRunAsync(again, first, 7001, Ct));
        Assert.True(await store.SetCheckRunAsync(taken, second, 7002, Ct));
        Assert.Equal(7002L, await db.ScalarAsync<long>("SELECT check_run_id FROM review_jobs"));
    }

    [Fact]
    public async Task Release_puts_the_job_back_no_earlier_than_the_delay_and_refunds_when_asked()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 14, pr: 1, sha: "r");
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();
        var job = Assert.Single(await store.ClaimAsync(1, 1, worker, 60, Ct));

        Assert.True(await store.ReleaseAsync(job, worker, TimeSpan.FromMinutes(5), "GitHub answered 502", refundAttempt: false, 10, 5, Ct));

        Assert.Empty(await store.ClaimAsync(1, 1, worker, 60, Ct));
        Assert.InRange(await db.ScalarAsync<double>("SELECT extract(epoch FROM run_after - now())::float8 FROM review_jobs"), 290, 301);
        Assert.Equal(1, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));
        Assert.Equal("GitHub answered 502", await db.ScalarAsync<string>("SELECT error_message FROM review_jobs"));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT running FROM installations WHERE id = 14"));

        await db.ExecuteAsync("UPDATE review_jobs SET run_after = now()");
        var again = Assert.Single(await store.ClaimAsync(1, 1, worker, 60, Ct));
        Assert.True(await store.ReleaseAsync(again, worker, TimeSpan.Zero, null, refundAttempt: true, 0, 0, Ct));
        Assert.Equal(1, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs"));
    }

    [Fact]
    public async Task Retry_after_of_an_installation_holds_back_all_its_jobs_but_not_others()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 30, pr: 1, sha: "a");
        await JobSeed.InsertAsync(db, installationId: 30, pr: 2, sha: "b");
        var other = await JobSeed.InsertAsync(db, installationId: 31, pr: 1, sha: "c");
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();
        var first = Assert.Single(await store.ClaimAsync(1, 1, worker, 60, Ct), j => j.InstallationId == 30);

        // The provider answered 429 with Retry-After: 120 for this installation's key.
        Assert.True(await store.ReleaseAsync(first, worker, TimeSpan.FromSeconds(130), "429", refundAttempt: true, 0, 0, Ct, installationCooldown: TimeSpan.FromSeconds(120)));
        await db.ExecuteAsync("UPDATE review_jobs SET run_after = now()");

        var claimed = await store.ClaimAsync(10, 5, worker, 60, Ct);
        Assert.Equal([other], claimed.Select(j => j.Id));
        Assert.InRange(await db.ScalarAsync<double>("SELECT extract(epoch FROM not_before - now())::float8 FROM installations WHERE id = 30"), 110, 121);

        await db.ExecuteAsync("UPDATE installations SET not_before = now() WHERE id = 30");
        Assert.Equal(2, (await store.ClaimAsync(10, 5, worker, 60, Ct)).Count(j => j.InstallationId == 30));
    }

    [Fact]
    public async Task Budget_defers_the_review_until_the_oldest_start_in_the_hour_ages_out()
    {
        await using var db = await TestDatabase.CreateAsync();
        var store = new JobStore(db.DataSource);
        var worker = new WorkerIdentity();
        for (var i = 0; i < 2; i++)
        {
            var id = await JobSeed.InsertAsync(db, installationId: 15, pr: i, sha: $"b{i}");
            await db.ExecuteAsync("UPDATE review_jobs SET status = 'completed', started_at = now() - $2 * interval '1 minute' WHERE id = $1", id, 50 - (i * 10));
        }

        await JobSeed.InsertAsync(db, installationId: 15, pr: 9, sha: "third");
        var job = Assert.Single(await store.ClaimAsync(1, 1, worker, 60, Ct));

        // Two reviews started 50 and 40 minutes ago; with two per hour the next slot opens in ~10 minutes.
        var wait = await store.TryStartWithinBudgetAsync(job, worker, 2, Ct);
        Assert.NotNull(wait);
        Assert.InRange(wait.Value.TotalMinutes, 9.5, 10.5);

        // With three per hour it starts now.
        Assert.Null(await store.TryStartWithinBudgetAsync(job, worker, 3, Ct));
        Assert.True(await db.ScalarAsync<bool>("SELECT started_at IS NOT NULL FROM review_jobs WHERE id = $1", job.Id));
    }

    [Fact]
    public async Task Repair_fixes_a_drifted_running_count()
    {
        await using var db = await TestDatabase.CreateAsync();
        await JobSeed.InsertAsync(db, installationId: 16, pr: 1, sha: "d");
        await db.ExecuteAsync("UPDATE installations SET running = 3 WHERE id = 16");
        var store = new JobStore(db.DataSource);

        Assert.Equal(1, await store.RepairRunningCountsAsync(Ct));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT running FROM installations WHERE id = 16"));
        Assert.Equal(0, await store.RepairRunningCountsAsync(Ct));
    }

    [Fact]
    public async Task Prune_deletes_only_old_finished_jobs()
    {
        await using var db = await TestDatabase.CreateAsync();
        var oldDone = await JobSeed.InsertAsync(db, installationId: 17, pr: 1, sha: "o");
        var newDone = await JobSeed.InsertAsync(db, installationId: 17, pr: 2, sha: "n");
        var pending = await JobSeed.InsertAsync(db, installationId: 17, pr: 3, sha: "p");
        await db.ExecuteAsync("UPDATE review_jobs SET status = 'completed', completed_at = now() - interval '40 days' WHERE id = $1", oldDone);
        await db.ExecuteAsync("UPDATE review_jobs SET status = 'completed', completed_at = now() - interval '1 day' WHERE id = $1", newDone);
        await db.ExecuteAsync("INSERT INTO webhook_deliveries (delivery_id, event, outcome, received_at) VALUES ('old', 'ping', 'ignored', now() - interval '40 days'), ('new', 'ping', 'ignored', now())");

        var (jobs, deliveries) = await new JobStore(db.DataSource).PruneAsync(30, 30, Ct);

        Assert.Equal((1, 1), (jobs, deliveries));
        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE id = ANY($1)", new[] { newDone, pending }));
    }

    private static async Task<NpgsqlConnection> HoldLockAsync(TestDatabase db, WorkerIdentity worker)
    {
        var connection = new NpgsqlConnection(db.ConnectionString + ";Pooling=false");
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = worker.LeaseKey });
        await command.ExecuteNonQueryAsync(Ct);
        return connection;
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> probe, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var value = await probe();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50, Ct);
        }
    }
}
