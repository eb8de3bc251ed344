using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ReviewBot.GitHub;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.GitHub;

// Sends webhook deliveries the way GitHub does: raw JSON body, X-GitHub-Event, X-GitHub-Delivery
// and X-Hub-Signature-256 over the exact bytes sent.
internal static class Webhooks
{
    public static byte[] FixtureBytes(string path)
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("github/webhooks/" + path));
        if (path.Contains("probot-wrapped", StringComparison.Ordinal))
        {
            // Probot's envelope { event, name, payload }: GitHub's body is the payload member.
            return Encoding.UTF8.GetBytes(JsonNode.Parse(bytes)!["payload"]!.ToJsonString());
        }

        return bytes;
    }

    public static JsonNode Fixture(string path) => JsonNode.Parse(FixtureBytes(path))!;

    public static string Sign(byte[] body) => WebhookSignature.Compute(TestKeys.WebhookSecret, body);

    public static HttpRequestMessage Request(string gitHubEvent, byte[] body, string? deliveryId = null, string? signature = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, WebhookEndpoint.Path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", gitHubEvent);
        request.Headers.Add("X-GitHub-Delivery", deliveryId ?? Guid.NewGuid().ToString());
        request.Headers.Add("X-Hub-Signature-256", signature ?? Sign(body));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("GitHub-Hookshot", "test"));
        return request;
    }

    public static async Task<HttpResponseMessage> SendAsync(this TestApp app, string gitHubEvent, byte[] body, string? deliveryId = null, string? signature = null)
    {
        using var request = Request(gitHubEvent, body, deliveryId, signature);
        return await app.Client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    public static Task<HttpResponseMessage> SendAsync(this TestApp app, string gitHubEvent, JsonNode payload, string? deliveryId = null) =>
        app.SendAsync(gitHubEvent, Encoding.UTF8.GetBytes(payload.ToJsonString()), deliveryId);
}
