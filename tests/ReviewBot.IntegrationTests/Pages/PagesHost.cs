using System.Text;
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Web;
using ReviewBot.IntegrationTests.Infrastructure;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Util;

namespace ReviewBot.IntegrationTests.Pages;

// The real ReviewBot binary (REVIEWBOT_BINARY, in CI the published native-AOT one) with the settings
// page enabled, its own database, and one WireMock server standing in for github.com (the OAuth web
// flow), api.github.com (GET /user/installations) and an OpenAI-compatible list-models endpoint.
// The authorize step is short-circuited: GitHub's consent screen is replaced by an immediate redirect
// back to redirect_uri with a code for SignInAs and the state it was given, as GitHub does after approval.
internal sealed class PagesHost : IAsyncDisposable
{
    public const string ClientId = "Iv23liTestClientId01";
    public const string ClientSecret = "test-client-secret-0123456789abcdef";
    public const string GoodKey = "sk-good-test-key-9f3ab7c1";
    public const string BadKey = "sk-revoked-test-key-00000000";

    // code → user access token; user access token → installations GitHub lists for it.
    private readonly ConcurrentDictionary<string, string> _tokensByCode = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long[]> _installationsByToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _rateLimitResetByToken = new(StringComparer.Ordinal);

    private PagesHost(TestDatabase database, WireMockServer fake, ReviewBotProcess process)
    {
        Database = database;
        Fake = fake;
        Process = process;
    }

    public TestDatabase Database { get; }

    public WireMockServer Fake { get; }

    public ReviewBotProcess Process { get; }

    public Uri BaseAddress => Process.BaseAddress;

    // Who approves the next authorization on the fake GitHub.
    public string SignInAs { get; set; } = "alice";

    public static string TokenOf(string user) => $"ghu_{user}000000000000000000000000000001"[..36];

    // publicUrl: what the browser sees; by default the process's own plain-HTTP address.
    public static async Task<PagesHost> StartAsync(string? publicUrl = null)
    {
        var database = await TestDatabase.CreateAsync();
        var fake = WireMockServer.Start();
        var port = ReviewBotProcess.FreePort();
        var env = ReviewBotProcess.BaseEnvironment(database.ConnectionString, port);
        env["GITHUB_CLIENT_ID"] = ClientId;
        env["GITHUB_CLIENT_SECRET"] = ClientSecret;
        env["PUBLIC_URL"] = publicUrl ?? $"http://127.0.0.1:{port}";
        env["GITHUB_WEB_URL"] = fake.Url!;
        env["GITHUB_API_URL"] = fake.Url!;
        env["OPENAI_BASE_URL"] = fake.Url + "/v1";
        // Nothing listens here: Gemini is "unreachable".
        env["GEMINI_BASE_URL"] = $"http://127.0.0.1:{ReviewBotProcess.FreePort()}";
        env["WORKERS_ENABLED"] = "false";
        var process = ReviewBotProcess.Start(env);
        var host = new PagesHost(database, fake, process);
        host.StubGitHub();
        try
        {
            await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    // GET /user/installations lists these installations for the user's token.
    public void GitHubLists(string user, params long[] installationIds) => _installationsByToken[TokenOf(user)] = installationIds;

    // GitHub no longer accepts the user's token (revoked or expired): 401 Bad credentials.
    public void GitHubRevokes(string user) => _installationsByToken.TryRemove(TokenOf(user), out _);

    // GitHub's primary rate limit for the user's token is used up until `seconds` from now.
    public void GitHubRateLimits(string user, int seconds) =>
        _rateLimitResetByToken[TokenOf(user)] = DateTimeOffset.UtcNow.AddSeconds(seconds).ToUnixTimeSeconds();

    public int InstallationListings => Fake.LogEntries.Count(e => e.RequestMessage.Path == "/user/installations");

    public IEnumerable<string> TokenExchangeBodies =>
        Fake.LogEntries.Where(e => e.RequestMessage.Path == "/login/oauth/access_token").Select(e => e.RequestMessage.Body ?? "");

    private void StubGitHub()
    {
        // https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app#using-the-web-application-flow-to-generate-a-user-access-token
        Fake.Given(Request.Create().WithPath("/login/oauth/authorize").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
        {
            var query = request.Query!;
            if (query["client_id"].ToString() != ClientId)
            {
                return Text(400, "unknown client_id");
            }

            var code = $"code-{SignInAs}-{Guid.NewGuid():N}";
            _tokensByCode[code] = TokenOf(SignInAs);
            var location = $"{query["redirect_uri"]}?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(query["state"].ToString())}";
            var message = new ResponseMessage { StatusCode = 302 };
            message.AddHeader("Location", location);
            return message;
        }));

        Fake.Given(Request.Create().WithPath("/login/oauth/access_token").UsingPost()).RespondWith(Response.Create().WithCallback(request =>
        {
            var form = HttpUtility.ParseQueryString(request.Body ?? "");
            // A code works once, and only with the App's own credentials.
            if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret || form["code"] is not { } code || !_tokensByCode.TryRemove(code, out var token))
            {
                return FakeGitHub.Json(200, new JsonObject
                {
                    ["error"] = "bad_verification_code",
                    ["error_description"] = "The code passed is incorrect or expired.",
                    ["error_uri"] = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
                });
            }

            return FakeGitHub.Json(200, new JsonObject
            {
                ["access_token"] = token,
                ["expires_in"] = 28800,
                ["refresh_token"] = "ghr_" + new string('r', 76),
                ["refresh_token_expires_in"] = 15897600,
                ["scope"] = "",
                ["token_type"] = "bearer",
            });
        }));

        // "Delete an app token": the App's client credentials, the token in the body; 204, and GitHub
        // no longer accepts that token.
        Fake.Given(Request.Create().WithPath($"/applications/{ClientId}/token").UsingDelete()).RespondWith(Response.Create().WithCallback(request =>
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ClientId}:{ClientSecret}"));
            if (!request.Headers!.TryGetValue("Authorization", out var auth) || auth.ToString() != $"Basic {basic}")
            {
                return Text(401, "bad client credentials");
            }

            var token = System.Text.Json.JsonDocument.Parse(request.Body ?? "{}").RootElement.GetProperty("access_token").GetString() ?? "";
            return _installationsByToken.TryRemove(token, out _) ? new ResponseMessage { StatusCode = 204 } : Text(404, "not found");
        }));

        Fake.Given(Request.Create().WithPath("/user/installations").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
        {
            var token = request.Headers!.TryGetValue("Authorization", out var values) ? values.ToString().Replace("Bearer ", "", StringComparison.Ordinal) : "";
            if (_rateLimitResetByToken.TryGetValue(token, out var reset))
            {
                // https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
                var limited = FakeGitHub.Json(403, new JsonObject { ["message"] = "API rate limit exceeded for user ID 1.", ["documentation_url"] = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting" });
                limited.AddHeader("x-ratelimit-limit", "5000");
                limited.AddHeader("x-ratelimit-remaining", "0");
                limited.AddHeader("x-ratelimit-reset", reset.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return limited;
            }

            if (!_installationsByToken.TryGetValue(token, out var ids))
            {
                return FakeGitHub.Json(401, new JsonObject { ["message"] = "Bad credentials", ["documentation_url"] = "https://docs.github.com/rest", ["status"] = "401" });
            }

            var installations = new JsonArray();
            foreach (var id in ids)
            {
                installations.Add(new JsonObject
                {
                    ["id"] = id,
                    ["account"] = new JsonObject { ["login"] = $"org-{id}", ["type"] = "Organization" },
                    ["target_type"] = "Organization",
                    ["suspended_at"] = null,
                });
            }

            return FakeGitHub.Json(200, new JsonObject { ["total_count"] = ids.Length, ["installations"] = installations });
        }));

        // OpenAI's GET /v1/models: 200 for the good key, 401 invalid_api_key otherwise
        // (https://platform.openai.com/docs/api-reference/models/list).
        Fake.Given(Request.Create().WithPath("/v1/models").UsingGet()).RespondWith(Response.Create().WithCallback(request =>
            request.Headers!.TryGetValue("Authorization", out var auth) && auth.ToString() == $"Bearer {GoodKey}"
                ? FakeGitHub.Json(200, new JsonObject
                {
                    ["object"] = "list",
                    ["data"] = new JsonArray(new JsonObject { ["id"] = "gpt-4o-mini", ["object"] = "model", ["created"] = 1686935002, ["owned_by"] = "openai" }),
                })
                : FakeGitHub.Json(401, new JsonObject
                {
                    ["error"] = new JsonObject { ["message"] = "Incorrect API key provided.", ["type"] = "invalid_request_error", ["param"] = null, ["code"] = "invalid_api_key" },
                })));
    }

    private static ResponseMessage Text(int status, string body) => new()
    {
        StatusCode = status,
        BodyData = new BodyData { BodyAsString = body, DetectedBodyType = WireMock.Types.BodyType.String },
    };

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        // Shown with a failed test: what the service logged and what the fake GitHub was asked.
        var output = TestContext.Current.TestOutputHelper;
        if (output is not null)
        {
            foreach (var entry in Fake.LogEntries)
            {
                output.WriteLine($"fake: {entry.RequestMessage.Method} {entry.RequestMessage.Path} -> {entry.ResponseMessage.StatusCode}");
            }

            foreach (var line in Process.StandardOutput.TakeLast(60).Concat(Process.StandardError.TakeLast(20)))
            {
                output.WriteLine(line);
            }
        }

        Fake.Stop();
        Fake.Dispose();
        await Database.DisposeAsync();
    }
}
