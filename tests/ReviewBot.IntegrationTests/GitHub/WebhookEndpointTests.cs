using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.GitHub;

public sealed class WebhookEndpointTests(WebhookAppFixture fixture) : IClassFixture<WebhookAppFixture>
{
    private const string Sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    private const long RepoId = 186853002;

    private TestApp App => fixture.App;

    private TestDatabase Db => fixture.Database;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Every real payload in fixtures/github/webhooks, the event it is sent as, the answer, and
    // whether it stores a review job.
    public static TheoryData<string, string, int, string> AllFixtures => new()
    {
        { "pull_request/opened.payload.json", "pull_request", 202, "opened" },
        { "pull_request/opened.with-null-body.json", "pull_request", 202, "opened" },
        { "pull_request/reopened.payload.json", "pull_request", 202, "reopened" },
        { "pull_request/synchronize.payload.json", "pull_request", 202, "synchronize" },
        { "pull_request/ready_for_review.with-installation.payload.json", "pull_request", 202, "ready_for_review" },
        { "pull_request/ready_for_review.payload.json", "pull_request", 200, "" },
        { "pull_request/converted_to_draft.payload.json", "pull_request", 200, "" },
        { "pull_request/converted_to_draft.with-installation.payload.json", "pull_request", 200, "" },
        { "pull_request/closed.payload.json", "pull_request", 200, "" },
        { "pull_request/edited.angular-github-robot.probot-wrapped.json", "pull_request", 200, "" },
        { "installation/created.payload.json", "installation", 200, "" },
        { "installation/created.with-requester.payload.json", "installation", 200, "" },
        { "installation/deleted.payload.json", "installation", 200, "" },
        { "installation/suspend.payload.json", "installation", 200, "" },
        { "installation/unsuspend.payload.json", "installation", 200, "" },
        { "installation/new_permissions_accepted.payload.json", "installation", 200, "" },
        { "installation_repositories/added.payload.json", "installation_repositories", 200, "" },
        { "installation_repositories/removed.payload.json", "installation_repositories", 200, "" },
        { "ping/payload.json", "ping", 200, "" },
        { "ping/with-app_id.payload.json", "ping", 200, "" },
        { "ping/with-organization.payload.json", "ping", 200, "" },
        { "issue_comment/created.payload.json", "issue_comment", 200, "" },
        { "issue_comment/created.with-installation.payload.json", "issue_comment", 200, "" },
        { "check_run/rerequested.payload.json", "check_run", 200, "" },
        { "check_run/requested_action.payload.json", "check_run", 200, "" },
        { "check_suite/requested.payload.json", "check_suite", 200, "" },
        { "check_suite/rerequested.payload.json", "check_suite", 200, "" },
    };

    [Fact]
    public void Every_fixture_payload_is_covered()
    {
        var root = TestPaths.Fixture("github/webhooks");
        var files = Directory.GetFiles(root, "*.json", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        Assert.Equal(files, AllFixtures.Select(row => (string)row.Data.Item1).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public async Task Signed_fixture_is_answered_stored_once_and_a_redelivery_changes_nothing(string fixturePath, string gitHubEvent, int status, string trigger)
    {
        await fixture.ResetAsync();
        var body = Webhooks.FixtureBytes(fixturePath);
        var delivery = Guid.NewGuid().ToString();

        using (var response = await App.SendAsync(gitHubEvent, body, delivery))
        {
            Assert.Equal((HttpStatusCode)status, response.StatusCode);
        }

        var payload = JsonNode.Parse(body)!;
        Assert.Equal(status == 202 || gitHubEvent.StartsWith("installation", StringComparison.Ordinal) || payload["action"]?.GetValue<string>() == "closed" ? "accepted" : "ignored",
            await Db.ScalarAsync<string>("SELECT outcome FROM webhook_deliveries WHERE delivery_id = $1", delivery));
        Assert.Equal(gitHubEvent, await Db.ScalarAsync<string>("SELECT event FROM webhook_deliveries WHERE delivery_id = $1", delivery));

        if (status == 202)
        {
            await using var command = Db.DataSource.CreateCommand(
                "SELECT installation_id, repo_id, repo_full_name, pr_number, commit_sha, trigger, status, delivery_id, base_branch, pr_title FROM review_jobs");
            await using var reader = await command.ExecuteReaderAsync(Ct);
            Assert.True(await reader.ReadAsync(Ct));
            Assert.Equal(1L, reader.GetInt64(0));
            Assert.Equal(RepoId, reader.GetInt64(1));
            Assert.Equal("Codertocat/Hello-World", reader.GetString(2));
            Assert.Equal(2, reader.GetInt32(3));
            Assert.Equal(Sha, reader.GetString(4));
            Assert.Equal(trigger, reader.GetString(5));
            Assert.Equal("pending", reader.GetString(6));
            Assert.Equal(delivery, reader.GetString(7));
            Assert.Equal("master", reader.GetString(8));
            Assert.Equal("Update the README with new information.", reader.GetString(9));
            Assert.False(await reader.ReadAsync(Ct));
            Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM installations WHERE id = 1"));
        }
        else
        {
            Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM review_jobs"));
        }

        var before = await SnapshotAsync();
        using (var again = await App.SendAsync(gitHubEvent, body, delivery))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public async Task Tampered_fixture_is_rejected_with_401_and_stores_nothing(string fixturePath, string gitHubEvent, int status, string trigger)
    {
        _ = (status, trigger);
        await fixture.ResetAsync();
        var body = Webhooks.FixtureBytes(fixturePath);
        var signature = Webhooks.Sign(body);
        var tampered = (byte[])body.Clone();
        tampered[tampered.Length / 2] ^= 0x01;

        using var response = await App.SendAsync(gitHubEvent, tampered, signature: signature);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("0|0|0", await SnapshotAsync());
    }

    [Fact]
    public async Task Deliveries_of_one_sha_store_one_job_and_a_newer_sha_supersedes_the_pending_one()
    {
        await fixture.ResetAsync();
        var opened = Webhooks.Fixture("pull_request/opened.payload.json");
        using (var first = await App.SendAsync("pull_request", opened))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        // A different delivery for the same SHA (reopened, or GitHub sending twice) adds no job.
        using (var second = await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/synchronize.payload.json")))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }

        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM review_jobs"));

        var newer = Webhooks.Fixture("pull_request/synchronize.payload.json");
        newer["pull_request"]!["head"]!["sha"] = "1111111222222233333334444444555555566666";
        using (var third = await App.SendAsync("pull_request", newer))
        {
            Assert.Equal(HttpStatusCode.Accepted, third.StatusCode);
        }

        Assert.Equal("superseded|cancelled|Superseded by a newer commit 1111111",
            await Db.ScalarAsync<string>("SELECT status || '|' || conclusion || '|' || error_message FROM review_jobs WHERE commit_sha = $1 AND completed_at IS NOT NULL", Sha));
        Assert.Equal("pending", await Db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE commit_sha = '1111111222222233333334444444555555566666'"));
    }

    [Fact]
    public async Task Newer_sha_leaves_a_running_job_to_the_runner()
    {
        await fixture.ResetAsync();
        using (await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/opened.payload.json")))
        {
        }

        await Db.ExecuteAsync("UPDATE review_jobs SET status = 'processing'");
        var newer = Webhooks.Fixture("pull_request/synchronize.payload.json");
        newer["pull_request"]!["head"]!["sha"] = "2222222222222222222222222222222222222222";
        using (var response = await App.SendAsync("pull_request", newer))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        Assert.Equal("processing", await Db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE commit_sha = $1", Sha));
    }

    [Fact]
    public async Task Closed_cancels_pending_jobs_of_that_pull_request_only()
    {
        await fixture.ResetAsync();
        using (await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/opened.payload.json")))
        {
        }

        var other = Webhooks.Fixture("pull_request/opened.payload.json");
        other["pull_request"]!["number"] = 3;
        using (await App.SendAsync("pull_request", other))
        {
        }

        using (var closed = await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/closed.payload.json")))
        {
            Assert.Equal(HttpStatusCode.OK, closed.StatusCode);
        }

        Assert.Equal("cancelled|cancelled", await Db.ScalarAsync<string>("SELECT status || '|' || conclusion FROM review_jobs WHERE pr_number = 2"));
        Assert.Equal("pending", await Db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE pr_number = 3"));
    }

    [Fact]
    public async Task Reopened_on_the_same_sha_after_close_makes_the_cancelled_job_pending_again()
    {
        await fixture.ResetAsync();
        using (await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/opened.payload.json")))
        {
        }

        using (await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/closed.payload.json")))
        {
        }

        var reopenedDelivery = Guid.NewGuid().ToString();
        using (var reopened = await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/reopened.payload.json"), reopenedDelivery))
        {
            Assert.Equal(HttpStatusCode.Accepted, reopened.StatusCode);
        }

        // The old check run stays concluded "cancelled"; the revived job will open a new one.
        Assert.Equal($"pending|reopened|{reopenedDelivery}|none|||1",
            await Db.ScalarAsync<string>("SELECT status || '|' || trigger || '|' || delivery_id || '|' || coalesce(check_run_id::text, 'none') || '|' || coalesce(conclusion, '') || '|' || coalesce(completed_at::text, '') || '|' || count(*) OVER () FROM review_jobs"));
    }

    [Fact]
    public async Task A_completed_review_of_a_sha_is_not_repeated_by_another_delivery()
    {
        await fixture.ResetAsync();
        using (await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/opened.payload.json")))
        {
        }

        await Db.ExecuteAsync("UPDATE review_jobs SET status = 'completed', conclusion = 'neutral', completed_at = now()");
        using (var reopened = await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/reopened.payload.json")))
        {
            Assert.Equal(HttpStatusCode.OK, reopened.StatusCode);
        }

        Assert.Equal("completed|1", await Db.ScalarAsync<string>("SELECT status || '|' || count(*) OVER () FROM review_jobs"));
    }

    [Fact]
    public async Task Ready_for_review_after_a_skipped_draft_job_stores_a_new_job()
    {
        await fixture.ResetAsync();
        var draft = Webhooks.Fixture("pull_request/opened.payload.json");
        draft["pull_request"]!["draft"] = true;
        using (var opened = await App.SendAsync("pull_request", draft))
        {
            Assert.Equal(HttpStatusCode.Accepted, opened.StatusCode);
        }

        await Db.ExecuteAsync("UPDATE review_jobs SET status = 'completed', conclusion = 'skipped', completed_at = now()");
        using (var ready = await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/ready_for_review.with-installation.payload.json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, ready.StatusCode);
        }

        Assert.Equal(2L, await Db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE commit_sha = $1", Sha));
        Assert.Equal("ready_for_review", await Db.ScalarAsync<string>("SELECT trigger FROM review_jobs WHERE status = 'pending'"));
    }

    [Fact]
    public async Task Own_check_run_rerequested_and_review_command_enqueue_fresh_runs()
    {
        await fixture.ResetAsync();
        var checkRun = TestPayloads.OwnCheckRun();
        var rerunDelivery = Guid.NewGuid().ToString();
        using (var response = await App.SendAsync("check_run", checkRun, rerunDelivery))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var commentDelivery = Guid.NewGuid().ToString();
        using (var response = await App.SendAsync("issue_comment", TestPayloads.CommandComment("@reviewbot review"), commentDelivery))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        Assert.Equal($"rerequested|{rerunDelivery}|526:7:d6fde92930d4715a2b49857d24b940956b26d2d3:run={rerunDelivery}",
            await Db.ScalarAsync<string>("SELECT trigger || '|' || run_id || '|' || dedupe_key FROM review_jobs WHERE delivery_id = $1", rerunDelivery));
        Assert.Equal($"comment|{commentDelivery}||1",
            await Db.ScalarAsync<string>("SELECT trigger || '|' || run_id || '|' || commit_sha || '|' || pr_number FROM review_jobs WHERE delivery_id = $1", commentDelivery));
    }

    // GitHub sends check_run.pull_requests empty when the head branch is in a fork: "Re-run" on
    // ReviewBot's check still reviews the pull request, found through the job named by external_id.
    [Fact]
    public async Task Re_run_of_a_forks_pull_request_finds_it_through_the_check_runs_external_id()
    {
        await fixture.ResetAsync();
        var checkRun = TestPayloads.OwnCheckRun();
        var installation = checkRun["installation"]!["id"]!.GetValue<long>();
        await Db.ExecuteAsync("INSERT INTO installations (id) VALUES ($1) ON CONFLICT DO NOTHING", installation);
        var jobId = await Db.ScalarAsync<long>(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, base_branch, trigger, dedupe_key, status, conclusion, completed_at)
            VALUES ($1, 526, 'Codertocat/Hello-World', 7, 'From a fork', 'd6fde92930d4715a2b49857d24b940956b26d2d3', 'main', 'opened', 'fork-1', 'completed', 'neutral', now())
            RETURNING id
            """,
            installation);
        checkRun["check_run"]!["pull_requests"] = new System.Text.Json.Nodes.JsonArray();
        checkRun["check_run"]!["external_id"] = jobId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var delivery = Guid.NewGuid().ToString();
        using (var response = await App.SendAsync("check_run", checkRun, delivery))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        Assert.Equal($"rerequested|7|main|526:7:d6fde92930d4715a2b49857d24b940956b26d2d3:run={delivery}",
            await Db.ScalarAsync<string>("SELECT trigger || '|' || pr_number || '|' || base_branch || '|' || dedupe_key FROM review_jobs WHERE delivery_id = $1", delivery));

        // An external_id that is no job of this repository: nothing to re-run.
        checkRun["check_run"]!["external_id"] = "987654321";
        using (var response = await App.SendAsync("check_run", checkRun, Guid.NewGuid().ToString()))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(2L, await Db.ScalarAsync<long>("SELECT count(*) FROM review_jobs"));
    }

    [Fact]
    public async Task Installation_lifecycle_keeps_installations_true_and_deletion_cancels_pending_jobs()
    {
        await fixture.ResetAsync();
        var created = Webhooks.Fixture("installation/created.payload.json");
        using (await App.SendAsync("installation", created))
        {
        }

        Assert.Equal("Codertocat|User", await Db.ScalarAsync<string>("SELECT account_login || '|' || account_type FROM installations WHERE id = 957387"));
        Assert.Equal("Codertocat/Hello-World", await Db.ScalarAsync<string>("SELECT full_name FROM installation_repositories WHERE installation_id = 957387 AND repo_id = 186853002"));

        using (await App.SendAsync("installation_repositories", Webhooks.Fixture("installation_repositories/added.payload.json")))
        {
        }

        Assert.Equal(2L, await Db.ScalarAsync<long>("SELECT count(*) FROM installation_repositories WHERE installation_id = 957387"));

        var suspend = Webhooks.Fixture("installation/suspend.payload.json");
        suspend["installation"]!["id"] = 957387;
        using (await App.SendAsync("installation", suspend))
        {
        }

        Assert.True(await Db.ScalarAsync<bool>("SELECT suspended_at IS NOT NULL FROM installations WHERE id = 957387"));
        var unsuspend = Webhooks.Fixture("installation/unsuspend.payload.json");
        unsuspend["installation"]!["id"] = 957387;
        using (await App.SendAsync("installation", unsuspend))
        {
        }

        Assert.True(await Db.ScalarAsync<bool>("SELECT suspended_at IS NULL FROM installations WHERE id = 957387"));

        // A pending review and settings for the installation, then it is uninstalled.
        var opened = Webhooks.Fixture("pull_request/opened.payload.json");
        opened["installation"]!["id"] = 957387;
        using (await App.SendAsync("pull_request", opened))
        {
        }

        await Db.ExecuteAsync("INSERT INTO installation_settings (installation_id) VALUES (957387)");
        var deleted = Webhooks.Fixture("installation/deleted.payload.json");
        deleted["installation"]!["id"] = 957387;
        using (var response = await App.SendAsync("installation", deleted))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM installations WHERE id = 957387"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE installation_id = 957387"));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM installation_repositories WHERE installation_id = 957387"));
        Assert.Equal("cancelled", await Db.ScalarAsync<string>("SELECT status FROM review_jobs WHERE installation_id = 957387"));
    }

    [Fact]
    public async Task Stored_job_wakes_listeners_with_notify_on_commit()
    {
        await fixture.ResetAsync();
        await using var listener = await Db.DataSource.OpenConnectionAsync(Ct);
        var notified = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Notification += (_, e) => notified.TrySetResult(e.Channel);
        await using (var listen = new NpgsqlCommand("LISTEN review_jobs", listener))
        {
            await listen.ExecuteNonQueryAsync(Ct);
        }

        using (var response = await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/opened.payload.json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        wait.CancelAfter(TimeSpan.FromSeconds(10));
        await listener.WaitAsync(wait.Token);
        Assert.Equal("review_jobs", await notified.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Theory]
    [InlineData(null, "d-1", "sig", HttpStatusCode.BadRequest)]
    [InlineData("pull_request", "d-1", null, HttpStatusCode.Unauthorized)]
    [InlineData("pull_request", "d-1", "sha256=0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.Unauthorized)]
    [InlineData("", "d-1", "sig", HttpStatusCode.BadRequest)]
    [InlineData("pull_request", "", "sig", HttpStatusCode.BadRequest)]
    public async Task Missing_headers_and_signatures_get_clear_4xx_and_store_nothing(string? gitHubEvent, string deliveryId, string? signature, HttpStatusCode expected)
    {
        await fixture.ResetAsync();
        var body = Webhooks.FixtureBytes("pull_request/opened.payload.json");
        using var request = new HttpRequestMessage(HttpMethod.Post, ReviewBot.GitHub.WebhookEndpoint.Path) { Content = new ByteArrayContent(body) };
        if (gitHubEvent is not null)
        {
            request.Headers.TryAddWithoutValidation("X-GitHub-Event", gitHubEvent);
        }

        request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", deliveryId);
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", signature == "sig" ? Webhooks.Sign(body) : signature);
        }

        using var response = await App.Client.SendAsync(request, Ct);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("0|0|0", await SnapshotAsync());
    }

    [Theory]
    [InlineData("{\"action\": \"opened\", ")]
    [InlineData("[1, 2, 3]")]
    [InlineData("null")]
    [InlineData("\"text\"")]
    [InlineData("")]
    [InlineData("{\"action\": 7}")]
    [InlineData("{\"action\": \"opened\", \"installation\": {\"id\": \"1\"}}")]
    [InlineData("{\"action\": \"opened\", \"installation\": {\"id\": 1}, \"repository\": {\"id\": 5, \"full_name\": \"o/r\"}, \"pull_request\": {\"number\": \"2\"}}")]
    [InlineData("{\"action\": \"opened\", \"installation\": {\"id\": 1}, \"repository\": {\"id\": 5, \"full_name\": \"o/r\"}, \"pull_request\": {\"number\": 2, \"head\": {}}}")]
    [InlineData("{\"action\": \"opened\", \"installation\": {\"id\": 1}, \"pull_request\": {\"number\": 2, \"head\": {\"sha\": \"abc\"}}}")]
    [InlineData("{\"action\": \"opened\", \"installation\": {\"id\": 1e400}}")]
    public async Task Malformed_json_and_wrong_field_types_get_400_and_store_nothing(string json)
    {
        await fixture.ResetAsync();
        using var response = await App.SendAsync("pull_request", Encoding.UTF8.GetBytes(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("0|0|0", await SnapshotAsync());
    }

    [Fact]
    public async Task Body_over_25_MiB_with_content_length_is_refused_with_413()
    {
        var body = new byte[(25 * 1024 * 1024) + 1];
        using var response = await App.SendAsync("pull_request", body, signature: "sha256=" + new string('0', 64));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Chunked_body_over_25_MiB_is_refused_with_413_while_streaming()
    {
        // No Content-Length: the endpoint has to count as it reads.
        var stream = new LengthStream(200L * 1024 * 1024);
        using var request = new HttpRequestMessage(HttpMethod.Post, ReviewBot.GitHub.WebhookEndpoint.Path) { Content = new StreamContent(stream) };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Add("X-GitHub-Event", "pull_request");
        request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + new string('0', 64));

        HttpStatusCode? status = null;
        try
        {
            using var response = await App.Client.SendAsync(request, Ct);
            status = response.StatusCode;
        }
        catch (HttpRequestException)
        {
            // The server may answer and close before the client finished sending; it must not have read it all.
        }

        Assert.True(status is null or HttpStatusCode.RequestEntityTooLarge, $"got {status}");
        Assert.True(stream.Position < stream.Length, "the whole body was read before refusing it");
    }

    [Fact]
    public async Task Webhook_metrics_count_by_event_and_outcome()
    {
        await fixture.ResetAsync();
        using (await App.SendAsync("pull_request", Webhooks.Fixture("pull_request/opened.payload.json")))
        {
        }

        using (await App.SendAsync("some_future_event", Encoding.UTF8.GetBytes("{}")))
        {
        }

        var metrics = await App.Client.GetStringAsync("/metrics", Ct);
        Assert.Contains("reviewbot_webhooks_received_total{event=\"pull_request\",outcome=\"accepted\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("reviewbot_webhooks_received_total{event=\"other\",outcome=\"ignored\"}", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("some_future_event", metrics, StringComparison.Ordinal);
    }

    // deliveries|jobs|installations, with their contents, so "nothing changed" is one comparison.
    private Task<string> SnapshotAsync() => Db.ScalarAsync<string>(
        """
        SELECT (SELECT count(*) FROM webhook_deliveries) || '|' ||
               (SELECT count(*) FROM review_jobs) || '|' ||
               (SELECT count(*) FROM installations) ||
               coalesce((SELECT string_agg(id || status || coalesce(conclusion, ''), ',' ORDER BY id) FROM review_jobs), '') ||
               coalesce((SELECT string_agg(id || account_login || coalesce(suspended_at::text, ''), ',' ORDER BY id) FROM installations), '')
        """);

    // A body of the given length that records how much of it was read.
    private sealed class LengthStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => Interlocked.Read(ref _position);
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Fill(buffer, (byte)'a', offset, n);
            Interlocked.Add(ref _position, n);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
