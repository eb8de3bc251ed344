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

    public static async Task<int> RunAsync(AppFactory buildApp)
    {
        var (options, code) = CommandLine.LoadOrReport(Console.Error);
        if (options is null)
        {
            return code;
        }

        // The schema check mostly waits on PostgreSQL (a new connection, then one read), while what
        // the start needs meanwhile is CPU work: building the host and the web server's dependency
        // graph (the background services are built once it listens: BackgroundStart). So the check
        // starts first, on the data source the container is then given, and its connection serves the
        // first request. Its log entries wait for the host's logging (DeferredLoggerFactory). Nothing
        // is started, served or claimed before the migration has succeeded. (A second connection
        // opened meanwhile for the first request, and binding the port before the check completed,
        // both measured slower on two cores shared with PostgreSQL: bench/RESULTS.md, startup, session 6.)
        var logging = new DeferredLoggerFactory(options.LogLevel);
        using var stopping = new CancellationTokenSource();
        await using var dataSource = HostingExtensions.CreateDataSource(options, logging);
        var migration = Task.Run(() => MigrateWithRetryAsync(
            new SchemaMigrator(dataSource, new Logger<SchemaMigrator>(logging)), logging.CreateLogger(typeof(ServeCommand).FullName!), stopping.Token));

        await using var app = buildApp(options, builder => builder.Services.AddSingleton(dataSource));
        logging.Attach(app.Services.GetRequiredService<ILoggerFactory>());
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        using var stoppingLink = lifetime.ApplicationStopping.Register(stopping.Cancel);
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

    internal static async Task<bool> MigrateWithRetryAsync(SchemaMigrator migrator, ILogger logger, CancellationToken stopping)
    {
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
    }
}
