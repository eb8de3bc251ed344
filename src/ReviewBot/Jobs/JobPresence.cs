using Npgsql;

namespace ReviewBot.Jobs;

// This process's presence in PostgreSQL: one dedicated connection that holds a session-level advisory
// lock (WorkerIdentity.LeaseKey) and LISTENs for new jobs. When the process dies, even by kill -9, the
// kernel closes the socket, Postgres ends the session and releases the lock, and other replicas see
// its jobs as orphaned within seconds (JobSql.JobRecoverOrphans) instead of waiting for a lease to expire.
internal sealed partial class JobPresence(
    NpgsqlDataSource dataSource,
    WorkerIdentity worker,
    JobSignal signal,
    ILogger<JobPresence> logger) : BackgroundService
{
    public const string Channel = "review_jobs";

    // A quiet connection is probed this often, so a dead one is noticed and replaced.
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _firstHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _held;
    private int _connections;

    public bool IsHeld => _held;

    // How many times the listener connected; tests watch it reconnect after a database restart.
    public int Connections => Volatile.Read(ref _connections);

    public Task FirstHeld => _firstHeld.Task;

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

                connection.Notification += (_, _) => signal.Wake();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Job listener connected as {Worker}")]
        public static partial void Listening(ILogger logger, string worker);

        [LoggerMessage(2, LogLevel.Warning, "Job listener connection lost ({ErrorType}); reconnecting in {DelayMs} ms")]
        public static partial void ListenerLost(ILogger logger, string errorType, double delayMs);
    }
}
