using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.GitHub;

// One database and one running service for a test class; each test starts from empty tables
// (tests in a class run one after another).
public sealed class WebhookAppFixture : IAsyncLifetime
{
    private TestDatabase? _database;
    private TestApp? _app;

    internal TestDatabase Database => _database!;

    internal TestApp App => _app!;

    public async ValueTask InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        // The delivery-recovery loop must not reach the real api.github.com from a test.
        _app = await TestApp.StartAsync(TestApp.Options(_database.ConnectionString, o => o with { GitHubApiUrl = new Uri("http://127.0.0.1:9/"), DeliveryRecoveryIntervalSeconds = 0 }));
    }

    internal Task ResetAsync() =>
        Database.ExecuteAsync("TRUNCATE webhook_deliveries, review_jobs, installation_repositories, installation_settings, installations");

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
