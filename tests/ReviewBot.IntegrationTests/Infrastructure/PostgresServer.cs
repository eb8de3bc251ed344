using Npgsql;
using Testcontainers.PostgreSql;

namespace ReviewBot.IntegrationTests.Infrastructure;

// One PostgreSQL server per test run: REVIEWBOT_TEST_DATABASE_URL when set (what `make test` does,
// starting a throwaway server itself), otherwise a Testcontainers container where Docker exists.
// Each test then gets a database of its own from TestDatabase.
internal static class PostgresServer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _adminConnectionString;
    private static PostgreSqlContainer? _container;

    public static async Task<string> GetAdminConnectionStringAsync()
    {
        if (_adminConnectionString is not null)
        {
            return _adminConnectionString;
        }

        await Gate.WaitAsync();
        try
        {
            if (_adminConnectionString is not null)
            {
                return _adminConnectionString;
            }

            var url = Environment.GetEnvironmentVariable("REVIEWBOT_TEST_DATABASE_URL");
            if (!string.IsNullOrWhiteSpace(url))
            {
                if (!ReviewBot.Configuration.DatabaseUrl.TryParse(url, out var cs, out var error))
                {
                    throw new InvalidOperationException("REVIEWBOT_TEST_DATABASE_URL: " + error);
                }

                _adminConnectionString = cs;
            }
            else
            {
                _container = new PostgreSqlBuilder("postgres:16-alpine").Build();
                await _container.StartAsync();
                _adminConnectionString = _container.GetConnectionString();
                AppDomain.CurrentDomain.ProcessExit += (_, _) => _container.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            return _adminConnectionString;
        }
        finally
        {
            Gate.Release();
        }
    }

    public static string WithDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database, Pooling = true }.ConnectionString;
}
