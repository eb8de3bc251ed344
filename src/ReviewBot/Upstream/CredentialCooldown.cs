using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ReviewBot.Upstream;

// Which credential a wait belongs to, named without the secret so the name can be logged, kept in
// memory for as long as the process runs and sent to other replicas: GitHub rate limits belong to an
// installation ("Rate limits for the REST API" → "Primary rate limit for GitHub App installations")
// or to the App itself (calls made with the App JWT), whichever token is current; an LLM API key is
// known by a prefix of its SHA-256, which says nothing usable about the key.
internal readonly record struct CredentialKey
{
    private const int HashBytes = 8;

    private CredentialKey(string value) => Value = value;

    public string Value { get; }

    public static CredentialKey GitHubApp { get; } = new("github:app");

    public static CredentialKey GitHubInstallation(long installationId) =>
        new("github:installation:" + installationId.ToString(CultureInfo.InvariantCulture));

    public static CredentialKey ForSecret(string upstream, string secret) =>
        new(upstream + ":key:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)).AsSpan(0, HashBytes)));

    // For names that arrive from another replica: only the shapes built above are accepted, so a
    // stray notification can neither grow the table with junk nor carry a secret into a log line.
    public static bool TryParse(string? value, out CredentialKey key)
    {
        key = default;
        if (string.IsNullOrEmpty(value) || value.Length > 100)
        {
            return false;
        }

        var parts = value.Split(':');
        var valid = parts switch
        {
            ["github", "app"] => true,
            ["github", "installation", var id] => long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _),
            [var upstream, "key", var hash] => upstream.Length is > 0 and <= 20 && upstream.All(char.IsAsciiLetterLower) &&
                hash.Length == HashBytes * 2 && hash.All(char.IsAsciiHexDigitLower),
            _ => false,
        };

        if (valid)
        {
            key = new CredentialKey(value);
        }

        return valid;
    }

    public override string ToString() => Value;
}

// The process-wide "do not call with this credential before T" table. A 429 (or GitHub's 403 rate
// limit) answers for the credential, not for the one request that got it: GitHub says "stop making
// requests temporarily" and the providers' limits are per key (OpenAI "Rate limits", Anthropic
// "Rate limits": limits apply per organization/key), so every request with that credential (the
// other chunks of a review, another job of the installation, another installation's token exchange
// with the App JWT) is held until the deadline. Each upstream client asks WaitAsync right before it
// sends and calls Hold/HoldFor when an answer names a wait.
//
// Across replicas: Learned lets a deadline be passed on (JobPresence NOTIFYs it and feeds what other
// replicas send into Hold), so every replica holds the credential. That is best effort, and a
// cross-replica request before the deadline remains possible: one another replica sends while the
// notification is on its way (milliseconds) or while its listener reconnects. It needs two replicas
// using one credential at that moment; with REVIEW_CONCURRENCY_PER_INSTALLATION=1 (the default)
// only one job per installation runs anywhere, and the installation's not_before (JobRelease)
// covers waits long enough to go back to the queue, so in practice it is the App JWT (token
// exchanges, delivery recovery) that two replicas share.
internal sealed class CredentialCooldown(TimeProvider time)
{
    private readonly ConcurrentDictionary<CredentialKey, DateTimeOffset> _until = new();

    // A deadline this process learned from an upstream answer (not one passed on by another replica).
    public event Action<CredentialKey, DateTimeOffset>? Learned;

    public TimeProvider Time => time;

    public DateTimeOffset HoldFor(CredentialKey key, TimeSpan wait)
    {
        var until = time.GetUtcNow() + (wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
        if (Hold(key, until))
        {
            Learned?.Invoke(key, until);
        }

        return until;
    }

    // The later deadline wins: an earlier one never shortens a wait already promised. True when
    // this deadline is now the one in force.
    public bool Hold(CredentialKey key, DateTimeOffset until)
    {
        if (until <= time.GetUtcNow())
        {
            return false;
        }

        var extended = false;
        _until.AddOrUpdate(
            key,
            _ =>
            {
                extended = true;
                return until;
            },
            (_, current) =>
            {
                extended = until > current;
                return extended ? until : current;
            });
        return extended;
    }

    // The deadline still ahead for this credential, or null when it may be used now.
    public DateTimeOffset? Until(CredentialKey key)
    {
        if (!_until.TryGetValue(key, out var until))
        {
            return null;
        }

        if (until > time.GetUtcNow())
        {
            return until;
        }

        // Only this deadline is removed: a later one set meanwhile stays.
        _until.TryRemove(new KeyValuePair<CredentialKey, DateTimeOffset>(key, until));
        return null;
    }

    // Waits until the credential may be used, then answers null. A wait longer than maxWait is not
    // slept on: the deadline is answered at once, for the caller to return as a value (the job goes
    // back to the queue with that time, CONTRACT: never hold a worker for minutes).
    public async ValueTask<DateTimeOffset?> WaitAsync(CredentialKey key, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        // A loop, not one sleep: a later deadline may be set while waiting, and a timer may fire a
        // moment before the wall clock reaches the deadline.
        while (Until(key) is { } until)
        {
            var remaining = until - time.GetUtcNow();
            if (remaining > maxWait)
            {
                return until;
            }

            if (remaining > TimeSpan.Zero)
            {
                // Whole milliseconds, rounded up: timers tick in milliseconds.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), time, cancellationToken);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return null;
    }

    public TimeSpan Remaining(DateTimeOffset until)
    {
        var remaining = until - time.GetUtcNow();
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }
}
