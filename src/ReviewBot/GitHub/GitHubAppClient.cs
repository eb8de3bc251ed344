using System.Globalization;
using System.Net.Http.Headers;
using ReviewBot.Upstream;

namespace ReviewBot.GitHub;

// Calls made as the App itself (JWT), not as an installation. They share the App's rate limit, so
// a wait GitHub asks of one (a token exchange for one installation) holds them all (CredentialKey.GitHubApp).
internal sealed class GitHubAppClient(GitHubRest rest, GitHubAppJwt jwt)
{
    // "Create an installation access token for an app": POST /app/installations/{installation_id}/access_tokens.
    // Asking twice only yields two valid tokens, so it is retried like a read.
    public Task<GitHubResult<InstallationToken>> CreateInstallationTokenAsync(long installationId, CancellationToken cancellationToken) =>
        rest.SendAsync(
            "create_installation_token",
            GitHubCallClass.Read,
            CredentialKey.GitHubApp,
            null,
            () => Request(HttpMethod.Post, rest.Resolve($"app/installations/{installationId.ToString(CultureInfo.InvariantCulture)}/access_tokens")),
            GitHubRest.Json(GitHubJsonContext.Default.InstallationToken),
            cancellationToken);

    // "List deliveries for an app webhook": GET /app/hook/deliveries, newest first, cursor-paginated
    // through the Link header. next: the previous page's rel="next" URL, or null for the first page.
    public Task<GitHubResult<GitHubPage<HookDelivery>>> ListWebhookDeliveriesAsync(Uri? next, CancellationToken cancellationToken) =>
        rest.SendAsync(
            "list_webhook_deliveries",
            GitHubCallClass.Read,
            CredentialKey.GitHubApp,
            null,
            () => Request(HttpMethod.Get, next ?? rest.Resolve("app/hook/deliveries?per_page=100")),
            GitHubPage<HookDelivery>.Reader(GitHubJsonContext.Default.ListHookDelivery),
            cancellationToken);

    // "Redeliver a delivery for an app webhook": POST /app/hook/deliveries/{delivery_id}/attempts (202).
    public Task<GitHubResult<bool>> RedeliverAsync(long deliveryId, CancellationToken cancellationToken) =>
        rest.SendAsync(
            "redeliver_webhook_delivery",
            GitHubCallClass.Read,
            CredentialKey.GitHubApp,
            null,
            () => Request(HttpMethod.Post, rest.Resolve($"app/hook/deliveries/{deliveryId.ToString(CultureInfo.InvariantCulture)}/attempts")),
            static (_, _) => Task.FromResult(true),
            cancellationToken);

    private HttpRequestMessage Request(HttpMethod method, Uri uri)
    {
        var request = GitHubHeaders.Create(method, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", jwt.Current());
        return request;
    }
}

internal static class GitHubHeaders
{
    // "Getting started with the REST API": a User-Agent is required; the media type and API version
    // pin the response shapes this code was written against.
    public static HttpRequestMessage Create(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ReviewBot", "1.0"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        return request;
    }
}

// One page of a list and the URL of the next ("Using pagination in the REST API": follow the Link
// header's rel="next" rather than building page numbers).
internal sealed record GitHubPage<T>(IReadOnlyList<T> Items, Uri? Next)
{
    public static Func<HttpResponseMessage, CancellationToken, Task<GitHubPage<T>>> Reader(System.Text.Json.Serialization.Metadata.JsonTypeInfo<List<T>> typeInfo) =>
        async (response, ct) =>
        {
            var items = await GitHubRest.Json(typeInfo)(response, ct);
            return new GitHubPage<T>(items ?? [], NextLink(response));
        };

    public static Uri? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            foreach (var part in value.Split(','))
            {
                var segments = part.Split(';');
                if (segments.Length < 2 || !segments.Skip(1).Any(s => s.Trim() is "rel=\"next\"" or "rel=next"))
                {
                    continue;
                }

                var url = segments[0].Trim().TrimStart('<').TrimEnd('>');
                if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
                {
                    return uri;
                }
            }
        }

        return null;
    }
}
