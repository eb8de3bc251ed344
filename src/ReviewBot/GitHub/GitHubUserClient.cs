using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ReviewBot.Configuration;
using ReviewBot.Observability;
using ReviewBot.Upstream;

namespace ReviewBot.GitHub;

internal enum UserInstallationsOutcome
{
    Listed,
    TokenRejected,  // 401/403: not a user access token of this App (or revoked / expired)
    Unavailable,    // network error, timeout, 5xx, rate limit, unexpected body
}

internal sealed record UserInstallation(long Id, string AccountLogin, string AccountType, bool Suspended);

// RetryAfter: when GitHub rate-limited this token, how long until it may be asked again.
internal sealed record UserInstallationsResult(UserInstallationsOutcome Outcome, IReadOnlyList<UserInstallation> Installations, TimeSpan RetryAfter = default)
{
    public static UserInstallationsResult Rejected { get; } = new(UserInstallationsOutcome.TokenRejected, []);

    public static UserInstallationsResult Unavailable { get; } = new(UserInstallationsOutcome.Unavailable, []);

    public static UserInstallationsResult RateLimited(TimeSpan retryAfter) => new(UserInstallationsOutcome.Unavailable, [], retryAfter);
}

// Calls GitHub with a *user* access token (never the App's or an installation's token): the settings
// API asks GitHub which installations the caller may administer. A user token has its own rate limits
// (primary and secondary); once GitHub says to wait, the token is not sent again before then
// (CredentialCooldown, keyed by a hash of the token), as the App's and installations' tokens are not.
internal sealed partial class GitHubUserClient(
    IHttpClientFactory httpClientFactory,
    ReviewBotOptions options,
    ReviewBotMetrics metrics,
    CredentialCooldown cooldown,
    ILogger<GitHubUserClient> logger)
{
    public const string HttpClientName = "GitHubUser";

    private const string Operation = "list_user_installations";

    // per_page max is 100 (docs below); ten pages is 1,000 installations, far more than one person
    // administers, and bounds the work one request can cause.
    private const int PerPage = 100;
    private const int MaxPages = 10;

    // GET /user/installations, "List app installations accessible to the user access token"
    // (https://docs.github.com/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token):
    // the installations of this App the token's user can access. Works only with a user access token
    // of this App; paginated with the Link header
    // (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api).
    public async Task<UserInstallationsResult> ListInstallationsAsync(string userToken, CancellationToken cancellationToken)
    {
        var baseUri = ApiBase(options.GitHubApiUrl);
        Uri? next = new(baseUri, $"user/installations?per_page={PerPage}");
        var installations = new List<UserInstallation>();
        var client = httpClientFactory.CreateClient(HttpClientName);
        var credential = CredentialKey.ForSecret("github", userToken);
        for (var page = 0; next is not null; page++)
        {
            if (page == MaxPages)
            {
                Log.TooManyPages(logger, MaxPages);
                break;
            }

            if (cooldown.Until(credential) is { } held)
            {
                Log.HeldBack(logger, credential.Value, held);
                return UserInstallationsResult.RateLimited(cooldown.Remaining(held));
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, next);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", userToken);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
            // https://docs.github.com/en/rest/about-the-rest-api/api-versions
            request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
            // GitHub rejects requests without a User-Agent (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ReviewBot", "1.0"));

            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException || ex is TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                metrics.GitHubRequests.WithLabels(Operation, "error").Inc();
                Log.Unreachable(logger, ex.GetType().Name);
                return UserInstallationsResult.Unavailable;
            }

            using (response)
            {
                metrics.GitHubRequests.WithLabels(Operation, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();

                // An answer GitHub's rules call a wait (Retry-After, an exhausted primary limit, a secondary
                // limit named in the body): hold the token until then, as GitHubRest holds the App's.
                if (!response.IsSuccessStatusCode && await GitHubRest.CredentialWaitAsync(response, cooldown.Time.GetUtcNow()) is { } wait)
                {
                    var until = cooldown.HoldFor(credential, wait);
                    Log.RateLimited(logger, (int)response.StatusCode, credential.Value, until);
                    return UserInstallationsResult.RateLimited(cooldown.Remaining(until));
                }

                // 401: bad or expired token. 403 that is not a rate limit: a token GitHub refuses for this
                // endpoint (e.g. a personal access token instead of a user access token of this App).
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    return UserInstallationsResult.Rejected;
                }

                if (!response.IsSuccessStatusCode)
                {
                    Log.UnexpectedStatus(logger, (int)response.StatusCode);
                    return UserInstallationsResult.Unavailable;
                }

                UserInstallationsPage? body;
                try
                {
                    await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                    body = await JsonSerializer.DeserializeAsync(stream, GitHubUserJsonContext.Default.UserInstallationsPage, cancellationToken);
                }
                catch (JsonException)
                {
                    Log.UnexpectedBody(logger);
                    return UserInstallationsResult.Unavailable;
                }

                foreach (var item in body?.Installations ?? [])
                {
                    installations.Add(new UserInstallation(
                        item.Id,
                        item.Account?.Login ?? "",
                        item.TargetType ?? item.Account?.Type ?? "",
                        item.SuspendedAt is not null));
                }

                next = NextPage(response, baseUri);
            }
        }

        return new UserInstallationsResult(UserInstallationsOutcome.Listed, installations);
    }

    // GITHUB_API_URL may be https://HOST/api/v3 (GitHub Enterprise Server): relative paths must keep /api/v3.
    private static Uri ApiBase(Uri configured)
    {
        var text = configured.ToString();
        return new Uri(text.EndsWith('/') ? text : text + "/");
    }

    // Link: <https://api.github.com/user/installations?per_page=100&page=2>; rel="next", <...>; rel="last"
    // The next URL is followed only on the configured API host, so the user's token is never sent elsewhere.
    internal static Uri? NextPage(HttpResponseMessage response, Uri apiBase)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
        {
            return null;
        }

        foreach (var header in links)
        {
            foreach (var part in header.Split(','))
            {
                var segments = part.Split(';');
                if (segments.Length < 2 || !segments.Skip(1).Any(s => s.Trim() is "rel=\"next\"" or "rel=next"))
                {
                    continue;
                }

                var target = segments[0].Trim();
                if (target.Length < 2 || target[0] != '<' || target[^1] != '>'
                    || !Uri.TryCreate(target[1..^1], UriKind.Absolute, out var uri))
                {
                    return null;
                }

                return Uri.Compare(uri, apiBase, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0
                    ? uri
                    : null;
            }
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "GitHub /user/installations unreachable ({ErrorType})")]
        public static partial void Unreachable(ILogger logger, string errorType);

        [LoggerMessage(2, LogLevel.Warning, "GitHub /user/installations answered {StatusCode}")]
        public static partial void UnexpectedStatus(ILogger logger, int statusCode);

        [LoggerMessage(3, LogLevel.Warning, "GitHub /user/installations answered with a body that is not the documented JSON")]
        public static partial void UnexpectedBody(ILogger logger);

        [LoggerMessage(4, LogLevel.Warning, "GitHub /user/installations has more than {MaxPages} pages; using the first pages only")]
        public static partial void TooManyPages(ILogger logger, int maxPages);

        [LoggerMessage(5, LogLevel.Warning, "GitHub /user/installations answered {StatusCode} and asked to wait; {Credential} is not used before {Until:O}")]
        public static partial void RateLimited(ILogger logger, int statusCode, string credential, DateTimeOffset until);

        [LoggerMessage(6, LogLevel.Information, "GitHub /user/installations not asked: {Credential} is rate limited until {Until:O}")]
        public static partial void HeldBack(ILogger logger, string credential, DateTimeOffset until);
    }
}
