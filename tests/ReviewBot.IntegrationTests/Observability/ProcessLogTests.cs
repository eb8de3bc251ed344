using System.Text.Json;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.IntegrationTests.Jobs;

namespace ReviewBot.IntegrationTests.Observability;

// CONTRACT §7 read off the real binary's stdout, and the healthcheck verb against the three states a
// container orchestrator sees.
public sealed class ProcessLogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_stdout_line_is_json_and_job_lines_carry_the_ids_and_no_secret()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var github = new FakeGitHub();
        using var openAi = new FakeOpenAi("src/cli.rs", 5);
        const string sha = "1234567000000000000000000000000000000abc";
        const string apiKey = "sk-test-secret-key-never-logged-9876";
        github.AddPull("Codertocat/Hello-World", 2, sha, "diffs/modification-multiple-hunks.diff");
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        env["GITHUB_API_URL"] = github.Url.ToString();
        env["OPENAI_BASE_URL"] = openAi.BaseUrl.ToString();
        await using var process = ReviewBotProcess.Start(env);
        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        using (var client = new HttpClient { BaseAddress = process.BaseAddress })
        {
            await Webhooks.ConfigureInstallationAsync(client, 1, apiKey);
            await Webhooks.SendAsync(client, "pull_request", Webhooks.PullRequest("opened", 1, 2, sha), "delivery-log-test");
        }

        await QueueTestApp.WaitForCompletedAsync(db, 1, TimeSpan.FromSeconds(30), "review");
        process.Terminate();
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var lines = process.StandardOutput.ToList();
        var jobLines = 0;
        var sawReviewCompleted = false;
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            foreach (var field in new[] { "timestamp", "level", "message", "category" })
            {
                Assert.True(root.TryGetProperty(field, out _), $"'{field}' missing: {line}");
            }

            if (root.TryGetProperty("jobId", out _))
            {
                jobLines++;
                Assert.Equal(1, root.GetProperty("installationId").GetInt64());
                Assert.Equal("Codertocat/Hello-World", root.GetProperty("repo").GetString());
                Assert.Equal(2, root.GetProperty("pr").GetInt32());
                Assert.Equal("delivery-log-test", root.GetProperty("deliveryId").GetString());
            }

            if (root.TryGetProperty("event", out var name) && name.GetString() == "review_completed")
            {
                sawReviewCompleted = true;
                Assert.Equal("openai", root.GetProperty("Provider").GetString());
                Assert.Equal("gpt-4o-mini", root.GetProperty("Model").GetString());
                Assert.Equal(120, root.GetProperty("InputTokens").GetInt32());
                Assert.Equal(1, root.GetProperty("CommentsPosted").GetInt32());
                Assert.True(root.TryGetProperty("DurationMs", out _));
            }
        }

        Assert.True(jobLines >= 2, $"only {jobLines} job line(s)");
        Assert.True(sawReviewCompleted, "no review_completed line");
        var all = string.Join('\n', lines) + string.Join('\n', process.StandardError);
        foreach (var secret in new[] { apiKey, TestKeys.WebhookSecret, TestKeys.AdminToken, "ghs_fake_installation_token", TestKeys.EncryptionKeyBase64 })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("PRIVATE KEY", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthcheck_verb_exits_1_while_the_service_is_degraded()
    {
        await using var db = await TestDatabase.CreateAsync();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        var env = ReviewBotProcess.BaseEnvironment(viaProxy, ReviewBotProcess.FreePort());
        await using var server = ReviewBotProcess.Start(env);
        await server.WaitForHealthyAsync(TimeSpan.FromSeconds(30));

        proxy.GoDown();
        await using (var degraded = ReviewBotProcess.Start(env, "healthcheck"))
        {
            Assert.Equal(1, await degraded.WaitForExitAsync(TimeSpan.FromSeconds(15)));
            Assert.Contains(": 503", string.Join('\n', degraded.StandardOutput), StringComparison.Ordinal);
        }

        proxy.ComeBack();
        await server.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        await using var healthy = ReviewBotProcess.Start(env, "healthcheck");
        Assert.Equal(0, await healthy.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }
}
