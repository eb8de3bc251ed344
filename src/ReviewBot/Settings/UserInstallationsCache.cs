using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ReviewBot.GitHub;

namespace ReviewBot.Settings;

// The answer of GET /user/installations per user token, for at most Ttl (CONTRACT §3: "answer cached
// at most 60 s"), so a settings page making several API calls costs GitHub one request. Keyed by
// SHA-256 of the token: the token itself is never kept as a key, where a heap dump would show it.
// Only successful listings are cached: a rejected or failed lookup is asked again next time.
internal sealed class UserInstallationsCache(GitHubUserClient client, TimeProvider time)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);

    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    // A token signed out (and revoked): its listing is not served from here any more.
    public void Forget(string userToken) => _entries.TryRemove(Key(userToken), out _);

    private static string Key(string userToken) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userToken)));

    public async Task<UserInstallationsResult> GetAsync(string userToken, CancellationToken cancellationToken)
    {
        var key = Key(userToken);
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(key, out var cached) && now - cached.CreatedAt < Ttl)
        {
            return await cached.Lookup.WaitAsync(cancellationToken);
        }

        if (_entries.Count >= MaxEntries)
        {
            Prune(now);
        }

        // Concurrent requests with one token share one GitHub call. The call is not tied to the first
        // request's cancellation, so that request going away does not fail the others; the HTTP
        // client's own timeout bounds it.
        var entry = new Entry(now, client.ListInstallationsAsync(userToken, CancellationToken.None));
        entry = _entries.AddOrUpdate(key, entry, (_, existing) => now - existing.CreatedAt < Ttl ? existing : entry);
        UserInstallationsResult result;
        try
        {
            result = await entry.Lookup.WaitAsync(cancellationToken);
        }
        catch
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            throw;
        }

        if (result.Outcome != UserInstallationsOutcome.Listed)
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        }

        return result;
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (now - entry.CreatedAt >= Ttl)
            {
                _entries.TryRemove(key, out _);
            }
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }
    }

    private sealed record Entry(DateTimeOffset CreatedAt, Task<UserInstallationsResult> Lookup);
}
