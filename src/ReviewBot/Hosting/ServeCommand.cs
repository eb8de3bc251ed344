using Npgsql;
using ReviewBot.Configuration;

namespace ReviewBot.Hosting;

internal delegate WebApplication AppFactory(ReviewBotOptions options, Action<WebApplicationBuilder>? configure);

// `serve` and `migrate`: configuration is validated before anything else happens (exit 2, no port
// bound), then the schema is brought up to date, then the service starts.
internal static partial class ServeCommand
{
    // A database that is still starting (compose, a fresh cluster) gets this long before we give up.
    private static readonly TimeSpan MigrationPatience = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan FirstConnectionWait = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(AppFactory buildApp)
    {
        // The runtime has expanded the image's type data by now; its compressed copy is not needed again.
        var image = NativeImage.ReleaseStartupData();
        var (options, code) = CommandLine.LoadOrReport(Console.Error);
        if (options is null)
        {
            return code;
        }

        // The schema check mostly waits on PostgreSQL (a new connection, then one read), while what
        // the start needs meanwhile is CPU work: building the host and the web server's dependency
        // graph (the background services are built once it listens: BackgroundStart). So the data
        // source is created first and its first connection opened while the host is built; the
        // container is given that data source, and the check, then the first request, reuse the
        // connection. Opening it is all that happens early (read-only, failures left to the check to
        // report): the check itself, and any DDL, runs once the host exists. What Npgsql logs before
        // the host's logging exists is kept for it (DeferredLoggerFactory). Nothing is started, served
        // or claimed before the migration has succeeded. (A second connection opened for the first
        // request, and binding the port before the check completed, both measured slower on two cores
        // shared with PostgreSQL: bench/RESULTS.md, startup, session 6.) The connection is opened
        // synchronously on a thread of its own: through Task.Run and the async API it waited for the
        // thread pool's first worker and took ~10 ms more CPU to ready (session 8).
        var logging = new DeferredLoggerFactory(options.LogLevel);
        await using var dataSource = HostingExtensions.CreateDataSource(options, logging);
        var firstConnection = OpenFirstConnectionInBackground(dataSource);

        await using var app = buildApp(options, builder => builder.Services.AddSingleton(dataSource));
        logging.Attach(app.Services.GetRequiredService<ILoggerFactory>());
        if (image is { } report)
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServeCommand).FullName!);
            Log.NativeImageStarted(logger, report.PopulateError, report.HugePageError, report.ReleasedBytes);
        }

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        // Normally done by now; a database that does not answer is the check's to wait for.
        await firstConnection.WaitAsync(FirstConnectionWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var migration = MigrateWithRetryAsync(app, lifetime.ApplicationStopping);
        // Taken now: RunAsync disposes the service provider when it returns.
        var background = app.Services.GetServices<IHostedService>().OfType<BackgroundStart>().ToList();
        if (!await migration)
        {
            return CommandLine.ExitFailed;
        }

        await app.RunAsync();
        return background.Any(b => b.Failed) ? CommandLine.ExitFailed : CommandLine.ExitOk;
    }

    public static async Task<int> MigrateAsync(AppFactory buildApp)
    {
        var (options, code) = CommandLine.LoadOrReport(Console.Error);
        if (options is null)
        {
            return code;
        }

        await using var app = buildApp(options, null);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServeCommand).FullName!);
        try
        {
            await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(CancellationToken.None);
            return CommandLine.ExitOk;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            Log.MigrationFailed(logger, ex);
            return CommandLine.ExitFailed;
        }
    }

    // Best effort: a database that is not there yet is the schema check's to wait for and report, so
    // nothing this thread meets ends the process; it ends when the connection is open or has failed
    // (at worst after the connection string's Timeout).
    private static Task OpenFirstConnectionInBackground(NpgsqlDataSource dataSource)
    {
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                using var connection = dataSource.OpenConnection();
            }
            catch (Exception)
            {
            }
            finally
            {
                opened.SetResult();
            }
        })
        {
            IsBackground = true,
            Name = "First connection",
        };
        thread.Start();
        return opened.Task;
    }

    internal static async Task<bool> MigrateWithRetryAsync(WebApplication app, CancellationToken stopping)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServeCommand).FullName!);
        var migrator = app.Services.GetRequiredService<SchemaMigrator>();
        var deadline = DateTime.UtcNow + MigrationPatience;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                await migrator.MigrateAsync(stopping);
                return true;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && DateTime.UtcNow < deadline && !stopping.IsCancellationRequested)
            {
                Log.DatabaseNotReady(logger, ex.GetType().Name, delay.TotalMilliseconds);
                await Task.Delay(delay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or OperationCanceledException)
            {
                Log.MigrationFailed(logger, ex);
                return false;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Database not ready ({ErrorType}); retrying schema migration in {DelayMs} ms")]
        public static partial void DatabaseNotReady(ILogger logger, string errorType, double delayMs);

        [LoggerMessage(2, LogLevel.Error, "Schema migration failed")]
        public static partial void MigrationFailed(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Debug, "Native image started: type data populated before start (error {PopulateError}; huge pages advised, error {HugePageError}), {ReleasedBytes} bytes of its compressed copy released")]
        public static partial void NativeImageStarted(ILogger logger, int populateError, int hugePageError, long releasedBytes);
    }
}
