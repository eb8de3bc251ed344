using Npgsql;
using NpgsqlTypes;
using ReviewBot.Llm;

namespace ReviewBot.Settings;

// What a review job runs with, read once when the job starts (issue 6: "Reviews use the settings
// snapshot taken when the job starts").
internal sealed record SettingsSnapshot(
    bool Configured,
    bool Enabled,
    LlmProvider Provider,
    string Model,
    string? ApiKey,
    string? ApiKeyProblem,
    string CustomInstructions,
    IReadOnlyList<string> IgnorePaths,
    bool ReviewDrafts,
    int ReviewsPerHour,
    bool Suspended);

// The stored row as the settings API shows it (the key stays sealed; only whether it opens is known).
internal sealed record StoredSettings(
    long InstallationId,
    bool InstallationKnown,
    bool Suspended,
    bool Configured,
    bool Enabled,
    LlmProvider Provider,
    string Model,
    string? SealedApiKey,
    string? ApiKeyLast4,
    string CustomInstructions,
    IReadOnlyList<string> IgnorePaths,
    bool ReviewDrafts,
    int? ReviewsPerHour,
    DateTimeOffset? UpdatedAt);

internal enum SettingsSaveOutcome
{
    Saved,
    ProviderChangedWithoutKey,  // the stored key belongs to the old provider: ask for a new one
}

internal sealed record SealedKeyRow(long InstallationId, string SealedValue);

internal sealed class SettingsStore(NpgsqlDataSource dataSource, SecretCipher cipher)
{
    // Without a configured limit an installation may start this many reviews an hour: generous enough
    // never to be noticed by a normal team, small enough to stop a runaway loop spending someone's key.
    public const int DefaultReviewsPerHour = 60;

    public async Task<SettingsSnapshot> GetSnapshotAsync(long installationId, CancellationToken cancellationToken)
    {
        var stored = await GetAsync(installationId, cancellationToken);
        string? apiKey = null;
        string? problem = null;
        if (stored.SealedApiKey is not null)
        {
            var opened = cipher.Open(installationId, stored.SealedApiKey);
            apiKey = opened.Plaintext;
            problem = SecretCipher.Describe(opened);
        }

        return new SettingsSnapshot(
            stored.Configured,
            stored.Enabled,
            stored.Provider,
            stored.Model,
            apiKey,
            problem,
            stored.CustomInstructions,
            stored.IgnorePaths,
            stored.ReviewDrafts,
            stored.ReviewsPerHour ?? DefaultReviewsPerHour,
            stored.Suspended);
    }

    // Why the stored key cannot be used, or null when it can (or none is stored).
    public string? DescribeKeyProblem(StoredSettings stored) =>
        stored.SealedApiKey is null ? null : SecretCipher.Describe(cipher.Open(stored.InstallationId, stored.SealedApiKey));

    public async Task<StoredSettings> GetAsync(long installationId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SettingsSql.SettingsSelect);
        command.Parameters.AddWithValue("installation_id", installationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var configured = reader.GetBoolean(2);
        if (!configured)
        {
            // Defaults of schema.sql's installation_settings.
            return new StoredSettings(installationId, reader.GetBoolean(0), reader.GetBoolean(1), false, true, LlmProvider.OpenAi, "", null, null, "", [], false, null, null);
        }

        LlmProviderNames.TryParse(reader.GetString(4), out var provider);
        return new StoredSettings(
            installationId,
            reader.GetBoolean(0),
            reader.GetBoolean(1),
            true,
            reader.GetBoolean(3),
            provider,
            reader.GetString(5),
            reader.IsDBNull(6) ? null : reader.GetString(6),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            reader.GetString(8),
            reader.GetFieldValue<string[]>(9),
            reader.GetBoolean(10),
            reader.IsDBNull(11) ? null : reader.GetInt32(11),
            reader.GetFieldValue<DateTimeOffset>(12));
    }

    public async Task<SettingsSaveOutcome> SaveAsync(long installationId, SettingsUpdate update, CancellationToken cancellationToken)
    {
        var sealedKey = update.ApiKey is null ? null : cipher.Seal(installationId, update.ApiKey);
        var last4 = update.ApiKey?[^4..];

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var ensure = new NpgsqlCommand(SettingsSql.InstallationEnsure, connection, transaction))
        {
            ensure.Parameters.AddWithValue("installation_id", installationId);
            await ensure.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var current = new NpgsqlCommand(SettingsSql.SettingsLockCurrent, connection, transaction))
        {
            current.Parameters.AddWithValue("installation_id", installationId);
            await using var reader = await current.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken)
                && reader.GetBoolean(1)
                && reader.GetString(0) != update.Provider.ToWireName()
                && sealedKey is null)
            {
                return SettingsSaveOutcome.ProviderChangedWithoutKey;
            }
        }

        await using (var upsert = new NpgsqlCommand(SettingsSql.SettingsUpsert, connection, transaction))
        {
            upsert.Parameters.AddWithValue("installation_id", installationId);
            upsert.Parameters.AddWithValue("enabled", update.Enabled);
            upsert.Parameters.AddWithValue("llm_provider", update.Provider.ToWireName());
            upsert.Parameters.AddWithValue("model", update.Model);
            upsert.Parameters.Add(new NpgsqlParameter("api_key_encrypted", NpgsqlDbType.Text) { Value = (object?)sealedKey ?? DBNull.Value });
            upsert.Parameters.Add(new NpgsqlParameter("api_key_last4", NpgsqlDbType.Text) { Value = (object?)last4 ?? DBNull.Value });
            upsert.Parameters.AddWithValue("custom_instructions", update.CustomInstructions);
            upsert.Parameters.Add(new NpgsqlParameter("ignore_paths", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = update.IgnorePaths.ToArray() });
            upsert.Parameters.AddWithValue("review_drafts", update.ReviewDrafts);
            upsert.Parameters.Add(new NpgsqlParameter("reviews_per_hour", NpgsqlDbType.Integer) { Value = (object?)update.ReviewsPerHour ?? DBNull.Value });
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return SettingsSaveOutcome.Saved;
    }

    public async Task<IReadOnlyList<InstallationSummary>> ListInstallationsAsync(IReadOnlyCollection<long>? ids, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ids is null ? SettingsSql.InstallationListAll : SettingsSql.InstallationListByIds);
        if (ids is not null)
        {
            command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = ids.ToArray() });
        }

        var result = new List<InstallationSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new InstallationSummary(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4), reader.GetBoolean(5)));
        }

        return result;
    }

    public async Task<IReadOnlyList<JobSummary>> ListJobsAsync(long installationId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SettingsSql.JobListRecent);
        command.Parameters.AddWithValue("installation_id", installationId);
        command.Parameters.AddWithValue("limit", limit);
        var result = new List<JobSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new JobSummary(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetInt32(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetInt32(7),
                reader.GetInt32(8),
                reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.GetFieldValue<DateTimeOffset>(10),
                reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
                reader.IsDBNull(12) ? null : reader.GetFieldValue<DateTimeOffset>(12),
                reader.GetInt32(13),
                reader.GetInt32(14),
                reader.GetInt32(15),
                reader.GetInt32(16)));
        }

        return result;
    }

    public async Task<IReadOnlyList<SealedKeyRow>> ListSealedKeysAsync(long afterInstallationId, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SettingsSql.SettingsSealedKeyBatch);
        command.Parameters.AddWithValue("after", afterInstallationId);
        command.Parameters.AddWithValue("batch_size", batchSize);
        var rows = new List<SealedKeyRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new SealedKeyRow(reader.GetInt64(0), reader.GetString(1)));
        }

        return rows;
    }

    public async Task<bool> ReplaceSealedKeyAsync(long installationId, string oldValue, string newValue, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SettingsSql.SettingsSealedKeyReplace);
        command.Parameters.AddWithValue("installation_id", installationId);
        command.Parameters.AddWithValue("old_value", oldValue);
        command.Parameters.AddWithValue("new_value", newValue);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
