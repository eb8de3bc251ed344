using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using ReviewBot.IntegrationTests.Infrastructure;
using Webhooks = ReviewBot.Simulator.Client.Webhooks;
using ReviewBot.Simulator;
using ReviewBot.Simulator.Client;
using ReviewBot.Simulator.Diffs;
using ReviewBot.Simulator.Faults;

namespace ReviewBot.IntegrationTests.Chaos;

// The reliability promises of the README, shown on real processes: two ReviewBot replicas on one
// database, the simulator as GitHub and the LLM providers with upstream faults switched on, pull
// requests across several installations with duplicate deliveries and superseding pushes, and
// kill -9 of a random replica again and again. The short plan runs in `make test`;
// REVIEWBOT_CHAOS=long runs the long one (a few hundred pull requests).
public sealed class ChaosTests
{
    [Fact]
    public async Task Replicas_killed_at_random_under_upstream_faults_review_every_latest_sha_exactly_once()
    {
        var plan = Environment.GetEnvironmentVariable("REVIEWBOT_CHAOS") == "long" ? ChaosPlan.Long : ChaosPlan.Short;
        await using var run = await ChaosRun.StartAsync(plan);

        await run.DeliverEverythingWhileKillingReplicasAsync();
        var settled = await run.WaitUntilSettledAsync();

        var report = await run.ReportAsync();
        TestContext.Current.TestOutputHelper?.WriteLine(report.Text);

        // Passing runs print nothing, so the figures are also kept where a person can read them.
        var artifacts = Path.Combine(TestPaths.RepositoryRoot, "artifacts");
        Directory.CreateDirectory(artifacts);
        await File.WriteAllTextAsync(Path.Combine(artifacts, $"chaos-report-{(plan == ChaosPlan.Long ? "long" : "short")}.txt"), report.Text, TestContext.Current.CancellationToken);
        Assert.True(settled, "not settled in time:\n" + report.Text);
        Assert.True(report.Kills >= plan.MinKills, $"only {report.Kills} kill(s):\n{report.Text}");
        // Each check carries the whole report: CI shows the failure message, not the test's output.
        Assert.True(report.LatestShasNotReviewedOnce.Count == 0, report.Text);
        Assert.True(report.ShasReviewedTwice.Count == 0, report.Text);
        Assert.True(report.Rejections.Count == 0, report.Text);
        // No request before a Retry-After deadline: neither the very request that was told to wait
        // ("same-request") nor any other with that credential ("same-credential": another chunk of the
        // review, another job of the installation, another installation's token request with the same
        // App JWT), which the process-wide CredentialCooldown holds back and broadcasts to the other
        // replica. A same-credential request arriving within FaultInjector.InFlightTolerance of the
        // 429 was sent before its sender could have read it, and is not counted.
        Assert.True(report.RetryAfterViolations.Count == 0, report.Text);

        Assert.True(report.NonCommentReviews.Count == 0, report.Text);
        Assert.All(report.MaxLlmInFlight, kv => Assert.True(kv.Value <= 1, $"{kv.Key}: {kv.Value} LLM requests in flight at once"));
        Assert.True(report.IncompleteCheckRuns.Count == 0, report.Text);

        // A retry finds the check run an earlier attempt created but could not record (crash or lost
        // answer between the two) by its external id and updates it (CONTRACT §4).
        Assert.True(report.CheckRunsOrphanedByRetry.Count == 0, report.Text);
    }
}

internal sealed record ChaosPlan(
    int Installations, int PullsPerInstallation, int MaxPushesPerPull, double DuplicateDeliveryRate,
    TimeSpan DeliveryWindow, TimeSpan KillEvery, int MinKills, TimeSpan SettleTimeout, FaultSettings Faults)
{
    public static ChaosPlan Short { get; } = new(
        Installations: 4, PullsPerInstallation: 6, MaxPushesPerPull: 3, DuplicateDeliveryRate: 0.3,
        DeliveryWindow: TimeSpan.FromSeconds(20), KillEvery: TimeSpan.FromSeconds(3), MinKills: 4, SettleTimeout: TimeSpan.FromSeconds(75),
        Faults: new FaultSettings
        {
            GitHubLatencyMs = 3, LlmLatencyMs = 250, GitHub5xxRate = 0.03, GitHub429Rate = 0.02, GitHubRateLimitRate = 0.01,
            Llm5xxRate = 0.02, Llm429Rate = 0.02, RetryAfterSeconds = 1, RateLimitResetSeconds = 1, CreateReviewThen5xxRate = 0.1,
        });

    public static ChaosPlan Long { get; } = Short with
    {
        Installations = 8, PullsPerInstallation = 40, DeliveryWindow = TimeSpan.FromMinutes(4), MinKills = 30,
        SettleTimeout = TimeSpan.FromMinutes(6),
    };
}

internal sealed record ChaosReport(
    string Text, int Kills, IReadOnlyList<string> LatestShasNotReviewedOnce, IReadOnlyList<string> ShasReviewedTwice,
    IReadOnlyList<string> Rejections, IReadOnlyList<string> RetryAfterViolations, IReadOnlyList<string> NonCommentReviews,
    IReadOnlyDictionary<string, int> MaxLlmInFlight, IReadOnlyList<string> IncompleteCheckRuns, IReadOnlyList<string> CheckRunsOrphanedByRetry);

internal sealed class ChaosRun : IAsyncDisposable
{
    private static readonly string[] Providers = ["openai", "anthropic", "gemini"];
    private static readonly string[] Models = ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"];

    private readonly ChaosPlan _plan;
    private readonly TestDatabase _db;
    private readonly SimulatorHost _sim;
    private readonly ReviewBotProcess?[] _replicas = new ReviewBotProcess?[2];
    private readonly Lock _gate = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Random _random = new(Environment.GetEnvironmentVariable("REVIEWBOT_CHAOS_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Environment.TickCount);
    private readonly List<ReviewBotProcess> _dead = [];
    private readonly List<string> _timeline = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _kills;
    private int _deliveries;
    private int _duplicates;
    private int _pushes;

    private ChaosRun(ChaosPlan plan, TestDatabase db, SimulatorHost sim)
    {
        _plan = plan;
        _db = db;
        _sim = sim;
    }

    public static async Task<ChaosRun> StartAsync(ChaosPlan plan)
    {
        var db = await TestDatabase.CreateAsync();
        var sim = await SimulatorHost.StartAsync(new SimulatorOptions { AppId = 12345, AppKeyPem = TestKeys.PrivateKeyPem });
        var run = new ChaosRun(plan, db, sim);
        for (var slot = 0; slot < run._replicas.Length; slot++)
        {
            await run.StartReplicaAsync(slot);
        }

        await run.ConfigureInstallationsAsync();
        return run;
    }

    private Dictionary<string, string> ReplicaEnvironment(int port)
    {
        var env = ReviewBotProcess.BaseEnvironment(_db.ConnectionString, port);
        env["GITHUB_API_URL"] = _sim.BaseAddress.ToString();
        env["OPENAI_BASE_URL"] = _sim.OpenAiBaseUrl.ToString();
        env["ANTHROPIC_BASE_URL"] = _sim.AnthropicBaseUrl.ToString();
        env["GEMINI_BASE_URL"] = _sim.GeminiBaseUrl.ToString();
        // Information: the report of a failed run tells each suspect job's story from these lines.
        env["LOG_LEVEL"] = "Information";
        env["REVIEW_CONCURRENCY"] = "4";
        env["REVIEW_CONCURRENCY_PER_INSTALLATION"] = "1";

        // The shortest lease the configuration allows, so a killed replica's jobs come back quickly.
        env["JOB_LEASE_SECONDS"] = "5";

        // The promise under test is "never lost, never twice", not the attempt budget: with faults at
        // a few percent and repeated kills, three attempts can legitimately run out.
        env["JOB_MAX_ATTEMPTS"] = "20";
        env["SHUTDOWN_TIMEOUT_SECONDS"] = "5";
        return env;
    }

    private async Task StartReplicaAsync(int slot)
    {
        var process = ReviewBotProcess.Start(ReplicaEnvironment(ReviewBotProcess.FreePort()), "serve");
        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        lock (_gate)
        {
            _replicas[slot] = process;
            _timeline.Add($"{Now()} replica {process.Id} (slot {slot}) ready");
        }
    }

    private ReviewBotProcess? AnyReplica()
    {
        lock (_gate)
        {
            var alive = _replicas.Where(r => r is { HasExited: false }).ToList();
            return alive.Count == 0 ? null : alive[_random.Next(alive.Count)];
        }
    }

    private async Task ConfigureInstallationsAsync()
    {
        var replica = AnyReplica()!;
        for (var i = 0; i < _plan.Installations; i++)
        {
            var installation = InstallationId(i);
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(replica.BaseAddress, $"api/installations/{installation}/settings"))
            {
                // The highest hourly budget the settings allow: the long plan reviews more than the default 60 per installation.
                Content = JsonContent.Create(new { enabled = true, llmProvider = Providers[i % 3], model = Models[i % 3], apiKey = $"sk-chaos-installation-{installation}", reviewsPerHour = 1000 }),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestKeys.AdminToken);
            using var response = await _http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"PUT settings {installation}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static long InstallationId(int i) => 9000 + i;

    private static string Sha(int installation, int pull, int push) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes($"{installation}/{pull}/{push}")));

    // Deliveries go to a random live replica, as a load balancer would send them; a delivery that
    // hits a replica being killed is sent again (GitHub's redelivery, with the same GUID).
    private async Task DeliverAsync(string eventName, byte[] body, string delivery)
    {
        var deadline = _clock.Elapsed + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (AnyReplica() is { } replica)
            {
                try
                {
                    var status = await Webhooks.SendAsync(_http, replica.BaseAddress, eventName, delivery, body, TestKeys.WebhookSecret);
                    if (status is 202 or 200)
                    {
                        Interlocked.Increment(ref _deliveries);
                        return;
                    }

                    Assert.True(status >= 500, $"webhook answered {status}");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                }
            }

            Assert.True(_clock.Elapsed < deadline, $"delivery {delivery} was not accepted within 30 s");
            await Task.Delay(100);
        }
    }

    private async Task DeliverTwiceMaybeAsync(string eventName, byte[] body)
    {
        var delivery = Guid.NewGuid().ToString();
        await DeliverAsync(eventName, body, delivery);
        bool duplicate;
        lock (_gate)
        {
            duplicate = _random.NextDouble() < _plan.DuplicateDeliveryRate;
        }

        if (duplicate)
        {
            Interlocked.Increment(ref _duplicates);
            await DeliverAsync(eventName, body, delivery);
        }
    }

    private async Task DrivePullAsync(int installationIndex, int number, TimeSpan startAt, int pushes)
    {
        var installation = InstallationId(installationIndex);
        var repo = $"chaos-org-{installation}/service";
        var baseSha = Sha(installationIndex, number, -1);
        var diffs = GitDiff.Names;
        await DelayUntilAsync(startAt);
        _sim.State.AddPull(installation, repo, number, $"Change {number}", "A pull request of the chaos test.", baseSha, Sha(installationIndex, number, 0),
            GitDiff.Split(GitDiff.Load(diffs[(installationIndex + number) % diffs.Count])));
        await DeliverTwiceMaybeAsync("pull_request", Webhooks.PullRequest("opened", installation, repo, number, Sha(installationIndex, number, 0), baseSha, $"Change {number}"));

        for (var push = 1; push < pushes; push++)
        {
            int wait;
            lock (_gate)
            {
                wait = _random.Next(0, 1500);
            }

            await Task.Delay(wait);
            var head = Sha(installationIndex, number, push);
            _sim.State.Push(repo, number, head, GitDiff.Split(GitDiff.Load(diffs[(installationIndex + number + push) % diffs.Count])), $"Push {push}", rewritten: false);
            Interlocked.Increment(ref _pushes);
            await DeliverTwiceMaybeAsync("pull_request", Webhooks.PullRequest("synchronize", installation, repo, number, head, baseSha, $"Change {number}", beforeSha: Sha(installationIndex, number, push - 1)));
        }
    }

    private async Task DelayUntilAsync(TimeSpan at)
    {
        var wait = at - _clock.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }

    public async Task DeliverEverythingWhileKillingReplicasAsync()
    {
        _sim.Faults.Settings = _plan.Faults;
        var start = _clock.Elapsed;
        var drivers = new List<Task>();
        for (var i = 0; i < _plan.Installations; i++)
        {
            for (var n = 1; n <= _plan.PullsPerInstallation; n++)
            {
                var at = start + _plan.DeliveryWindow * _random.NextDouble() * 0.8;
                drivers.Add(DrivePullAsync(i, n, at, 1 + _random.Next(_plan.MaxPushesPerPull)));
            }
        }

        using var stop = new CancellationTokenSource();
        var monkey = KillReplicasAsync(stop.Token);
        await Task.WhenAll(drivers);
        await DelayUntilAsync(start + _plan.DeliveryWindow);
        while (_kills < _plan.MinKills && !monkey.IsCompleted)
        {
            await Task.Delay(200);
        }

        await stop.CancelAsync();
        await monkey;
    }

    // kill -9 of a random replica every few seconds, restarted after a moment; one at a time, so a
    // replica is always there to take deliveries.
    private async Task KillReplicasAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                int slot, downMs;
                lock (_gate)
                {
                    slot = _random.Next(_replicas.Length);
                    downMs = _random.Next(200, 1500);
                }

                await Task.Delay(_plan.KillEvery * (0.5 + _random.NextDouble()), stop);
                ReviewBotProcess victim;
                lock (_gate)
                {
                    victim = _replicas[slot]!;
                    _replicas[slot] = null;
                }

                victim.KillHard();
                lock (_gate)
                {
                    _dead.Add(victim);
                    _timeline.Add($"{Now()} replica {victim.Id} (slot {slot}) killed");
                }

                Interlocked.Increment(ref _kills);
                await Task.Delay(downMs, CancellationToken.None);
                await StartReplicaAsync(slot);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    public async Task<bool> WaitUntilSettledAsync()
    {
        var deadline = _clock.Elapsed + _plan.SettleTimeout;
        while (_clock.Elapsed < deadline)
        {
            var reviews = _sim.State.Reviews();
            var allReviewed = _sim.State.Pulls().All(p => reviews.Any(r => r.Repo == p.Repo && r.Pr == p.Number && r.Body.Contains(Marker(p.Head.Sha), StringComparison.Ordinal)));
            var allCompleted = (await IncompleteCheckRunsAsync()).Others.Count == 0;
            if (allReviewed && allCompleted && await QueueIdleAsync())
            {
                return true;
            }

            await Task.Delay(250);
        }

        return false;
    }

    // Check runs not completed, split in two: those a job's earlier attempt created and the job no
    // longer knows (it recorded another check run for itself after a crash), and all others.
    private async Task<(List<ReviewBot.Simulator.State.CheckRunRecord> Others, List<ReviewBot.Simulator.State.CheckRunRecord> OrphanedByRetry)> IncompleteCheckRunsAsync()
    {
        var others = new List<ReviewBot.Simulator.State.CheckRunRecord>();
        var orphaned = new List<ReviewBot.Simulator.State.CheckRunRecord>();
        foreach (var run in _sim.State.CheckRuns().Where(c => c.Status != "completed"))
        {
            var recorded = long.TryParse(run.ExternalId, CultureInfo.InvariantCulture, out var jobId)
                ? await _db.ScalarAsync<object>("SELECT coalesce(check_run_id, 0) FROM review_jobs WHERE id = $1", jobId)
                : null;
            (recorded is long id && id != 0 && id != run.Id ? orphaned : others).Add(run);
        }

        return (others, orphaned);
    }

    private async Task<bool> QueueIdleAsync() =>
        await _db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE status IN ('pending', 'processing')") == 0;

    private static string Marker(string sha) => $"<!-- reviewbot:sha={sha} -->";

    // The jobs of pull requests whose latest SHA was not reviewed exactly once: what the queue thinks.
    private async Task<string> JobsOfAsync(IEnumerable<(string Repo, int Pr)> pulls)
    {
        var lines = new List<string>();
        foreach (var (repo, pr) in pulls)
        {
            await using var command = _db.DataSource.CreateCommand(
                """
                SELECT left(commit_sha, 7), trigger, status, coalesce(conclusion, ''), attempts, check_run_id,
                       round(extract(epoch FROM run_after - now())), coalesce(error_message, '')
                FROM review_jobs WHERE repo_full_name = $1 AND pr_number = $2 ORDER BY id
                """);
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = repo });
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = pr });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                lines.Add($"  {repo}#{pr} job {reader.GetString(0)} {reader.GetString(1)}: {reader.GetString(2)} {reader.GetString(3)} attempts {reader.GetInt32(4)} check run {(reader.IsDBNull(5) ? "-" : reader.GetInt64(5))} run_after {reader.GetValue(6)} s; {reader.GetString(7)}");
            }
        }

        return lines.Count == 0 ? "" : "jobs:\n" + string.Join('\n', lines);
    }

    private async Task<string> JobsByIdAsync(IEnumerable<string?> ids)
    {
        var lines = new List<string>();
        foreach (var id in ids)
        {
            if (!long.TryParse(id, CultureInfo.InvariantCulture, out var jobId))
            {
                continue;
            }

            await using var command = _db.DataSource.CreateCommand(
                "SELECT repo_full_name, pr_number, left(commit_sha, 7), status, attempts, check_run_id, coalesce(error_message, '') FROM review_jobs WHERE id = $1");
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = jobId });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                lines.Add($"  job {jobId} ({reader.GetString(0)}#{reader.GetInt32(1)}@{reader.GetString(2)}): {reader.GetString(3)}, attempts {reader.GetInt32(4)}, check run {(reader.IsDBNull(5) ? "-" : reader.GetInt64(5))}; {reader.GetString(6)}");
            }
        }

        return lines.Count == 0 ? "" : "jobs of incomplete check runs:\n" + string.Join('\n', lines);
    }

    private string Now() => $"t={_clock.Elapsed.TotalSeconds:F2}s";

    // Every check run of the suspects' jobs with its updates, against the kills and restarts, on the
    // test's clock.
    private string CheckRunHistories(IEnumerable<ReviewBot.Simulator.State.CheckRunRecord> suspects)
    {
        var started = DateTimeOffset.UtcNow - _clock.Elapsed;
        var jobs = suspects.Select(c => c.ExternalId).ToHashSet();
        var lines = new List<string>();
        foreach (var run in _sim.State.CheckRuns().Where(c => jobs.Contains(c.ExternalId)))
        {
            lines.Add($"  check run {run.Id} (job {run.ExternalId}, {run.Repo}@{run.HeadSha[..7]}): " +
                string.Join("; ", run.Updates.Select(u => $"t={(u.At - started).TotalSeconds:F2}s {u.Status} {u.Conclusion} \"{u.Title}\"")));
        }

        List<string> timeline;
        lock (_gate)
        {
            timeline = [.. _timeline];
        }

        return "check runs of those jobs:\n" + string.Join('\n', lines) + "\nreplicas:\n  " + string.Join("\n  ", timeline);
    }

    // What the replicas logged about the given jobs (the last lines of each, oldest first per replica).
    private string JobLogs(IEnumerable<string?> ids)
    {
        List<ReviewBotProcess> processes;
        lock (_gate)
        {
            processes = [.. _dead, .. _replicas.OfType<ReviewBotProcess>()];
        }

        var lines = new List<string>();
        foreach (var id in ids.Distinct())
        {
            var needle = new System.Text.RegularExpressions.Regex($"\"jobId\":{id}\\b");
            foreach (var process in processes)
            {
                var found = process.StandardOutput.Where(l => needle.IsMatch(l)).TakeLast(30).ToList();
                if (found.Count > 0)
                {
                    lines.Add($"  job {id} in replica {process.Id}:");
                    lines.AddRange(found.Select(l => "    " + l));
                }
            }
        }

        return lines.Count == 0 ? "" : "what the replicas logged about those jobs:\n" + string.Join('\n', lines);
    }

    public async Task<ChaosReport> ReportAsync()
    {
        var pulls = _sim.State.Pulls();
        var reviews = _sim.State.Reviews();
        var perSha = reviews
            .Select(r => (r, sha: System.Text.RegularExpressions.Regex.Match(r.Body, "<!-- reviewbot:sha=([0-9a-f]+)").Groups[1].Value))
            .GroupBy(x => (x.r.Repo, x.r.Pr, x.sha))
            .ToDictionary(g => g.Key, g => g.Count());
        var notOnce = pulls.Where(p => perSha.GetValueOrDefault((p.Repo, p.Number, p.Head.Sha)) != 1)
            .Select(p => $"{p.Repo}#{p.Number}@{p.Head.Sha[..7]}: {perSha.GetValueOrDefault((p.Repo, p.Number, p.Head.Sha))} review(s)").ToList();
        var twice = perSha.Where(kv => kv.Value > 1).Select(kv => $"{kv.Key.Repo}#{kv.Key.Pr}@{kv.Key.sha}: {kv.Value}").ToList();
        var checkRuns = _sim.State.CheckRuns();
        var (otherRuns, orphanedRuns) = await IncompleteCheckRunsAsync();
        static string Describe(ReviewBot.Simulator.State.CheckRunRecord c) =>
            $"{c.Repo}@{c.HeadSha[..7]} check run {c.Id} (job {c.ExternalId}): {c.Status}, {c.Updates.Count} update(s), last \"{c.Title}\"";
        var incomplete = otherRuns.Select(Describe).ToList();
        var orphans = orphanedRuns.Select(Describe).ToList();
        var conclusions = checkRuns.GroupBy(c => c.Conclusion ?? c.Status).Select(g => $"{g.Key} {g.Count()}");
        var requests = _sim.State.RequestCounts();
        var text = string.Join('\n',
            $"chaos: {pulls.Count} pull requests in {_plan.Installations} installations, {_pushes} superseding push(es), {_deliveries} deliveries ({_duplicates} duplicates), {_kills} kill -9, {_clock.Elapsed.TotalSeconds:0} s",
            $"reviews posted: {reviews.Count}; check runs: {checkRuns.Count} ({string.Join(", ", conclusions)})",
            $"check run outcomes: {string.Join(", ", checkRuns.GroupBy(c => $"{c.Conclusion ?? c.Status} \"{c.Title}\"").OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}"))}",
            $"simulator requests: {string.Join(", ", requests.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}",
            $"422 answered: {_sim.State.Rejections().Count}; Retry-After violations: {_sim.State.Violations().Count}; max LLM in flight per key: {string.Join(", ", _sim.State.MaxLlmInFlight().Select(kv => $"{kv.Key} {kv.Value}"))}",
            notOnce.Count == 0 ? "every latest SHA reviewed exactly once" : "not reviewed exactly once:\n  " + string.Join("\n  ", notOnce),
            incomplete.Count == 0 ? "every check run completed" : "incomplete check runs:\n  " + string.Join("\n  ", incomplete),
            orphans.Count == 0 ? "" : "check runs left in progress by an attempt that crashed after creating them (the retry created another):\n  " + string.Join("\n  ", orphans),
            _sim.State.Rejections().Count == 0 ? "" : "422s:\n  " + string.Join("\n  ", _sim.State.Rejections().Select(r => $"{r.Path}: {r.Reason}")),
            _sim.State.Violations().Count == 0 ? "" : "violations:\n  " + string.Join("\n  ", _sim.State.Violations().Select(v => $"{v.Kind} {v.Scope} {v.Method} {v.Path} {v.EarlyByMs:F0} ms early ({v.Credential})")),
            await JobsByIdAsync(otherRuns.Concat(orphanedRuns).Select(c => c.ExternalId)),
            await JobsOfAsync(pulls.Where(p => perSha.GetValueOrDefault((p.Repo, p.Number, p.Head.Sha)) != 1).Select(p => (p.Repo, p.Number))),
            otherRuns.Count + orphanedRuns.Count == 0 ? "" : CheckRunHistories(otherRuns.Concat(orphanedRuns)),
            otherRuns.Count + orphanedRuns.Count == 0 ? "" : JobLogs(otherRuns.Concat(orphanedRuns).Select(c => c.ExternalId)));
        return new ChaosReport(text, _kills, notOnce, twice,
            [.. _sim.State.Rejections().Select(r => $"{r.Path}: {r.Reason}")],
            [.. _sim.State.Violations().Select(v => $"{v.Kind} {v.Scope} {v.Method} {v.Path} {v.EarlyByMs:F0} ms early")],
            [.. reviews.Where(r => r.Event != "COMMENT").Select(r => $"{r.Repo}#{r.Pr}: {r.Event}")],
            _sim.State.MaxLlmInFlight(), incomplete, orphans);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            if (replica is not null)
            {
                await replica.DisposeAsync();
            }
        }

        foreach (var dead in _dead)
        {
            await dead.DisposeAsync();
        }

        await _sim.DisposeAsync();
        await _db.DisposeAsync();
        _http.Dispose();
    }
}
