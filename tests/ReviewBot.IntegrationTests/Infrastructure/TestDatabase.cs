using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using ReviewBot.Hosting;

namespace ReviewBot.IntegrationTests.Infrastructure;

// A fresh database, with schema.sql applied, owned by one test (or one test class). Dropped on dispose.
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private TestDatabase(string adminConnectionString, string name)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        ConnectionString = PostgresServer.WithDatabase(adminConnectionString, name);
        DataSource = new NpgsqlSlimDataSourceBuilder(ConnectionString).EnableArrays().Build();
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public static async Task<TestDatabase> CreateAsync(bool migrate = true)
    {
        var admin = await PostgresServer.GetAdminConnectionStringAsync();
        var name = "rb_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        var database = new TestDatabase(admin, name);
        if (migrate)
        {
            await new SchemaMigrator(database.DataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
        }

        return database;
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // A test that stopped the server leaves its database behind; the throwaway server is deleted anyway.
        }
    }
}
