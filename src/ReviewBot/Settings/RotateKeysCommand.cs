using Npgsql;
using ReviewBot.Configuration;

namespace ReviewBot.Settings;

internal sealed record RotationReport(int Reencrypted, int AlreadyCurrent, int ChangedMeanwhile, IReadOnlyList<string> Problems);

// `ReviewBot rotate-keys` (CONTRACT §1): re-seals every stored API key with ENCRYPTION_KEY. Run it
// after deploying the new key as ENCRYPTION_KEY with the old one in ENCRYPTION_KEY_OLD; when it
// exits 0, ENCRYPTION_KEY_OLD can be removed. Safe while the service runs: each row is replaced only
// if it still holds the value that was read (SettingsSql.SettingsSealedKeyReplace).
internal static class RotateKeysCommand
{
    private const int BatchSize = 100;

    public static async Task<int> RunAsync(TextWriter output, TextWriter error)
    {
        var (options, code) = CommandLine.LoadOrReport(error);
        if (options is null)
        {
            return code;
        }

        try
        {
            await using var dataSource = new NpgsqlSlimDataSourceBuilder(options.DatabaseConnectionString).EnableArrays().Build();
            var cipher = new SecretCipher(options);
            var report = await RotateAsync(new SettingsStore(dataSource, cipher), cipher, CancellationToken.None);
            foreach (var problem in report.Problems)
            {
                error.WriteLine(problem);
            }

            output.WriteLine(
                $"rotate-keys: {report.Reencrypted} row(s) changed (re-encrypted with key {cipher.CurrentKeyId}), "
                + $"{report.AlreadyCurrent} already current, {report.ChangedMeanwhile} changed by a concurrent update, "
                + $"{report.Problems.Count} could not be decrypted");
            if (report.Problems.Count > 0)
            {
                error.WriteLine("rotate-keys: keep ENCRYPTION_KEY_OLD until the rows above are fixed (restore their key, or save a new API key for them).");
                return CommandLine.ExitFailed;
            }

            return CommandLine.ExitOk;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            // Type and SQL state only: a connection error message can quote the connection string.
            error.WriteLine($"rotate-keys: database error ({ex.GetType().Name}{(ex is PostgresException pg ? " " + pg.SqlState : "")}); no further rows changed.");
            return CommandLine.ExitFailed;
        }
    }

    internal static async Task<RotationReport> RotateAsync(SettingsStore store, SecretCipher cipher, CancellationToken cancellationToken)
    {
        int reencrypted = 0, current = 0, changedMeanwhile = 0;
        var problems = new List<string>();
        long after = 0;
        while (true)
        {
            var batch = await store.ListSealedKeysAsync(after, BatchSize, cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            foreach (var row in batch)
            {
                after = row.InstallationId;
                var opened = cipher.Open(row.InstallationId, row.SealedValue);
                if (opened.Plaintext is null)
                {
                    problems.Add($"installation {row.InstallationId}: {SecretCipher.Describe(opened)}");
                    continue;
                }

                if (opened.IsCurrentKey)
                {
                    current++;
                    continue;
                }

                if (await store.ReplaceSealedKeyAsync(row.InstallationId, row.SealedValue, cipher.Seal(row.InstallationId, opened.Plaintext), cancellationToken))
                {
                    reencrypted++;
                }
                else
                {
                    changedMeanwhile++;
                }
            }
        }

        return new RotationReport(reencrypted, current, changedMeanwhile, problems);
    }
}
