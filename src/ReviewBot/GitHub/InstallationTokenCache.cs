using System.Collections.Concurrent;

namespace ReviewBot.GitHub;

// Installation access tokens live one hour ("Generating an installation access token for a GitHub
// App", docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-an-
// installation-access-token-for-a-github-app). One is kept per installation until a few minutes
// before its expires_at, and dropped when GitHub answers 401 with it (revoked, or the clock lies).
internal sealed class InstallationTokenCache(GitHubAppClient app, TimeProvider time)
{
    public static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<long, InstallationToken> _tokens = new();
    private readonly ConcurrentDictionary<long, SemaphoreSlim> _gates = new();

    public async Task<GitHubResult<string>> GetAsync(long installationId, CancellationToken cancellationToken)
    {
        if (TryGetFresh(installationId) is { } fresh)
        {
            return GitHubResult<string>.Ok(fresh);
        }

        // One exchange per installation at a time: concurrent jobs wait for the same new token.
        var gate = _gates.GetOrAdd(installationId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (TryGetFresh(installationId) is { } again)
            {
                return GitHubResult<string>.Ok(again);
            }

            var created = await app.CreateInstallationTokenAsync(installationId, cancellationToken);
            if (!created.IsOk)
            {
                return created.As<string>();
            }

            _tokens[installationId] = created.Value!;
            return GitHubResult<string>.Ok(created.Value!.Token);
        }
        finally
        {
            gate.Release();
        }
    }

    // Only the token that failed is dropped: another caller may already have stored a newer one.
    public void Invalidate(long installationId, string token)
    {
        if (_tokens.TryGetValue(installationId, out var current) && current.Token == token)
        {
            _tokens.TryRemove(new KeyValuePair<long, InstallationToken>(installationId, current));
        }
    }

    private string? TryGetFresh(long installationId) =>
        _tokens.TryGetValue(installationId, out var token) && time.GetUtcNow() < token.ExpiresAt - RenewBefore ? token.Token : null;
}
