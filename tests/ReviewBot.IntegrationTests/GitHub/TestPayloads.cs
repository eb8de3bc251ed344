using System.Text.Json.Nodes;

namespace ReviewBot.IntegrationTests.GitHub;

// octokit/webhooks has no check_run for a pull request and no issue_comment on a pull request:
// these take the real payloads and add what such a delivery carries.
internal static class TestPayloads
{
    public const long AppId = 12345;

    public static JsonNode OwnCheckRun()
    {
        var payload = Webhooks.Fixture("check_run/rerequested.payload.json");
        payload["check_run"]!["app"]!["id"] = AppId;
        payload["check_run"]!["pull_requests"] = new JsonArray(new JsonObject
        {
            ["url"] = "https://api.github.com/repos/Codertocat/Hello-World/pulls/7",
            ["id"] = 1,
            ["number"] = 7,
            ["head"] = new JsonObject { ["ref"] = "feature", ["sha"] = "d6fde92930d4715a2b49857d24b940956b26d2d3" },
            ["base"] = new JsonObject { ["ref"] = "main", ["sha"] = "0000000000000000000000000000000000000000" },
        });
        return payload;
    }

    public static JsonNode CommandComment(string body)
    {
        var payload = Webhooks.Fixture("issue_comment/created.with-installation.payload.json");
        payload["issue"]!["pull_request"] = new JsonObject { ["url"] = "https://api.github.com/repos/Codertocat/Hello-World/pulls/1" };
        payload["comment"]!["body"] = body;
        return payload;
    }
}
