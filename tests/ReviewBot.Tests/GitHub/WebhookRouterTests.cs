using System.Text.Json;
using System.Text.Json.Nodes;
using ReviewBot.GitHub;
using ReviewBot.Tests.Infrastructure;

namespace ReviewBot.Tests.GitHub;

public sealed class WebhookRouterTests
{
    private const long AppId = 12345;

    [Theory]
    [InlineData("opened.payload.json", "opened", "186853002:2:ec26c3e57ca3a959ca5aad62de7213c562f8c821")]
    [InlineData("opened.with-null-body.json", "opened", "186853002:2:ec26c3e57ca3a959ca5aad62de7213c562f8c821")]
    [InlineData("reopened.payload.json", "reopened", "186853002:2:ec26c3e57ca3a959ca5aad62de7213c562f8c821")]
    [InlineData("synchronize.payload.json", "synchronize", "186853002:2:ec26c3e57ca3a959ca5aad62de7213c562f8c821")]
    [InlineData("ready_for_review.with-installation.payload.json", "ready_for_review", "186853002:2:ec26c3e57ca3a959ca5aad62de7213c562f8c821:ready")]
    public void Pull_request_triggers_enqueue_a_review_of_the_head_sha(string fixture, string trigger, string dedupeKey)
    {
        var action = Route("pull_request", Fixture("pull_request/" + fixture));

        var request = Assert.IsType<WebhookAction.Enqueue>(action).Request;
        Assert.Equal(1, request.InstallationId);
        Assert.Equal("Codertocat/Hello-World", request.RepoFullName);
        Assert.Equal(2, request.PrNumber);
        Assert.Equal("Update the README with new information.", request.PrTitle);
        Assert.Equal("master", request.BaseBranch);
        Assert.Equal(trigger, request.Trigger);
        Assert.Null(request.RunId);
        Assert.Equal(dedupeKey, request.DedupeKey);
    }

    [Fact]
    public void Pull_request_closed_cancels_pending_work()
    {
        var action = Assert.IsType<WebhookAction.CancelPullRequest>(Route("pull_request", Fixture("pull_request/closed.payload.json")));
        Assert.Equal((1L, 186853002L, 2), (action.InstallationId, action.RepoId, action.PrNumber));
    }

    [Theory]
    [InlineData("pull_request/converted_to_draft.with-installation.payload.json")]
    [InlineData("pull_request/ready_for_review.payload.json")]
    public void Pull_request_actions_not_handled_or_without_installation_are_ignored(string fixture)
    {
        Assert.IsType<WebhookAction.Ignore>(Route("pull_request", Fixture(fixture)));
    }

    [Fact]
    public void Pull_request_probot_wrapped_edited_payload_is_ignored()
    {
        var body = Fixture("pull_request/edited.angular-github-robot.probot-wrapped.json")["payload"]!;
        Assert.IsType<WebhookAction.Ignore>(Route("pull_request", body));
    }

    [Fact]
    public void Pull_request_without_head_sha_is_invalid()
    {
        var payload = Fixture("pull_request/opened.payload.json");
        payload["pull_request"]!["head"]!.AsObject().Remove("sha");
        Assert.IsType<WebhookAction.Invalid>(Route("pull_request", payload));
    }

    [Fact]
    public void Check_run_rerequested_of_another_app_is_ignored()
    {
        Assert.IsType<WebhookAction.Ignore>(Route("check_run", Fixture("check_run/rerequested.payload.json")));
    }

    [Fact]
    public void Check_run_rerequested_of_ReviewBot_enqueues_a_run_keyed_by_delivery()
    {
        var payload = OwnCheckRun();

        var request = Assert.IsType<WebhookAction.Enqueue>(Route("check_run", payload, "d-1")).Request;
        Assert.Equal("rerequested", request.Trigger);
        Assert.Equal("d-1", request.RunId);
        Assert.Equal("d6fde92930d4715a2b49857d24b940956b26d2d3", request.CommitSha);
        Assert.Equal($"526:7:d6fde92930d4715a2b49857d24b940956b26d2d3:run=d-1", request.DedupeKey);
        Assert.Equal("main", request.BaseBranch);
    }

    [Fact]
    public void Check_run_rerequested_from_a_fork_names_its_job_by_external_id()
    {
        var payload = OwnCheckRun();
        payload["check_run"]!["pull_requests"] = new JsonArray();
        payload["check_run"]!["external_id"] = "42";

        var rerun = Assert.IsType<WebhookAction.RerunJob>(Route("check_run", payload, "d-2"));
        Assert.Equal((42L, "d6fde92930d4715a2b49857d24b940956b26d2d3", "d-2"), (rerun.JobId, rerun.HeadSha, rerun.DeliveryId));

        payload["check_run"]!["external_id"] = "not-a-job";
        Assert.IsType<WebhookAction.Ignore>(Route("check_run", payload));
    }

    [Fact]
    public void Check_run_named_ReviewBot_counts_as_own_check()
    {
        var payload = Fixture("check_run/rerequested.payload.json");
        payload["check_run"]!["name"] = "ReviewBot";
        payload["check_run"]!["pull_requests"] = PullRequestLink();
        Assert.IsType<WebhookAction.Enqueue>(Route("check_run", payload));
    }

    [Fact]
    public void Issue_comment_on_a_plain_issue_is_ignored()
    {
        var payload = Fixture("issue_comment/created.with-installation.payload.json");
        payload["comment"]!["body"] = "@reviewbot review";
        Assert.IsType<WebhookAction.Ignore>(Route("issue_comment", payload));
    }

    [Fact]
    public void Issue_comment_command_on_a_pull_request_enqueues_a_run_without_sha()
    {
        var payload = CommandComment("  @ReviewBot review please");

        var request = Assert.IsType<WebhookAction.Enqueue>(Route("issue_comment", payload, "d-2")).Request;
        Assert.Equal("comment", request.Trigger);
        Assert.Equal("", request.CommitSha);
        Assert.Equal("d-2", request.RunId);
        Assert.EndsWith(":run=d-2", request.DedupeKey, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_comment_on_a_pull_request_without_the_command_is_ignored()
    {
        Assert.IsType<WebhookAction.Ignore>(Route("issue_comment", CommandComment("Looks good, @reviewbot review later")));
    }

    [Theory]
    [InlineData("created.payload.json", InstallationChangeKindName.Upsert, 957387, 1)]
    [InlineData("created.with-requester.payload.json", InstallationChangeKindName.Upsert, -1, -1)]
    [InlineData("deleted.payload.json", InstallationChangeKindName.Deleted, 2, -1)]
    [InlineData("suspend.payload.json", InstallationChangeKindName.Suspended, 16598467, 0)]
    [InlineData("unsuspend.payload.json", InstallationChangeKindName.Unsuspended, 16598467, 0)]
    [InlineData("new_permissions_accepted.payload.json", InstallationChangeKindName.Upsert, 957387, -1)]
    public void Installation_events_change_the_installation(string fixture, InstallationChangeKindName kind, long installationId, int repositories)
    {
        var change = Assert.IsType<WebhookAction.ChangeInstallation>(Route("installation", Fixture("installation/" + fixture))).Change;
        Assert.Equal(kind.ToString(), change.Kind.ToString());
        if (installationId > 0)
        {
            Assert.Equal(installationId, change.InstallationId);
        }

        if (repositories >= 0)
        {
            Assert.Equal(repositories, change.RepositoriesAdded.Count);
        }
    }

    [Fact]
    public void Installation_repositories_added_and_removed_update_the_list()
    {
        var added = Assert.IsType<WebhookAction.ChangeInstallation>(Route("installation_repositories", Fixture("installation_repositories/added.payload.json"))).Change;
        Assert.Equal(186853007, Assert.Single(added.RepositoriesAdded).Id);

        var removed = Assert.IsType<WebhookAction.ChangeInstallation>(Route("installation_repositories", Fixture("installation_repositories/removed.payload.json"))).Change;
        Assert.Equal(1296269, Assert.Single(removed.RepositoriesRemoved));
    }

    [Theory]
    [InlineData("ping")]
    [InlineData("check_suite")]
    [InlineData("push")]
    public void Ping_and_other_events_are_ignored(string gitHubEvent)
    {
        Assert.IsType<WebhookAction.Ignore>(Route(gitHubEvent, Fixture("ping/with-app_id.payload.json")));
    }

    [Theory]
    [InlineData("pull_request", "pull_request")]
    [InlineData("check_suite", "other")]
    [InlineData("", "other")]
    [InlineData("a-very-long-made-up-event", "other")]
    public void Event_label_is_a_closed_set(string gitHubEvent, string label)
    {
        Assert.Equal(label, WebhookRouter.EventLabel(gitHubEvent));
    }

    // Mirrors ReviewBot.Jobs.InstallationChangeKind (internal) for use in InlineData.
    public enum InstallationChangeKindName
    {
        Upsert,
        Deleted,
        Suspended,
        Unsuspended,
    }

    internal static JsonNode OwnCheckRun()
    {
        var payload = Fixture("check_run/rerequested.payload.json");
        payload["check_run"]!["app"]!["id"] = AppId;
        payload["check_run"]!["pull_requests"] = PullRequestLink();
        return payload;
    }

    internal static JsonNode CommandComment(string body)
    {
        var payload = Fixture("issue_comment/created.with-installation.payload.json");
        payload["issue"]!["pull_request"] = new JsonObject { ["url"] = "https://api.github.com/repos/Codertocat/Hello-World/pulls/1" };
        payload["comment"]!["body"] = body;
        return payload;
    }

    private static JsonArray PullRequestLink() =>
    [
        new JsonObject
        {
            ["url"] = "https://api.github.com/repos/Codertocat/Hello-World/pulls/7",
            ["id"] = 1,
            ["number"] = 7,
            ["head"] = new JsonObject { ["ref"] = "feature", ["sha"] = "d6fde92930d4715a2b49857d24b940956b26d2d3" },
            ["base"] = new JsonObject { ["ref"] = "main", ["sha"] = "0000000000000000000000000000000000000000" },
        },
    ];

    private static JsonNode Fixture(string path) => JsonNode.Parse(TestPaths.ReadFixture("github/webhooks/" + path))!;

    private static WebhookAction Route(string gitHubEvent, JsonNode payload, string deliveryId = "delivery-1")
    {
        var parsed = JsonSerializer.Deserialize(payload.ToJsonString(), GitHubWebhookJsonContext.Default.WebhookPayload)!;
        return WebhookRouter.Route(gitHubEvent, parsed, AppId, deliveryId);
    }
}
