using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using ReviewBot.Configuration;
using ReviewBot.Hosting;
using ReviewBot.Jobs;

namespace ReviewBot.Benchmarks;

// System measurements of the job queue (issue 5), on the real composition (Program.BuildApp) and a
// real PostgreSQL, with a no-op job handler so only the queue is measured:
//
//   throughput  claim-and-complete rate: N pending jobs over M installations, drained by the
//               dispatcher with REVIEW_CONCURRENCY C
//   latency     webhook-to-job-start on an idle system: a signed pull_request webhook POSTed, time
//               until the handler starts the job (LISTEN/NOTIFY wake-up), sequential samples
//
// DATABASE_URL: a server where the bench may CREATE DATABASE (each run makes a fresh one).
internal static class QueueBench
{
    private const string WebhookSecret = "bench-webhook-secret";

    public static async Task<int> RunAsync(string[] args)
    {
        var mode = args.FirstOrDefault() ?? "throughput";
        int Arg(string name, int fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }

        var admin = Environment.GetEnvironmentVariable("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:55432/postgres";
        DatabaseUrl.TryParse(admin, out var adminCs, out _);
        var name = "rb_bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var c = new NpgsqlConnection(adminCs))
        {
            await c.OpenAsync();
            await new NpgsqlCommand($"CREATE DATABASE {name}", c).ExecuteNonQueryAsync();
        }

        var cs = new NpgsqlConnectionStringBuilder(adminCs) { Database = name, MaxPoolSize = 100 }.ConnectionString;
        try
        {
            return mode switch
            {
                "throughput" => await ThroughputAsync(cs, Arg("jobs", 20000), Arg("installations", 200), Arg("concurrency", 64), Arg("per-installation", 8)),
                "latency" => await LatencyAsync(cs, Arg("samples", 300)),
                "store" => await StoreAsync(cs, Arg("jobs", 20000), Arg("installations", 200), Arg("workers", 4), Arg("batch", 32)),
                _ => Usage(),
            };
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var c = new NpgsqlConnection(adminCs);
            await c.OpenAsync();
            await new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", c).ExecuteNonQueryAsync();
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: queue throughput [--jobs N --installations M --concurrency C --per-installation P] | queue latency [--samples N]");
        return 2;
    }

    private static async Task<int> ThroughputAsync(string cs, int jobs, int installations, int concurrency, int perInstallation)
    {
        var handler = new NoOpHandler();
        var app = Build(cs, handler, o => o with { ReviewConcurrency = concurrency, ReviewConcurrencyPerInstallation = perInstallation });
        await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(CancellationToken.None);
        await SeedAsync(cs, jobs, installations);

        var stopwatch = Stopwatch.StartNew();
        await app.StartAsync();
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            while (true)
            {
                var done = (long)(await new NpgsqlCommand("SELECT count(*) FROM review_jobs WHERE status = 'completed'", c).ExecuteScalarAsync())!;
                if (done >= jobs)
                {
                    break;
                }

                await Task.Delay(20);
            }
        }

        stopwatch.Stop();
        await app.StopAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"throughput: {jobs} jobs over {installations} installations, REVIEW_CONCURRENCY={concurrency}, per installation {perInstallation}: {stopwatch.Elapsed.TotalSeconds:F2} s, {jobs / stopwatch.Elapsed.TotalSeconds:F0} jobs/s (handler calls {handler.Calls})"));
        return 0;
    }

    // The queue's SQL alone (no dispatcher): W workers each claim a batch and complete it, in a loop.
    private static async Task<int> StoreAsync(string cs, int jobs, int installations, int workers, int batch)
    {
        var app = Build(cs, new NoOpHandler(), o => o with { WorkersEnabled = false });
        await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(CancellationToken.None);
        await SeedAsync(cs, jobs, installations);
        var store = app.Services.GetRequiredService<JobStore>();
        var stopwatch = Stopwatch.StartNew();
        var done = 0;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            var worker = new WorkerIdentity();
            while (true)
            {
                var claimed = await store.ClaimAsync(batch, 1000, worker, 60, CancellationToken.None);
                if (claimed.Count == 0)
                {
                    return;
                }

                await Task.WhenAll(claimed.Select(j => store.CompleteAsync(j, worker, "completed", "success", null, null, 0, 0, 0, 0, CancellationToken.None)));
                Interlocked.Add(ref done, claimed.Count);
            }
        }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"store: {done} jobs, {workers} workers, batch {batch}: {stopwatch.Elapsed.TotalSeconds:F2} s, {done / stopwatch.Elapsed.TotalSeconds:F0} jobs/s"));
        return 0;
    }

    private static async Task SeedAsync(string cs, int jobs, int installations)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await new NpgsqlCommand($"INSERT INTO installations (id) SELECT g FROM generate_series(1, {installations}) g", c).ExecuteNonQueryAsync();
        await new NpgsqlCommand(
            $"""
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, commit_sha, trigger, dedupe_key)
            SELECT 1 + g % {installations}, g % {installations}, 'bench/repo', g, md5(g::text), 'opened', 'bench:' || g
            FROM generate_series(1, {jobs}) g
            """, c).ExecuteNonQueryAsync();
        await new NpgsqlCommand("ANALYZE", c).ExecuteNonQueryAsync();
    }

    private static async Task<int> LatencyAsync(string cs, int samples)
    {
        var handler = new NoOpHandler();
        var app = Build(cs, handler, o => o);
        await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(CancellationToken.None);
        await app.StartAsync();
        await app.Services.GetRequiredService<JobPresence>().FirstHeld;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        var template = JsonNode.Parse(File.ReadAllText(FindFixture("github/webhooks/pull_request/opened.payload.json")))!.AsObject();
        var latencies = new List<double>();
        for (var i = 0; i < samples + 20; i++)
        {
            template["pull_request"]!["number"] = i + 1;
            template["number"] = i + 1;
            template["pull_request"]!["head"]!["sha"] = Convert.ToHexStringLower(SHA1.HashData(BitConverter.GetBytes(i)));
            var body = Encoding.UTF8.GetBytes(template.ToJsonString());
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.Add("X-GitHub-Event", "pull_request");
            request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
            request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(WebhookSecret), body)));
            var started = handler.NextStart();
            var sent = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request);
            if ((int)response.StatusCode != 202)
            {
                Console.Error.WriteLine($"webhook answered {(int)response.StatusCode}");
                return 1;
            }

            var at = await started.WaitAsync(TimeSpan.FromSeconds(10));
            if (i >= 20)
            {
                // The first 20 warm up the JIT and the connection pool.
                latencies.Add(Stopwatch.GetElapsedTime(sent, at).TotalMilliseconds);
            }

            await Task.Delay(20);
        }

        await app.StopAsync();
        latencies.Sort();
        double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"latency webhook-to-job-start over {latencies.Count} samples: p50 {P(0.50):F1} ms, p90 {P(0.90):F1} ms, p99 {P(0.99):F1} ms, max {latencies[^1]:F1} ms"));
        return 0;
    }

    private static WebApplication Build(string cs, NoOpHandler handler, Func<ReviewBotOptions, ReviewBotOptions> customize)
    {
        using var rsa = RSA.Create(2048);
        var options = customize(new ReviewBotOptions
        {
            GitHubAppId = 1,
            GitHubPrivateKeyPem = rsa.ExportRSAPrivateKeyPem(),
            GitHubWebhookSecret = WebhookSecret,
            DatabaseConnectionString = cs,
            EncryptionKey = RandomNumberGenerator.GetBytes(32),
            Port = 0,
            ListenAddress = "127.0.0.1",
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            // The delivery-recovery loop would call GitHub; point it at a closed port.
            GitHubApiUrl = new Uri("http://127.0.0.1:9/"),
            DeliveryRecoveryIntervalSeconds = 86400,
        });
        return Program.BuildApp(options, b => b.Services.AddSingleton<IJobHandler>(handler));
    }

    private static string FindFixture(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "fixtures", relative);
            if (File.Exists(Path.Combine(dir.FullName, "ReviewBot.slnx")) && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(relative);
    }

    private sealed class NoOpHandler : IJobHandler
    {
        private TaskCompletionSource<long> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _calls;

        public long Calls => Interlocked.Read(ref _calls);

        public Task<long> NextStart()
        {
            _next = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _next.Task;
        }

        public Task<JobOutcome> HandleAsync(ClaimedJob job, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            _next.TrySetResult(Stopwatch.GetTimestamp());
            return Task.FromResult<JobOutcome>(new JobOutcome.Completed("success"));
        }

        public Task OnGiveUpAsync(ClaimedJob job, string message, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
