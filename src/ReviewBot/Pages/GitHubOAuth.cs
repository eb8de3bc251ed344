using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ReviewBot.Configuration;

namespace ReviewBot.Pages;

internal sealed record OAuthTokenResponse(
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("expires_in")] long? ExpiresIn,
    [property: JsonPropertyName("error")] string? Error);

[JsonSerializable(typeof(OAuthTokenResponse))]
internal sealed partial class PagesJsonContext : JsonSerializerContext;

internal enum CodeExchangeOutcome
{
    Token,
    Refused,      // GitHub answered with an "error" (bad_verification_code, expired code, wrong secret)
    Unavailable,  // network error, timeout, 5xx, a body that is not the documented JSON
}

internal readonly record struct CodeExchangeResult(CodeExchangeOutcome Outcome, string? AccessToken = null, TimeSpan? ExpiresIn = null, string? Error = null);

// The web application flow of a GitHub App's user authorization:
// https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app#using-the-web-application-flow-to-generate-a-user-access-token
// GitHub Enterprise Server serves the same paths on its web host (GITHUB_WEB_URL).
internal sealed class GitHubOAuth(IHttpClientFactory httpClientFactory, ReviewBotOptions options)
{
    public const string HttpClientName = "GitHubOAuth";

    public const string CallbackPath = "/auth/github/callback";

    public Uri CallbackUrl => new(Base(options.PublicUrl!), CallbackPath.TrimStart('/'));

    // Step 1: GET {GITHUB_WEB_URL}/login/oauth/authorize with client_id, redirect_uri and an unguessable
    // state, which GitHub hands back unchanged to the callback. A GitHub App asks for no scopes: the
    // token can do only what the App and the user both may.
    public Uri AuthorizeUrl(string state)
    {
        var query = $"client_id={Uri.EscapeDataString(options.GitHubClientId!)}"
            + $"&redirect_uri={Uri.EscapeDataString(CallbackUrl.ToString())}"
            + $"&state={Uri.EscapeDataString(state)}";
        return new Uri(Base(options.GitHubWebUrl), "login/oauth/authorize?" + query);
    }

    // Step 2: POST {GITHUB_WEB_URL}/login/oauth/access_token with client_id, client_secret, code and
    // redirect_uri; with "Accept: application/json" GitHub answers {"access_token","expires_in",...},
    // or, for a bad or expired code, 200 with {"error":"bad_verification_code",...}.
    public async Task<CodeExchangeResult> ExchangeCodeAsync(string code, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Base(options.GitHubWebUrl), "login/oauth/access_token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = options.GitHubClientId!,
                ["client_secret"] = options.GitHubClientSecret!,
                ["code"] = code,
                ["redirect_uri"] = CallbackUrl.ToString(),
            }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ReviewBot", "1.0"));

        try
        {
            using var response = await httpClientFactory.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return new CodeExchangeResult((int)response.StatusCode >= 500 ? CodeExchangeOutcome.Unavailable : CodeExchangeOutcome.Refused, Error: $"HTTP {(int)response.StatusCode}");
            }

            var body = await response.Content.ReadFromJsonAsync(PagesJsonContext.Default.OAuthTokenResponse, cancellationToken);
            if (body is { AccessToken: { Length: > 0 } token })
            {
                return new CodeExchangeResult(CodeExchangeOutcome.Token, token, body.ExpiresIn is > 0 ? TimeSpan.FromSeconds(body.ExpiresIn.Value) : null);
            }

            return new CodeExchangeResult(CodeExchangeOutcome.Refused, Error: body?.Error ?? "no access_token");
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or NotSupportedException || ex is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new CodeExchangeResult(CodeExchangeOutcome.Unavailable, Error: ex.GetType().Name);
        }
    }

    // Sign-out: "Delete an app token", DELETE {GITHUB_API_URL}/applications/{client_id}/token with the
    // App's client credentials. The session cookie is sealed, not stored, so a copy of it (a shared
    // machine, a stolen cookie) would otherwise keep working until it expires; with the token revoked,
    // the next page that asks GitHub who the user is ends it. Best effort: false when GitHub did not.
    public async Task<bool> RevokeAsync(string userToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri(Base(options.GitHubApiUrl), $"applications/{Uri.EscapeDataString(options.GitHubClientId!)}/token"))
        {
            Content = new StringContent($"{{\"access_token\":\"{JsonEncodedText.Encode(userToken)}\"}}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.GitHubClientId}:{options.GitHubClientSecret}")));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ReviewBot", "1.0"));
        try
        {
            using var response = await httpClientFactory.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            // Signed out all the same; the token then lives until GitHub expires it (8 hours at most).
            return false;
        }
    }

    private static Uri Base(Uri configured)
    {
        var text = configured.ToString();
        return new Uri(text.EndsWith('/') ? text : text + "/");
    }
}
