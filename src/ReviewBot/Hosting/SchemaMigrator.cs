using System.Text.RegularExpressions;
using Npgsql;

namespace ReviewBot.Hosting;

// Applies schema.sql (embedded in the binary) step by step. All replicas run this at start; the
// transaction-level advisory lock makes the second one wait for the first and then find nothing to do.
internal sealed partial class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    // Arbitrary but fixed: the same number in every ReviewBot process ("RBSCHEMA" in ASCII).
    private const long MigrationLockKey = 0x5242534348454D41;

    public static IReadOnlyList<SchemaStep> Steps { get; } = ParseSteps(ReadEmbeddedSchema());

    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var latest = Steps.Count == 0 ? 0 : Steps[^1].Version;

        // The usual start: the schema is current. One cheap read instead of a lock and DDL.
        if (await CurrentVersionAsync(connection, cancellationToken) >= latest)
        {
            Log.SchemaCurrent(logger, latest, 0);
            return 0;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = MigrationLockKey });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var versionTable = new NpgsqlCommand(
            """
            CREATE TABLE IF NOT EXISTS schema_version (
                version    integer PRIMARY KEY,
                title      text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, connection, transaction))
        {
            await versionTable.ExecuteNonQueryAsync(cancellationToken);
        }

        int current;
        await using (var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version", connection, transaction))
        {
            current = (int)(await read.ExecuteScalarAsync(cancellationToken))!;
        }

        var applied = 0;
        foreach (var step in Steps.Where(s => s.Version > current))
        {
            await using (var apply = new NpgsqlCommand(step.Sql, connection, transaction))
            {
                await apply.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var record = new NpgsqlCommand("INSERT INTO schema_version (version, title) VALUES ($1, $2)", connection, transaction))
            {
                record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = step.Version });
                record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = step.Title });
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            Log.StepApplied(logger, step.Version, step.Title);
            applied++;
        }

        await transaction.CommitAsync(cancellationToken);
        Log.SchemaCurrent(logger, Steps.Count == 0 ? 0 : Steps[^1].Version, applied);
        return applied;
    }

    // One round trip on the usual start; a database that never saw ReviewBot has no such table.
    private static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version", connection);
        try
        {
            return (int)(await read.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0;
        }
    }

    internal static IReadOnlyList<SchemaStep> ParseSteps(string schema)
    {
        var steps = new List<SchemaStep>();
        var matches = StepHeader().Matches(schema);
        for (var i = 0; i < matches.Count; i++)
        {
            var start = matches[i].Index + matches[i].Length;
            var end = i + 1 < matches.Count ? matches[i + 1].Index : schema.Length;
            var version = int.Parse(matches[i].Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (steps.Count > 0 && version != steps[^1].Version + 1)
            {
                throw new InvalidOperationException($"schema.sql steps must be numbered 1, 2, 3...; found {version} after {steps[^1].Version}");
            }

            steps.Add(new SchemaStep(version, matches[i].Groups["title"].Value.Trim(), schema[start..end]));
        }

        return steps;
    }

    private static string ReadEmbeddedSchema()
    {
        using var stream = typeof(SchemaMigrator).Assembly.GetManifestResourceStream("schema.sql")
            ?? throw new InvalidOperationException("schema.sql is not embedded in this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^-- step (?<n>\d+):(?<title>[^\r\n]*)\r?$", RegexOptions.Multiline)]
    private static partial Regex StepHeader();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Applied schema step {Version}: {Title}")]
        public static partial void StepApplied(ILogger logger, int version, string title);

        [LoggerMessage(2, LogLevel.Information, "Database schema is at version {Version} ({Applied} step(s) applied now)")]
        public static partial void SchemaCurrent(ILogger logger, int version, int applied);
    }
}

internal sealed record SchemaStep(int Version, string Title, string Sql);
