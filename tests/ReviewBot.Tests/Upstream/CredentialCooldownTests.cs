using Microsoft.Extensions.Time.Testing;
using ReviewBot.Upstream;

namespace ReviewBot.Tests.Upstream;

public sealed class CredentialCooldownTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CredentialKey Key = CredentialKey.ForSecret("openai", "sk-secret-0123456789abcdef");
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WaitAsync_lets_a_credential_never_held_go_at_once()
    {
        var cooldown = new CredentialCooldown(new FakeTimeProvider(Start));

        var wait = cooldown.WaitAsync(Key, MaxWait, TestContext.Current.CancellationToken);

        Assert.True(wait.IsCompleted);
        Assert.Null(await wait);
    }

    [Fact]
    public async Task WaitAsync_returns_only_when_the_deadline_is_reached()
    {
        var time = new FakeTimeProvider(Start);
        var cooldown = new CredentialCooldown(time);
        cooldown.HoldFor(Key, TimeSpan.FromSeconds(1));

        var wait = cooldown.WaitAsync(Key, MaxWait, TestContext.Current.CancellationToken).AsTask();
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Null(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.Null(cooldown.Until(Key));
    }

    [Fact]
    public void Hold_keeps_the_later_deadline()
    {
        var time = new FakeTimeProvider(Start);
        var cooldown = new CredentialCooldown(time);

        cooldown.HoldFor(Key, TimeSpan.FromSeconds(5));
        cooldown.HoldFor(Key, TimeSpan.FromSeconds(2));
        Assert.Equal(Start.AddSeconds(5), cooldown.Until(Key));

        cooldown.Hold(Key, Start.AddSeconds(8));
        Assert.Equal(Start.AddSeconds(8), cooldown.Until(Key));
    }

    [Fact]
    public async Task WaitAsync_keeps_waiting_for_a_later_deadline_set_while_it_waits()
    {
        var time = new FakeTimeProvider(Start);
        var cooldown = new CredentialCooldown(time);
        cooldown.HoldFor(Key, TimeSpan.FromSeconds(1));
        var wait = cooldown.WaitAsync(Key, MaxWait, TestContext.Current.CancellationToken).AsTask();

        cooldown.HoldFor(Key, TimeSpan.FromSeconds(3));
        var released = await AdvanceUntilCompletedAsync(time, wait, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));

        Assert.Equal(Start.AddSeconds(3), released);
    }

    [Fact]
    public async Task WaitAsync_answers_a_deadline_beyond_its_limit_without_waiting()
    {
        var time = new FakeTimeProvider(Start);
        var cooldown = new CredentialCooldown(time);
        cooldown.HoldFor(Key, TimeSpan.FromSeconds(90));

        var wait = cooldown.WaitAsync(Key, MaxWait, TestContext.Current.CancellationToken);

        Assert.True(wait.IsCompleted);
        Assert.Equal(Start.AddSeconds(90), await wait);
        Assert.Equal(TimeSpan.FromSeconds(90), cooldown.Remaining(Start.AddSeconds(90)));
    }

    [Fact]
    public async Task WaitAsync_stops_when_cancelled()
    {
        var cooldown = new CredentialCooldown(new FakeTimeProvider(Start));
        cooldown.HoldFor(Key, TimeSpan.FromSeconds(5));
        using var cancel = new CancellationTokenSource();

        var wait = cooldown.WaitAsync(Key, MaxWait, cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_deadline_holds_only_its_own_credential()
    {
        var cooldown = new CredentialCooldown(new FakeTimeProvider(Start));
        cooldown.HoldFor(CredentialKey.GitHubInstallation(1), TimeSpan.FromSeconds(5));

        Assert.Null(await cooldown.WaitAsync(CredentialKey.GitHubInstallation(2), MaxWait, TestContext.Current.CancellationToken));
        Assert.Null(await cooldown.WaitAsync(CredentialKey.GitHubApp, MaxWait, TestContext.Current.CancellationToken));
        Assert.Null(await cooldown.WaitAsync(Key, MaxWait, TestContext.Current.CancellationToken));
        Assert.NotNull(cooldown.Until(CredentialKey.GitHubInstallation(1)));
    }

    [Fact]
    public void Learned_reports_deadlines_from_answers_but_not_those_passed_on_by_other_replicas()
    {
        var cooldown = new CredentialCooldown(new FakeTimeProvider(Start));
        var learned = new List<(CredentialKey, DateTimeOffset)>();
        cooldown.Learned += (key, until) => learned.Add((key, until));

        cooldown.HoldFor(Key, TimeSpan.FromSeconds(5));
        cooldown.HoldFor(Key, TimeSpan.FromSeconds(2));
        cooldown.Hold(Key, Start.AddSeconds(9));

        Assert.Equal([(Key, Start.AddSeconds(5))], learned);
        Assert.Equal(Start.AddSeconds(9), cooldown.Until(Key));
    }

    [Fact]
    public void CredentialKey_names_a_secret_without_containing_it()
    {
        const string secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

        var key = CredentialKey.ForSecret("openai", secret);

        Assert.StartsWith("openai:key:", key.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, key.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[..8], key.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[^4..], key.Value, StringComparison.Ordinal);
        Assert.Equal(key, CredentialKey.ForSecret("openai", secret));
        Assert.NotEqual(key, CredentialKey.ForSecret("openai", secret + "x"));
        Assert.NotEqual(key, CredentialKey.ForSecret("anthropic", secret));
    }

    [Theory]
    [InlineData("github:app", true)]
    [InlineData("github:installation:42", true)]
    [InlineData("openai:key:0123456789abcdef", true)]
    [InlineData("openai:key:sk-proj-secret", false)]
    [InlineData("github:installation:-1", false)]
    [InlineData("github:installation:42:x", false)]
    [InlineData("", false)]
    public void CredentialKey_parses_only_the_names_it_builds(string value, bool valid)
    {
        Assert.Equal(valid, CredentialKey.TryParse(value, out var key));
        if (valid)
        {
            Assert.Equal(value, key.Value);
        }
    }

    // Steps the fake clock until the wait ends and answers the time it ended at; between steps the
    // waiter gets a moment of real time to take the next timer (polling with a deadline).
    private static async Task<DateTimeOffset> AdvanceUntilCompletedAsync(FakeTimeProvider time, Task wait, TimeSpan step, TimeSpan limit)
    {
        var end = time.GetUtcNow() + limit;
        while (time.GetUtcNow() < end)
        {
            if (await Task.WhenAny(wait, Task.Delay(TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken)) == wait)
            {
                await wait;
                return time.GetUtcNow();
            }

            time.Advance(step);
        }

        throw new TimeoutException("the wait did not end");
    }
}
