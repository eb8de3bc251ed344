using Npgsql;

namespace ReviewBot.Jobs;

internal sealed class JobStore(NpgsqlDataSource dataSource)
{
    public async Task<(long Pending, long Processing)> CountByStatusAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobCountByStatus);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
