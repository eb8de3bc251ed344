using System.Net;
using System.Text.Json;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Llm;

namespace ReviewBot.IntegrationTests.Settings;

public sealed class SettingsApiTests
{
    private const string Admin = TestKeys.AdminToken;
    private const string AliceToken = "ghu_alice0000000000000000000000000001";
    private const string MalloryToken = "ghu_mallory00000000000000000000000002";

    private static object Body(string? apiKey = null, string provider = "openai", string model = "gpt-4o-mini", string instructions = "Focus on security.") =>
        apiKey is null
            ? new { enabled = true, llmProvider = provider, model, customInstructions = instructions, ignorePaths = new[] { "docs/**", "*.snap" }, reviewDrafts = false }
            : new { enabled = true, llmProvider = provider, model, apiKey, customInstructions = instructions, ignorePaths = new[] { "docs/**", "*.snap" }, reviewDrafts = false };

    [Fact]
    public async Task User_token_lists_exactly_the_installations_GitHub_lists_for_it()
    {
        await using var host = await SettingsHost.StartAsync();
        // The official example answer of GET /user/installations lists installations 1 and 3.
        host.GitHubAnswers(AliceToken, TestPaths.ReadFixture("github/rest/apps-list-installations-for-authenticated-user.json"));
        await host.Database.ExecuteAsync("INSERT INTO installations (id, account_login, account_type) VALUES (1, 'octocat', 'Organization'), (2, 'other', 'User')");
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(1, Admin, Body("sk-alice-key-0001"))).Status);

        var listed = await host.GetAsync("/api/installations", AliceToken);
        Assert.Equal(HttpStatusCode.OK, listed.Status);
        var installations = listed.Json.GetProperty("installations").EnumerateArray().ToList();
        Assert.Equal([1L, 3L], installations.Select(i => i.GetProperty("id").GetInt64()));
        Assert.Equal("octocat", installations[0].GetProperty("account").GetString());
        Assert.True(installations[0].GetProperty("configured").GetBoolean());
        Assert.False(installations[1].GetProperty("configured").GetBoolean());

        // The operator sees every installation ReviewBot knows.
        var all = await host.GetAsync("/api/installations", Admin);
        Assert.Equal([1L, 2L], all.Json.GetProperty("installations").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task Cross_tenant_reads_and_writes_with_a_user_token_are_404_exactly_like_a_missing_installation()
    {
        await using var host = await SettingsHost.StartAsync();
        host.GitHubLists(AliceToken, 101);
        host.GitHubLists(MalloryToken, 202);
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(101, AliceToken, Body("sk-alice-key-0001"))).Status);
        await host.Database.ExecuteAsync(
            "INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, commit_sha, trigger, dedupe_key) VALUES (101, 1, 'alice/app', 7, 'abc', 'opened', 'k1')");
        var before = await host.Database.ScalarAsync<string>("SELECT row_to_json(s)::text FROM installation_settings s WHERE installation_id = 101");

        var missing = await host.GetAsync("/api/installations/999999/settings", MalloryToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        foreach (var attempt in new[]
        {
            await host.GetAsync("/api/installations/101/settings", MalloryToken),
            await host.GetAsync("/api/installations/101/jobs", MalloryToken),
            await host.PutAsync(101, MalloryToken, Body("sk-mallory-key-0002", model: "gpt-4o")),
            await host.PutAsync(101, MalloryToken, Body()),
        })
        {
            Assert.Equal(HttpStatusCode.NotFound, attempt.Status);
            Assert.Equal(missing.Body, attempt.Body);
            Assert.Equal(missing.ContentType, attempt.ContentType);
        }

        Assert.Equal(before, await host.Database.ScalarAsync<string>("SELECT row_to_json(s)::text FROM installation_settings s WHERE installation_id = 101"));
        Assert.DoesNotContain(host.Llm.Validations, v => v.ApiKey == "sk-mallory-key-0002");
        // Mallory's own installation works with her token.
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations/202/settings", MalloryToken)).Status);
    }

    [Fact]
    public async Task No_token_a_malformed_header_or_a_token_GitHub_rejects_is_401()
    {
        await using var host = await SettingsHost.StartAsync();
        foreach (var token in new string?[] { null, "ghu_revoked000000000000000000000000000" })
        {
            var response = await host.GetAsync("/api/installations/1/settings", token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }

        var basic = await host.SendAsync(HttpMethod.Get, "/api/installations", null, null);
        Assert.Equal(HttpStatusCode.Unauthorized, basic.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.PutAsync(1, "not a token", Body())).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.GetAsync("/api/installations/1/jobs", TestKeys.AdminToken + "x")).Status);
        Assert.Equal(0, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings"));
    }

    [Fact]
    public async Task A_token_GitHub_refused_is_asked_about_again_next_time()
    {
        await using var host = await SettingsHost.StartAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.GetAsync("/api/installations", AliceToken)).Status);
        host.GitHubLists(AliceToken, 12);
        var listed = await host.GetAsync("/api/installations", AliceToken);
        Assert.Equal(HttpStatusCode.OK, listed.Status);
        Assert.Equal("no-store", listed.Headers.CacheControl?.ToString());
        Assert.Equal(2, host.GitHubCalls);
    }

    [Fact]
    public async Task GitHub_failing_to_answer_is_502_not_401()
    {
        await using var host = await SettingsHost.StartAsync();
        host.GitHubAnswers(AliceToken, """{"message":"Server Error"}""", status: 500);
        Assert.Equal(HttpStatusCode.BadGateway, (await host.GetAsync("/api/installations", AliceToken)).Status);
    }

    // "Rate limits for the REST API": a user access token has its own primary limit (x-ratelimit-*)
    // and secondary limits (403/429 naming them). GitHub asks clients to stop until the reset; the
    // token is not sent again before then, and the caller learns when to come back.
    [Fact]
    public async Task A_rate_limited_user_token_is_502_with_Retry_After_and_GitHub_is_not_asked_again_before_the_reset()
    {
        await using var host = await SettingsHost.StartAsync(fakeTime: true);
        var reset = host.Time!.GetUtcNow().AddSeconds(120).ToUnixTimeSeconds();
        var limited = host.GitHubAnswers(
            AliceToken,
            """{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}""",
            status: 403,
            headers: new Dictionary<string, string>
            {
                ["x-ratelimit-limit"] = "5000",
                ["x-ratelimit-remaining"] = "0",
                ["x-ratelimit-used"] = "5000",
                ["x-ratelimit-reset"] = reset.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });

        var first = await host.GetAsync("/api/installations", AliceToken);
        Assert.Equal(HttpStatusCode.BadGateway, first.Status);
        Assert.InRange(first.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 120, 122);

        host.Time.Advance(TimeSpan.FromSeconds(60));
        var held = await host.GetAsync("/api/installations/12/settings", AliceToken);
        Assert.Equal(HttpStatusCode.BadGateway, held.Status);
        Assert.InRange(held.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 60, 62);
        Assert.Equal(1, host.GitHubCalls);

        // After the reset GitHub is asked again, and answers.
        host.GitHub.DeleteMapping(limited);
        host.GitHubLists(AliceToken, 12);
        host.Time.Advance(TimeSpan.FromSeconds(62));
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations", AliceToken)).Status);
        Assert.Equal(2, host.GitHubCalls);
    }

    [Fact]
    public async Task A_secondary_rate_limit_is_502_for_a_minute_not_401_and_any_other_403_is_401()
    {
        await using var host = await SettingsHost.StartAsync(fakeTime: true);
        host.GitHubAnswers(
            AliceToken,
            """{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 1234:5678.","documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}""",
            status: 403);
        host.GitHubAnswers(
            MalloryToken,
            """{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token","status":"403"}""",
            status: 403);

        var limited = await host.GetAsync("/api/installations", AliceToken);
        Assert.Equal(HttpStatusCode.BadGateway, limited.Status);
        Assert.InRange(limited.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 60, 61);
        Assert.Equal(HttpStatusCode.BadGateway, (await host.GetAsync("/api/installations", AliceToken)).Status);
        Assert.Equal(1, host.GitHubCalls);

        var refused = await host.GetAsync("/api/installations", MalloryToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Null(refused.Headers.RetryAfter);
    }

    [Fact]
    public async Task Admin_token_creates_reads_and_replaces_settings_of_an_installation_never_seen_before()
    {
        await using var host = await SettingsHost.StartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await host.GetAsync("/api/installations/4242/settings", Admin)).Status);

        var put = await host.PutAsync(4242, Admin, new
        {
            enabled = true, llmProvider = "anthropic", model = "claude-sonnet-4-5", apiKey = "sk-ant-api03-secret-abcd",
            customInstructions = "Line one\r\nLine two", ignorePaths = new[] { "docs/**" }, reviewDrafts = true, reviewsPerHour = 12,
        });
        Assert.Equal(HttpStatusCode.OK, put.Status);
        Assert.Equal(1, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installations WHERE id = 4242"));

        var json = (await host.GetAsync("/api/installations/4242/settings", Admin)).Json;
        Assert.True(json.GetProperty("configured").GetBoolean());
        Assert.Equal("anthropic", json.GetProperty("llmProvider").GetString());
        Assert.Equal("claude-sonnet-4-5", json.GetProperty("model").GetString());
        Assert.True(json.GetProperty("apiKeyConfigured").GetBoolean());
        Assert.Equal("abcd", json.GetProperty("apiKeyLast4").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("apiKeyProblem").ValueKind);
        Assert.False(json.TryGetProperty("apiKey", out _));
        Assert.Equal("Line one\nLine two", json.GetProperty("customInstructions").GetString());
        Assert.Equal(["docs/**"], json.GetProperty("ignorePaths").EnumerateArray().Select(e => e.GetString()));
        Assert.True(json.GetProperty("reviewDrafts").GetBoolean());
        Assert.Equal(12, json.GetProperty("reviewsPerHour").GetInt32());
        Assert.Equal(LlmProvider.Anthropic, host.Llm.Validations.Single().Provider);

        var snapshot = await host.SnapshotAsync(4242);
        Assert.True(snapshot.Configured);
        Assert.Equal("sk-ant-api03-secret-abcd", snapshot.ApiKey);
        Assert.Null(snapshot.ApiKeyProblem);
        Assert.Equal(12, snapshot.ReviewsPerHour);

        // Replacing without apiKey keeps the stored key; the rest is replaced (reviewsPerHour back to default).
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(4242, Admin, new { enabled = false, llmProvider = "anthropic", model = "claude-haiku-4-5" })).Status);
        snapshot = await host.SnapshotAsync(4242);
        Assert.False(snapshot.Enabled);
        Assert.Equal("claude-haiku-4-5", snapshot.Model);
        Assert.Equal("sk-ant-api03-secret-abcd", snapshot.ApiKey);
        Assert.Empty(snapshot.IgnorePaths);
        Assert.Equal(ReviewBot.Settings.SettingsStore.DefaultReviewsPerHour, snapshot.ReviewsPerHour);
        Assert.Single(host.Llm.Validations);
    }

    [Fact]
    public async Task Changing_provider_without_a_new_key_is_refused_naming_apiKey()
    {
        await using var host = await SettingsHost.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(5, Admin, Body("sk-openai-key-0005"))).Status);

        var response = await host.PutAsync(5, Admin, Body(provider: "gemini", model: "gemini-2.5-flash"));
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("application/problem+json", response.ContentType);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("apiKey", out _));
        Assert.Equal(LlmProvider.OpenAi, (await host.SnapshotAsync(5)).Provider);
    }

    [Fact]
    public async Task A_rejected_key_is_400_and_an_unreachable_provider_502_and_neither_stores_anything()
    {
        await using var host = await SettingsHost.StartAsync();
        host.GitHubLists(AliceToken, 9);
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(9, AliceToken, Body("sk-good-key-0009", instructions: "original"))).Status);
        var before = await host.Database.ScalarAsync<string>("SELECT row_to_json(s)::text FROM installation_settings s WHERE installation_id = 9");
        host.Llm.Answers["sk-rejected-key-0009"] = KeyValidation.Rejected;
        host.Llm.Answers["sk-unreachable-0009"] = KeyValidation.Unreachable;

        var rejected = await host.PutAsync(9, AliceToken, Body("sk-rejected-key-0009", instructions: "changed"));
        Assert.Equal(HttpStatusCode.BadRequest, rejected.Status);
        Assert.Equal("""{"error":"Invalid API key"}""", rejected.Body);

        var unreachable = await host.PutAsync(9, AliceToken, Body("sk-unreachable-0009", instructions: "changed"));
        Assert.Equal(HttpStatusCode.BadGateway, unreachable.Status);

        Assert.Equal(before, await host.Database.ScalarAsync<string>("SELECT row_to_json(s)::text FROM installation_settings s WHERE installation_id = 9"));
        Assert.Equal("sk-good-key-0009", (await host.SnapshotAsync(9)).ApiKey);

        // An installation with no row yet gets none from a refused key.
        host.GitHubLists(MalloryToken, 10);
        Assert.Equal(HttpStatusCode.BadRequest, (await host.PutAsync(10, MalloryToken, Body("sk-rejected-key-0009"))).Status);
        Assert.Equal(0, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE installation_id = 10"));
    }

    [Fact]
    public async Task Keys_and_tokens_never_appear_in_responses_logs_metrics_or_the_database_in_clear()
    {
        await using var host = await SettingsHost.StartAsync();
        host.GitHubLists(AliceToken, 11);
        const string Good = "sk-proj-GOODSECRET0123456789abcdefWXYZ";
        const string Rejected = "sk-proj-REJECTEDSECRET0123456789abcdef";
        const string Unreachable = "sk-ant-UNREACHABLESECRET0123456789abc";
        const string Invalid = "sk-INVALIDSECRET with space 0123456789";
        host.Llm.Answers[Rejected] = KeyValidation.Rejected;
        host.Llm.Answers[Unreachable] = KeyValidation.Unreachable;

        await host.PutAsync(11, AliceToken, Body(Good));
        await host.PutAsync(11, AliceToken, Body(Rejected));
        await host.PutAsync(11, AliceToken, Body(Unreachable, provider: "anthropic", model: "claude-sonnet-4-5"));
        await host.PutAsync(11, AliceToken, Body(Invalid));
        await host.PutRawAsync(11, AliceToken, $$"""{"llmProvider":"openai","model":"m","apiKey":"{{Good}}","apikeyTypo":"{{Good}}"}""");
        await host.PutRawAsync(11, AliceToken, "{\"llmProvider\":\"openai\",\"model\":\"m\",\"apiKey\":{\"nested\":\"" + Good + "\"}}");
        await host.GetAsync("/api/installations/11/settings", AliceToken);
        await host.GetAsync("/api/installations", AliceToken);
        await host.GetAsync("/api/installations/11/settings", Admin);
        await host.GetAsync("/api/installations/11/settings", "ghu_WRONGTOKENSECRET000000000000000000");
        var metrics = await host.App.Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

        // The last four characters are shown on purpose; everything longer must not be.
        string[] secrets = [Good, Good[..^4], Rejected, Unreachable, Invalid, AliceToken, Admin, "ghu_WRONGTOKENSECRET000000000000000000"];
        var haystacks = host.Transcript.Concat(host.LogText()).Append(metrics).ToList();
        Assert.NotEmpty(host.LogText());
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(haystacks, text => text.Contains(secret, StringComparison.Ordinal));
        }

        var stored = await host.Database.ScalarAsync<string>("SELECT row_to_json(s)::text FROM installation_settings s WHERE installation_id = 11");
        Assert.DoesNotContain(Good, stored, StringComparison.Ordinal);
        Assert.Contains("\"api_key_last4\":\"WXYZ\"", stored, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"llmProvider":"openai","model":"m","ignorePath":["docs/**"]}""", "ignorePath")]
    [InlineData("""{"llmProvider":"openai","model":"m","enabled":"yes"}""", "enabled")]
    [InlineData("""{"llmProvider":"openai","model":"m","reviewsPerHour":1.5}""", "reviewsPerHour")]
    [InlineData("""{"llmProvider":"openai","model":"m","ignorePaths":"docs/**"}""", "ignorePaths")]
    [InlineData("""{"llmProvider":"openai","model":"m","model":"n"}""", "model")]
    [InlineData("""{"llmProvider":"mistral","model":"m"}""", "llmProvider")]
    [InlineData("""{"llmProvider":"openai","model":"gpt 4o"}""", "model")]
    [InlineData("""{"llmProvider":"openai"}""", "model")]
    [InlineData("""{"llmProvider":"openai","model":"m","apiKey":"short"}""", "apiKey")]
    [InlineData("""{"llmProvider":"openai","model":"m","customInstructions":"bell\u0007"}""", "customInstructions")]
    [InlineData("""{"llmProvider":"openai","model":"m","ignorePaths":["ok/**","/abs"]}""", "ignorePaths[1]")]
    [InlineData("""{"llmProvider":"openai","model":"m","reviewsPerHour":0}""", "reviewsPerHour")]
    [InlineData("""{"llmProvider":"openai","model":"m","customInstructions":"lone \ud800 surrogate"}""", "customInstructions")]
    [InlineData("""{"llmProvider":"openai","model":"m","reviewsPerHour":1e20}""", "reviewsPerHour")]
    [InlineData("""[1,2]""", "body")]
    [InlineData("""{"llmProvider":""", "body")]
    public async Task Invalid_bodies_are_400_problem_json_naming_the_field_and_store_nothing(string json, string field)
    {
        await using var host = await SettingsHost.StartAsync();
        var response = await host.PutRawAsync(3, Admin, json);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("application/problem+json", response.ContentType);
        Assert.Equal(400, response.Json.GetProperty("status").GetInt32());
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out _), response.Body);
        Assert.Equal(0, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings"));
        Assert.Empty(host.Llm.Validations);
    }

    [Fact]
    public async Task Field_limits_hold_at_their_edges()
    {
        await using var host = await SettingsHost.StartAsync();
        var ok = await host.PutAsync(3, Admin, new
        {
            llmProvider = "openai", model = new string('m', 100), customInstructions = new string('x', 2000),
            ignorePaths = Enumerable.Range(0, 50).Select(i => $"dir{i}/**").ToArray(), reviewsPerHour = 1000,
        });
        Assert.Equal(HttpStatusCode.OK, ok.Status);

        var tooMuch = await host.PutAsync(3, Admin, new
        {
            llmProvider = "openai", model = new string('m', 101), customInstructions = new string('x', 2001),
            ignorePaths = Enumerable.Range(0, 51).Select(i => $"dir{i}/**").ToArray(), reviewsPerHour = 1001,
        });
        Assert.Equal(HttpStatusCode.BadRequest, tooMuch.Status);
        var errors = tooMuch.Json.GetProperty("errors");
        foreach (var field in new[] { "model", "customInstructions", "ignorePaths", "reviewsPerHour" })
        {
            Assert.True(errors.TryGetProperty(field, out _), field);
        }
    }

    [Fact]
    public async Task Oversized_bodies_are_413_and_non_json_is_415()
    {
        await using var host = await SettingsHost.StartAsync();
        var huge = JsonSerializer.Serialize(new { llmProvider = "openai", model = "m", customInstructions = new string('x', 70_000) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await host.PutRawAsync(3, Admin, huge)).Status);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await host.PutRawAsync(3, Admin, "llmProvider=openai", "application/x-www-form-urlencoded")).Status);
    }

    [Fact]
    public async Task Jobs_are_listed_newest_first_up_to_the_limit()
    {
        await using var host = await SettingsHost.StartAsync();
        host.GitHubLists(AliceToken, 21);
        for (var i = 1; i <= 3; i++)
        {
            await host.Database.ExecuteAsync(
                """
                INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, trigger, dedupe_key, status, attempts, error_message, created_at)
                VALUES (21, 1, 'alice/app', $1, 'Title', 'sha' || $1::text, 'opened', 'job' || $1::text, 'failed', 3, 'The OpenAI API key was rejected (401).', now() - make_interval(mins => 10 - $1))
                """,
                i);
        }

        await host.Database.ExecuteAsync("INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, commit_sha, trigger, dedupe_key) VALUES (22, 2, 'other/app', 1, 'x', 'opened', 'other')");

        var response = await host.GetAsync("/api/installations/21/jobs?limit=2", AliceToken);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var jobs = response.Json.GetProperty("jobs").EnumerateArray().ToList();
        Assert.Equal([3, 2], jobs.Select(j => j.GetProperty("pullRequest").GetInt32()));
        Assert.Equal("failed", jobs[0].GetProperty("status").GetString());
        Assert.Equal(3, jobs[0].GetProperty("attempts").GetInt32());
        Assert.Equal("The OpenAI API key was rejected (401).", jobs[0].GetProperty("error").GetString());

        Assert.Equal(3, (await host.GetAsync("/api/installations/21/jobs", AliceToken)).Json.GetProperty("jobs").GetArrayLength());
        foreach (var bad in new[] { "0", "101", "abc", "-1" })
        {
            var invalid = await host.GetAsync($"/api/installations/21/jobs?limit={bad}", AliceToken);
            Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
            Assert.True(invalid.Json.GetProperty("errors").TryGetProperty("limit", out _));
        }
    }

    [Fact]
    public async Task A_second_request_within_60_seconds_asks_GitHub_once_and_a_later_one_asks_again()
    {
        await using var host = await SettingsHost.StartAsync(fakeTime: true);
        host.GitHubLists(AliceToken, 31);
        host.GitHubLists(MalloryToken, 32);

        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations/31/settings", AliceToken)).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations", AliceToken)).Status);
        host.Time!.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations/31/jobs", AliceToken)).Status);
        Assert.Equal(1, host.GitHubCalls);

        // Another token is its own entry.
        Assert.Equal(HttpStatusCode.NotFound, (await host.GetAsync("/api/installations/31/settings", MalloryToken)).Status);
        Assert.Equal(2, host.GitHubCalls);

        host.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations/31/settings", AliceToken)).Status);
        Assert.Equal(3, host.GitHubCalls);
    }

    [Fact]
    public async Task User_installations_are_read_across_pages_on_a_GitHub_Enterprise_Server_api_path()
    {
        await using var host = await SettingsHost.StartAsync(apiPath: "/api/v3");
        host.GitHubAnswers(AliceToken, SettingsHost.InstallationsJson(41), headers: new Dictionary<string, string>
        {
            ["Link"] = $"<{host.GitHub.Url}/api/v3/user/installations?per_page=100&page=2>; rel=\"next\"",
        });
        host.GitHubAnswers(AliceToken, SettingsHost.InstallationsJson(42), page: "2");

        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations/42/settings", AliceToken)).Status);
        Assert.Equal(2, host.GitHubCalls);
    }

    [Fact]
    public async Task Failed_authentication_is_limited_per_client_address()
    {
        await using var host = await SettingsHost.StartAsync(fakeTime: true);
        for (var i = 0; i < ReviewBot.Settings.FailedAuthenticationLimiter.MaxFailures; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.GetAsync("/api/installations", $"guess-{i}!")).Status);
        }

        // Blocked for every further guess: nothing is sent to GitHub for them.
        var blocked = await host.GetAsync("/api/installations", "another-guess");
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.Status);
        Assert.True(blocked.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        // The operator's token (32+ characters, hopeless to guess) still gets in: behind a reverse
        // proxy every caller shares one address, and someone else's bad guesses must not lock it out.
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("/api/installations", Admin)).Status);

        host.Time!.Advance(ReviewBot.Settings.FailedAuthenticationLimiter.Window);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.GetAsync("/api/installations", "after-the-window")).Status);
    }

    // Requests with no token guess nothing: they are answered 401 and never block the address that
    // everyone behind the same proxy shares.
    [Fact]
    public async Task Requests_without_a_token_do_not_count_as_failed_authentication()
    {
        await using var host = await SettingsHost.StartAsync(fakeTime: true);
        for (var i = 0; i < ReviewBot.Settings.FailedAuthenticationLimiter.MaxFailures * 2; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.GetAsync("/api/installations", null)).Status);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.GetAsync("/api/installations", "a-wrong-token")).Status);
    }
}
