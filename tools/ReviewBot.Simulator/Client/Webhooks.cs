using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ReviewBot.Simulator.Diffs;

namespace ReviewBot.Simulator.Client;

// Deliveries as GitHub sends them ("Validating webhook deliveries", docs.github.com/en/webhooks/
// using-webhooks/validating-webhook-deliveries): the body, X-GitHub-Event, X-GitHub-Delivery (a GUID)
// and X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 of the raw body with the webhook secret.
// Bodies start from the real octokit/webhooks payload in Data/ (see Data/SOURCES.md), with the
// installation, repository, number and SHAs changed.
public static class Webhooks
{
    public static byte[] PullRequest(string action, long installationId, string repo, int number, string headSha, string baseSha, string? title = null, bool draft = false, string? beforeSha = null)
    {
        var payload = JsonNode.Parse(GitDiff.LoadData("opened.payload.json"))!;
        var (owner, name) = (repo[..repo.IndexOf('/', StringComparison.Ordinal)], repo[(repo.IndexOf('/', StringComparison.Ordinal) + 1)..]);
        payload["action"] = action;
        payload["number"] = number;
        payload["installation"]!["id"] = installationId;
        payload["repository"]!["full_name"] = repo;

        // Repositories are told apart by id, as GitHub's are: a distinct repository needs its own.
        payload["repository"]!["id"] = RepositoryId(repo);
        payload["pull_request"]!["id"] = RepositoryId(repo) * 10_000 + number;
        payload["repository"]!["name"] = name;
        payload["repository"]!["owner"]!["login"] = owner;
        var pr = payload["pull_request"]!;
        pr["number"] = number;
        pr["draft"] = draft;
        if (title is not null)
        {
            pr["title"] = title;
        }

        pr["url"] = $"https://api.github.com/repos/{repo}/pulls/{number}";
        pr["html_url"] = $"https://github.com/{repo}/pull/{number}";
        pr["head"]!["sha"] = headSha;
        pr["head"]!["repo"]!["full_name"] = repo;
        pr["head"]!["repo"]!["id"] = RepositoryId(repo);
        pr["base"]!["repo"]!["id"] = RepositoryId(repo);
        pr["base"]!["sha"] = baseSha;
        pr["base"]!["repo"]!["full_name"] = repo;
        if (action == "synchronize")
        {
            // The synchronize event carries the previous and the new head.
            payload["before"] = beforeSha ?? baseSha;
            payload["after"] = headSha;
        }

        return Encoding.UTF8.GetBytes(payload.ToJsonString());
    }

    // The real payload's repository keeps its real id; any other gets a stable one from its name.
    public static long RepositoryId(string repo) => repo == "Codertocat/Hello-World"
        ? 186853002
        : 1_000_000 + (BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(repo.ToLowerInvariant()))) % 1_000_000_000);

    public static string Sign(byte[] body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static async Task<int> SendAsync(HttpClient http, Uri reviewBot, string eventName, string deliveryId, byte[] body, string secret, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(reviewBot, "api/github/webhooks"));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", eventName);
        request.Headers.Add("X-GitHub-Delivery", deliveryId);
        request.Headers.Add("X-GitHub-Hook-ID", "1");
        request.Headers.Add("X-Hub-Signature-256", Sign(body, secret));
        request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/sim");
        using var response = await http.SendAsync(request, cancellationToken);
        return (int)response.StatusCode;
    }
}
