using System.Globalization;
using Npgsql;
using ReviewBot.Upstream;

namespace ReviewBot.Jobs;

// This process's presence in PostgreSQL: one dedicated connection that holds a session-level advisory
// lock (WorkerIdentity.LeaseKey) and LISTENs for new jobs. When the process dies, even by kill -9, the
// kernel closes the socket, Postgres ends the session and releases the lock, and other replicas see
// its jobs as orphaned within seconds (JobSql.JobRecoverOrphans) instead of waiting for a lease to expire.
//
// The same connection LISTENs for credential cooldowns: a wait an upstream named for a credential in
// one replica (CredentialCooldown.Learned) is NOTIFYed so the other replicas hold that credential
// too. The payload is the credential's name (never the secret), the milliseconds still to wait
// when it was sent (time in transit only lengthens the wait, and no two clocks are compared) and
// the sender's lease key, so a replica skips its own notifications. The wait is also stored
// (credential_cooldowns), and read each time the listener connects, so a replica that starts or
// reconnects inside a wait holds the credential too. What is left is best effort: a request another
// replica sends before the notification arrives (a few milliseconds) can still be early.
internal sealed partial class JobPresence(
    NpgsqlDataSource dataSource,
    WorkerIdentity worker,
    JobSignal signal,
    ILogger<JobPresence> logger,
    CredentialCooldown? cooldown = null) : BackgroundService
{
    public const string Channel = "review_jobs";
    public const string CooldownChannel = "reviewbot_cooldowns";

    // A quiet connection is probed this often, so a dead one is noticed and replaced.
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(10);

    // A day: no upstream asks for more, and a wrong payload must not hold a credential for ever.
    private const long MaxCooldownMilliseconds = 24 * 60 * 60 * 1000;

    private readonly TaskCompletionSource _firstHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _held;
    private int _connections;
    private long _heldSinceMs;

    public bool IsHeld => _held;

    // May jobs be called orphaned because their owner's lock is missing? Only while this process holds
    // its own lock, and, after a reconnect, once that has lasted `settle`: a database restart drops
    // every replica's lock at once and each takes its own time to come back (JobQueueTuning.ReconnectSettle).
    public bool MayJudgeLocks(TimeSpan settle) =>
        MayJudgeLocks(_held, Connections, Environment.TickCount64 - Volatile.Read(ref _heldSinceMs), settle);

    internal static bool MayJudgeLocks(bool held, int connections, long heldForMs, TimeSpan settle) =>
        held && (connections <= 1 || heldForMs >= settle.TotalMilliseconds);

    // How many times the listener connected; tests watch it reconnect after a database restart.
    public int Connections => Volatile.Read(ref _connections);

    public Task FirstHeld => _firstHeld.Task;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (cooldown is not null)
        {
            cooldown.Learned += PublishCooldown;
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (cooldown is not null)
        {
            cooldown.Learned -= PublishCooldown;
        }

        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                await using (var acquire = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection))
                {
                    acquire.Parameters.Add(new NpgsqlParameter<long> { TypedValue = worker.LeaseKey });
                    await acquire.ExecuteNonQueryAsync(stoppingToken);
                }

                connection.Notification += (_, e) =>
                {
                    if (e.Channel == CooldownChannel)
                    {
                        ApplyCooldown(e.Payload);
                    }
                    else
                    {
                        signal.Wake();
                    }
                };
                foreach (var channel in new[] { Channel, CooldownChannel })
                {
                    await using var listen = new NpgsqlCommand($"LISTEN {channel}", connection);
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Waits announced while this replica was not listening (not started yet, or reconnecting).
                if (cooldown is not null)
                {
                    await LoadCooldownsAsync(connection, stoppingToken);
                }

                Volatile.Write(ref _heldSinceMs, Environment.TickCount64);
                _held = true;
                Interlocked.Increment(ref _connections);
                _firstHeld.TrySetResult();
                Log.Listening(logger, worker.Owner);
                delay = TimeSpan.FromMilliseconds(250);

                // Jobs may have arrived while we were not listening.
                signal.Wake();

                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(ProbeInterval, stoppingToken))
                    {
                        await using var probe = new NpgsqlCommand("SELECT 1", connection);
                        await probe.ExecuteNonQueryAsync(stoppingToken);
                    }
                }

                // Clean shutdown: release explicitly rather than rely on the pool's reset.
                await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
                await release.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or System.IO.IOException or OperationCanceledException)
            {
                _held = false;
                Log.ListenerLost(logger, ex.GetType().Name, delay.TotalMilliseconds);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
        }

        _held = false;
    }

    // Called on the thread that read the upstream's answer: the NOTIFY goes out in the background.
    private void PublishCooldown(CredentialKey key, DateTimeOffset until)
    {
        var remaining = cooldown!.Remaining(until);
        var payload = string.Join(' ', key.Value, ((long)Math.Ceiling(remaining.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture), worker.LeaseKey.ToString(CultureInfo.InvariantCulture));
        _ = Task.Run(async () =>
        {
            try
            {
                await using var notify = dataSource.CreateCommand(CooldownPublish);
                notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = CooldownChannel });
                notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
                notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Value });
                notify.Parameters.Add(new NpgsqlParameter<double> { TypedValue = Math.Ceiling(remaining.TotalMilliseconds) });
                await notify.ExecuteNonQueryAsync();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or System.IO.IOException)
            {
                // This replica still holds the credential; only the others are not told.
                Log.CooldownNotSent(logger, key.Value, ex.GetType().Name);
            }
        });
    }

    private async Task LoadCooldownsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var load = new NpgsqlCommand(CooldownLoad, connection);
        await using var reader = await load.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (CredentialKey.TryParse(reader.GetString(0), out var key))
            {
                var milliseconds = Math.Min(reader.GetDouble(1), MaxCooldownMilliseconds);
                cooldown!.Hold(key, cooldown.Time.GetUtcNow() + TimeSpan.FromMilliseconds(milliseconds));
            }
        }
    }

    // Stores the wait (the later one wins, expired ones are dropped on the way) and tells the other
    // replicas, in one statement. $1 channel, $2 payload, $3 credential name, $4 milliseconds.
    private const string CooldownPublish =
        """
        WITH expired AS (
            DELETE FROM credential_cooldowns WHERE until < now()
        ), stored AS (
            INSERT INTO credential_cooldowns (credential, until)
            VALUES ($3, now() + $4 * interval '1 millisecond')
            ON CONFLICT (credential) DO UPDATE SET until = greatest(credential_cooldowns.until, EXCLUDED.until)
        )
        SELECT pg_notify($1, $2)
        """;

    // Every wait still running, as milliseconds left by the database's clock (no clocks compared).
    private const string CooldownLoad =
        """
        SELECT credential, extract(epoch FROM until - now())::float8 * 1000
        FROM credential_cooldowns
        WHERE until > now()
        """;

    // "{credential} {milliseconds} {sender}"; anything else is ignored.
    private void ApplyCooldown(string payload)
    {
        var parts = payload.Split(' ');
        if (cooldown is null || parts.Length != 3 ||
            !CredentialKey.TryParse(parts[0], out var key) ||
            !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds) ||
            milliseconds > MaxCooldownMilliseconds ||
            parts[2] == worker.LeaseKey.ToString(CultureInfo.InvariantCulture))
        {
            return;
        }

        cooldown.Hold(key, cooldown.Time.GetUtcNow() + TimeSpan.FromMilliseconds(milliseconds));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Job listener connected as {Worker}")]
        public static partial void Listening(ILogger logger, string worker);

        [LoggerMessage(2, LogLevel.Warning, "Job listener connection lost ({ErrorType}); reconnecting in {DelayMs} ms")]
        public static partial void ListenerLost(ILogger logger, string errorType, double delayMs);

        [LoggerMessage(3, LogLevel.Warning, "Cooldown of {Credential} not passed on to other replicas ({ErrorType})")]
        public static partial void CooldownNotSent(ILogger logger, string credential, string errorType);
    }
}
