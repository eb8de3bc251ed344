using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ReviewBot.IntegrationTests.Infrastructure;

// Sends webhook deliveries as GitHub does: raw JSON body, X-Hub-Signature-256 over its bytes.
internal static class Webhooks
{
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, string @event, string body, string? deliveryId = null)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-GitHub-Event", @event);
        request.Headers.Add("X-GitHub-Delivery", deliveryId ?? Guid.NewGuid().ToString());
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(TestKeys.WebhookSecret), bytes)));
        return await client.SendAsync(request);
    }

    // The real pull_request payload from ../shared/fixtures, with the fields a test varies replaced.
    public static string PullRequest(string action, long installationId, int number, string headSha, string repo = "Codertocat/Hello-World", long repoId = 186853002, string? before = null)
    {
        var payload = JsonNode.Parse(TestPaths.ReadFixture($"github/webhooks/pull_request/{(action == "synchronize" ? "synchronize" : action == "closed" ? "closed" : "opened")}.payload.json"))!.AsObject();
        payload["action"] = action;
        payload["installation"]!["id"] = installationId;
        payload["number"] = number;
        payload["pull_request"]!["number"] = number;
        payload["pull_request"]!["head"]!["sha"] = headSha;
        payload["repository"]!["full_name"] = repo;
        payload["repository"]!["id"] = repoId;
        if (before is not null)
        {
            payload["before"] = before;
            payload["after"] = headSha;
        }

        return payload.ToJsonString();
    }

    public static async Task ConfigureInstallationAsync(HttpClient client, long installationId, string apiKey = "sk-test-0123456789abcdef")
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/installations/{installationId}/settings")
        {
            Content = new StringContent(
                $$"""{"enabled":true,"llmProvider":"openai","model":"gpt-4o-mini","apiKey":"{{apiKey}}","customInstructions":"","ignorePaths":[],"reviewDrafts":false}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", TestKeys.AdminToken);
        using var response = await client.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"settings PUT answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
