using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ReviewBot.Simulator.Client;

// The driver of bench/load: opens N pull requests over K installations in a running simulator,
// configures the installations through ReviewBot's settings API, delivers one signed
// pull_request.opened per pull request from S concurrent senders (round robin over the replicas),
// and measures. Modes:
//   intake    webhook intake only (run ReviewBot with WORKERS_ENABLED=false): deliveries per second
//   reviews   end to end: first delivery to last review posted, reviews per second
//   inflight  waits until the simulator holds `--target` LLM requests in flight, then samples the
//             replicas' memory and threads (/proc/PID/status of --pids)
// Prints one line of key=value pairs for bench/RESULTS.md.
public static class LoadRun
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> o)
    {
        var sim = new Uri(o["sim"].TrimEnd('/') + "/");
        var replicas = o["reviewbot"].Split(',').Select(u => new Uri(u.TrimEnd('/') + "/")).ToArray();
        var mode = o.GetValueOrDefault("mode", "reviews");
        var installations = int.Parse(o.GetValueOrDefault("installations", "50"), CultureInfo.InvariantCulture);
        var pulls = int.Parse(o.GetValueOrDefault("pulls", "500"), CultureInfo.InvariantCulture);
        var senders = int.Parse(o.GetValueOrDefault("senders", "32"), CultureInfo.InvariantCulture);
        var timeout = TimeSpan.FromSeconds(double.Parse(o.GetValueOrDefault("timeout", "300"), CultureInfo.InvariantCulture));
        var secret = o["webhook-secret"];
        var pids = o.TryGetValue("pids", out var p) ? p.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() : [];

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(senders, 16) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };

        // Pull requests first (the simulator), then installations (ReviewBot's settings API).
        var work = Enumerable.Range(0, pulls).Select(i => (Installation: 50_000L + (i % installations), Number: 1 + (i / installations))).ToList();
        await ParallelAsync(work, senders, async w =>
        {
            using var r = await http.PostAsJsonAsync(new Uri(sim, "_sim/pulls"), new
            {
                installationId = w.Installation,
                repo = Repo(w.Installation),
                number = w.Number,
                title = $"Load {w.Number}",
                baseSha = Sha(w.Installation, w.Number, "base"),
                headSha = Sha(w.Installation, w.Number, "head"),
                diff = Diffs.GitDiff.Names[(int)(w.Installation + w.Number) % Diffs.GitDiff.Names.Count],
            });
            r.EnsureSuccessStatusCode();
        });

        if (mode != "intake")
        {
            await ParallelAsync(Enumerable.Range(0, installations).Select(i => 50_000L + i).ToList(), Math.Min(senders, 8), async id =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(replicas[0], $"api/installations/{id}/settings"));
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", o["admin-token"]);
                request.Content = JsonContent.Create(new { enabled = true, llmProvider = "openai", model = "gpt-4o-mini", apiKey = $"sk-load-{id}" });
                using var response = await http.SendAsync(request);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"PUT settings {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            });
        }

        var bodies = work.Select(w => Webhooks.PullRequest("opened", w.Installation, Repo(w.Installation), w.Number,
            Sha(w.Installation, w.Number, "head"), Sha(w.Installation, w.Number, "base"), $"Load {w.Number}")).ToList();
        var statuses = new int[600];
        var latencies = new double[bodies.Count];
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, senders).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < bodies.Count)
            {
                var started = Stopwatch.GetTimestamp();
                int status;
                try
                {
                    status = await Webhooks.SendAsync(http, replicas[i % replicas.Length], "pull_request", Guid.NewGuid().ToString(), bodies[i], secret);
                }
                catch (HttpRequestException)
                {
                    status = 599;
                }

                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Interlocked.Increment(ref statuses[status]);
            }
        }));
        var intake = clock.Elapsed;
        Array.Sort(latencies);
        var result = new List<string>
        {
            $"mode={mode}", $"replicas={replicas.Length}", $"installations={installations}", $"pulls={pulls}", $"senders={senders}",
            $"intake_s={intake.TotalSeconds:F2}", $"intake_per_s={bodies.Count / intake.TotalSeconds:F0}",
            $"intake_p50_ms={latencies[latencies.Length / 2]:F1}", $"intake_p99_ms={latencies[(int)(latencies.Length * 0.99)]:F1}",
            $"accepted_202={statuses[202]}", $"other_status={bodies.Count - statuses[202]}",
        };

        if (mode == "reviews")
        {
            var deadline = DateTime.UtcNow + timeout;
            JsonNode stats;
            do
            {
                await Task.Delay(200);
                stats = JsonNode.Parse(await http.GetStringAsync(new Uri(sim, "_sim/stats")))!;
            }
            while ((int)stats["reviews"]! < pulls && DateTime.UtcNow < deadline);

            var total = clock.Elapsed;
            result.Add($"reviews={(int)stats["reviews"]!}");
            result.Add($"end_to_end_s={total.TotalSeconds:F1}");
            result.Add($"reviews_per_s={(int)stats["reviews"]! / total.TotalSeconds:F1}");
            result.Add($"rejections_422={(int)stats["rejections"]!}");
            result.AddRange(Sample(pids, "after"));
        }
        else if (mode == "inflight")
        {
            var target = int.Parse(o.GetValueOrDefault("target", pulls.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
            var deadline = DateTime.UtcNow + timeout;
            var peak = 0;
            while (DateTime.UtcNow < deadline)
            {
                var stats = JsonNode.Parse(await http.GetStringAsync(new Uri(sim, "_sim/stats")))!;
                peak = Math.Max(peak, (int)stats["llmInFlight"]!);
                if (peak >= target)
                {
                    break;
                }

                await Task.Delay(250);
            }

            // Let the in-flight state settle for a moment, then sample.
            await Task.Delay(1000);
            result.Add($"llm_in_flight_peak={peak}");
            result.Add($"time_to_peak_s={clock.Elapsed.TotalSeconds:F1}");
            result.AddRange(Sample(pids, "in_flight"));
        }

        Console.WriteLine(string.Join(' ', result));
        return 0;
    }

    private static IEnumerable<string> Sample(int[] pids, string label)
    {
        foreach (var pid in pids)
        {
            var status = File.ReadAllLines($"/proc/{pid}/status");
            string Field(string name) => status.FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))?[(name.Length + 1)..].Trim().Replace(" kB", "", StringComparison.Ordinal) ?? "?";
            yield return $"pid{pid}_{label}_rss_mb={double.Parse(Field("VmRSS"), CultureInfo.InvariantCulture) / 1024:F0}";
            yield return $"pid{pid}_peak_rss_mb={double.Parse(Field("VmHWM"), CultureInfo.InvariantCulture) / 1024:F0}";
            yield return $"pid{pid}_threads={Field("Threads")}";
        }
    }

    private static async Task ParallelAsync<T>(IReadOnlyList<T> items, int parallelism, Func<T, Task> action) =>
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (item, _) => await action(item));

    private static string Repo(long installation) => $"load-org-{installation}/app";

    private static string Sha(long installation, int number, string which) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes($"{installation}/{number}/{which}")));
}
