using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;
using ReviewBot.Upstream;

namespace ReviewBot.IntegrationTests.Jobs;

// Two replicas on one database: a wait one of them learned for a credential reaches the other
// through NOTIFY (JobPresence), so the other holds that credential too.
public sealed class CooldownBroadcastTests
{
    [Fact]
    public async Task A_credential_cooldown_learned_by_one_replica_is_held_by_the_other()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var first = await QueueTestApp.StartAsync(db.ConnectionString, new FakeJobHandler());
        await using var second = await QueueTestApp.StartAsync(db.ConnectionString, new FakeJobHandler());
        await first.Services.GetRequiredService<JobPresence>().FirstHeld.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await second.Services.GetRequiredService<JobPresence>().FirstHeld.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var learnedBy = first.Services.GetRequiredService<CredentialCooldown>();
        var other = second.Services.GetRequiredService<CredentialCooldown>();
        var key = CredentialKey.ForSecret("openai", "sk-broadcast-test-key");

        // A name that is not one ReviewBot builds is ignored; notifications arrive in order, so once
        // the valid one is held the invalid one has been seen and dropped.
        await db.ScalarAsync<object>("SELECT pg_notify($1, $2)::text", JobPresence.CooldownChannel, "openai:key:sk-not-a-hash 30000 1");
        var until = learnedBy.HoldFor(key, TimeSpan.FromSeconds(30));
        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(other.Until(key) is not null), TimeSpan.FromSeconds(5), "the cooldown on the other replica");

        // Sent as milliseconds still to wait, so time in transit only makes the other replica wait longer.
        Assert.InRange(other.Until(key)!.Value, until, until.AddSeconds(2));
        Assert.Null(other.Until(CredentialKey.GitHubApp));
    }

    [Fact]
    public async Task A_replica_that_starts_inside_a_cooldown_holds_the_credential_from_its_first_request()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var first = await QueueTestApp.StartAsync(db.ConnectionString, new FakeJobHandler());
        await first.Services.GetRequiredService<JobPresence>().FirstHeld.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        // The App JWT was told to wait 30 s; a replica restarted (kill -9, deploy) a moment later
        // must not learn that again from GitHub.
        var until = first.Services.GetRequiredService<CredentialCooldown>().HoldFor(CredentialKey.GitHubApp, TimeSpan.FromSeconds(30));
        await QueueTestApp.WaitUntilAsync(
            async () => await db.ScalarAsync<long>("SELECT count(*) FROM credential_cooldowns WHERE credential = 'github:app' AND until > now() + interval '25 seconds'") == 1,
            TimeSpan.FromSeconds(5), "the cooldown stored");

        await using var restarted = await QueueTestApp.StartAsync(db.ConnectionString, new FakeJobHandler());
        await restarted.Services.GetRequiredService<JobPresence>().FirstHeld.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var held = restarted.Services.GetRequiredService<CredentialCooldown>().Until(CredentialKey.GitHubApp);
        Assert.NotNull(held);
        Assert.InRange(held.Value, until.AddSeconds(-1), until.AddSeconds(2));
        Assert.Null(restarted.Services.GetRequiredService<CredentialCooldown>().Until(CredentialKey.ForSecret("openai", "sk-other")));
    }
}
