using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using ReviewBot.Jobs;
using ReviewBot.Observability;

namespace ReviewBot.Hosting;

internal sealed record HealthResponse(string Status, bool Database, long QueuePending, long Uptime);

internal static partial class HealthEndpoints
{
    // Short enough that a load balancer's probe (usually 5 s) gets an answer even when the database hangs.
    private static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(2);

    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapGet("/health/live", () => TypedResults.Ok());
        app.MapGet("/health", GetHealthAsync);
        return app;
    }

    private static async Task<JsonHttpResult<HealthResponse>> GetHealthAsync(
        JobStore jobs, ReviewBotMetrics metrics, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var uptime = (long)(DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DatabaseTimeout);
        try
        {
            var (pending, processing) = await jobs.CountByStatusAsync(timeout.Token);
            metrics.QueueDepth.WithLabels("pending").Set(pending);
            metrics.QueueDepth.WithLabels("processing").Set(processing);
            return TypedResults.Json(new HealthResponse("ok", true, pending, uptime), ApiJsonContext.Default.HealthResponse);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            Log.DatabaseUnreachable(loggerFactory.CreateLogger(typeof(HealthEndpoints).FullName!), ex.GetType().Name);
            return TypedResults.Json(new HealthResponse("degraded", false, 0, uptime), ApiJsonContext.Default.HealthResponse, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Health check: database unreachable ({ErrorType})")]
        public static partial void DatabaseUnreachable(ILogger logger, string errorType);
    }
}
