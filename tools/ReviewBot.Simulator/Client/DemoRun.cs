using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ReviewBot.Simulator.Diffs;

namespace ReviewBot.Simulator.Client;

// The client half of `make demo`: with a simulator and a ReviewBot already running, it opens the
// pull request of the real `pull_request.opened` payload in the simulator, configures the
// installation through ReviewBot's settings API, delivers the signed webhook, and prints what a
// user would see on GitHub as it happens. Exit code 0 only when the check run completed with a
// review conclusion and exactly one review carries the marker.
public static class DemoRun
{
    public static async Task<int> RunAsync(Uri simulator, Uri reviewBot, string adminToken, string webhookSecret, string provider, string model, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + timeout;

        await WaitForAsync(http, new Uri(simulator, "_sim/health"), "the simulator", deadline);
        await WaitForAsync(http, new Uri(reviewBot, "health"), "ReviewBot", deadline);

        var raw = Encoding.UTF8.GetBytes(GitDiff.LoadData("opened.payload.json"));
        var payload = JsonNode.Parse(raw)!;
        var installation = (long)payload["installation"]!["id"]!;
        var repo = (string)payload["repository"]!["full_name"]!;
        var number = (int)payload["pull_request"]!["number"]!;
        var head = (string)payload["pull_request"]!["head"]!["sha"]!;
        var diffName = "modification-multiple-hunks";

        Console.WriteLine($"==> GitHub (simulated): {repo} pull request #{number} \"{payload["pull_request"]!["title"]}\" at {head[..7]}");
        Console.WriteLine($"    its files are the real diff Data/diffs/{diffName}.diff");
        using (var created = await http.PostAsJsonAsync(new Uri(simulator, "_sim/pulls"), new
        {
            installationId = installation,
            repo,
            number,
            title = (string?)payload["pull_request"]!["title"],
            body = (string?)payload["pull_request"]!["body"],
            baseSha = (string?)payload["pull_request"]!["base"]!["sha"],
            headSha = head,
            diff = diffName,
        }))
        {
            created.EnsureSuccessStatusCode();
        }

        Console.WriteLine($"==> Settings API: installation {installation} uses {provider} / {model}");
        using (var request = new HttpRequestMessage(HttpMethod.Put, new Uri(reviewBot, $"api/installations/{installation}/settings")))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);
            request.Content = JsonContent.Create(new { enabled = true, llmProvider = provider, model, apiKey = "sk-demo-0123456789abcdef" });
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"demo: PUT settings answered {(int)response.StatusCode}: {text}");
                return 1;
            }

            Console.WriteLine($"    {(int)response.StatusCode}: {text}");
        }

        var delivery = Guid.NewGuid().ToString();
        var status = await Webhooks.SendAsync(http, reviewBot, "pull_request", delivery, raw, webhookSecret);
        Console.WriteLine($"==> Webhook: pull_request.opened delivery {delivery} (signed X-Hub-Signature-256) answered {status}");
        if (status != 202)
        {
            Console.Error.WriteLine("demo: expected 202 Accepted from the webhook endpoint");
            return 1;
        }

        Console.WriteLine("==> What the pull request shows:");
        var seen = 0;
        JsonNode? run = null;
        while (DateTime.UtcNow < deadline)
        {
            var state = JsonNode.Parse(await http.GetStringAsync(new Uri(simulator, "_sim/state")))!;
            run = (state["checkRuns"] as JsonArray ?? []).FirstOrDefault(c => (string?)c?["headSha"] == head);
            var updates = run?["updates"] as JsonArray ?? [];
            for (; seen < updates.Count; seen++)
            {
                var u = updates[seen]!;
                var what = (string?)u["conclusion"] is { } conclusion ? $"completed: {conclusion}" : (string?)u["status"];
                Console.WriteLine($"    check run \"{run!["name"]}\" on {head[..7]}: {what} - {u["title"]}");
            }

            if ((string?)run?["status"] == "completed")
            {
                break;
            }

            await Task.Delay(200);
        }

        if ((string?)run?["status"] != "completed")
        {
            Console.Error.WriteLine($"demo: the check run did not complete within {timeout.TotalSeconds:0} s");
            return 1;
        }

        Console.WriteLine();
        Console.WriteLine("    Check run summary:");
        Indent((string?)run!["summary"] ?? "", "      ");

        var final = JsonNode.Parse(await http.GetStringAsync(new Uri(simulator, "_sim/state")))!;
        var marker = $"<!-- reviewbot:sha={head}";
        var reviews = (final["reviews"] as JsonArray ?? []).Where(r => ((string?)r?["body"])?.Contains(marker, StringComparison.Ordinal) == true).ToList();
        foreach (var review in reviews)
        {
            Console.WriteLine();
            Console.WriteLine($"    Review by reviewbot[bot] ({review!["event"]}) on {((string?)review["commitId"])?[..7]}:");
            Indent((string?)review["body"] ?? "", "      ");
            foreach (var c in review["comments"] as JsonArray ?? [])
            {
                var range = c!["startLine"] is null ? $"{c["line"]}" : $"{c["startLine"]}-{c["line"]}";
                Console.WriteLine($"    - {c["path"]} line {range} ({c["side"]}):");
                Indent((string?)c["body"] ?? "", "        ");
            }
        }

        var rejected = (final["rejections"] as JsonArray ?? []).Count;
        var conclusionText = (string?)run["conclusion"];
        Console.WriteLine();
        Console.WriteLine($"==> conclusion {conclusionText}; {reviews.Count} review(s) with the marker; {rejected} request(s) GitHub would have refused with 422");
        return conclusionText is "success" or "neutral" && reviews.Count == 1 && rejected == 0 ? 0 : 1;
    }

    private static void Indent(string text, string prefix)
    {
        foreach (var line in text.Split('\n'))
        {
            Console.WriteLine(prefix + line);
        }
    }

    private static async Task WaitForAsync(HttpClient http, Uri url, string what, DateTime deadline)
    {
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not answer {url} in time");
            }

            await Task.Delay(100);
        }
    }
}
