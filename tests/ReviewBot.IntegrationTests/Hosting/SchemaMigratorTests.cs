using Microsoft.Extensions.Logging.Abstractions;
using ReviewBot.Hosting;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Hosting;

public sealed class SchemaMigratorTests
{
    [Fact]
    public async Task Migrate_applied_twice_changes_nothing_the_second_time()
    {
        await using var db = await TestDatabase.CreateAsync(migrate: false);
        var migrator = new SchemaMigrator(db.DataSource, NullLogger<SchemaMigrator>.Instance);

        Assert.Equal(SchemaMigrator.Steps.Count, await migrator.MigrateAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await migrator.MigrateAsync(TestContext.Current.CancellationToken));
        Assert.Equal(SchemaMigrator.Steps[^1].Version, await db.ScalarAsync<int>("SELECT max(version) FROM schema_version"));
    }

    [Fact]
    public async Task Migrate_from_many_replicas_at_once_applies_each_step_exactly_once()
    {
        await using var db = await TestDatabase.CreateAsync(migrate: false);
        var replicas = Enumerable.Range(0, 8)
            .Select(_ => Task.Run(() => new SchemaMigrator(db.DataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(TestContext.Current.CancellationToken)))
            .ToArray();

        var applied = await Task.WhenAll(replicas);

        Assert.Equal(SchemaMigrator.Steps.Count, applied.Sum());
        Assert.Equal((long)SchemaMigrator.Steps.Count, await db.ScalarAsync<long>("SELECT count(*) FROM schema_version"));
    }

    [Fact]
    public async Task Migrate_verb_of_two_real_processes_at_once_both_succeed()
    {
        await using var db = await TestDatabase.CreateAsync(migrate: false);
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        await using var first = ReviewBotProcess.Start(env, "migrate");
        await using var second = ReviewBotProcess.Start(env, "migrate");

        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal((long)SchemaMigrator.Steps.Count, await db.ScalarAsync<long>("SELECT count(*) FROM schema_version"));
    }
}
