using ReviewBot.Configuration;
using ReviewBot.Jobs;

namespace ReviewBot.GitHub;

// GitHub does not redeliver a failed webhook on its own ("Handling failed webhook deliveries",
// docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries: list the App's
// deliveries, then "Redeliver a delivery for an app webhook"). On start and every
// DELIVERY_RECOVERY_INTERVAL_SECONDS this loop asks again for every recent delivery that failed
// and whose GUID ReviewBot never recorded, so a delivery lost to a database outage or a restart is
// still reviewed. A delivery that succeeded on any attempt, or that ReviewBot stored, is left alone.
internal sealed partial class DeliveryRecoveryService(
    GitHubAppClient app,
    JobIntake intake,
    ReviewBotOptions options,
    TimeProvider time,
    ILogger<DeliveryRecoveryService> logger) : BackgroundService
{
    // GitHub keeps deliveries for 3 days and redelivers only within that window; a day is plenty
    // for an outage and keeps each pass to a few pages.
    public static readonly TimeSpan LookBack = TimeSpan.FromHours(24);

    // Deliveries are listed newest first, 100 a page, each page one request against the App's rate
    // limit, and a busy App's day is tens of thousands of them. The first pass reads the whole look-back
    // (up to this many pages); each later pass reads back only to the newest delivery the pass before
    // it saw, less an overlap for deliveries listed a little out of order.
    private const int MaxPages = 200;
    private static readonly TimeSpan Overlap = TimeSpan.FromMinutes(10);
    private DateTimeOffset? _readThrough;

    // Redeliveries this process asked for, per GUID: later passes no longer see every earlier attempt.
    private readonly Dictionary<string, (int Count, DateTimeOffset At)> _requested = new(StringComparer.Ordinal);

    // A delivery that keeps failing (say a persistent bug) is asked for this many times, no more.
    private const int MaxAttemptsPerDelivery = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Configuration never allows less than 10 s; 0 is how a test composition (whose GitHub is a
        // mock that knows nothing of deliveries) switches the loop off.
        if (options.DeliveryRecoveryIntervalSeconds <= 0)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(options.DeliveryRecoveryIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RecoverAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or HttpRequestException)
            {
                Log.PassFailed(logger, ex.GetType().Name);
            }

            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // One pass; returns the GUIDs a redelivery was requested for.
    public async Task<IReadOnlyList<string>> RecoverAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var since = now - LookBack;
        if (_readThrough is { } through && through - Overlap > since)
        {
            since = through - Overlap;
        }

        foreach (var stale in _requested.Where(r => r.Value.At < now - LookBack).Select(r => r.Key).ToList())
        {
            _requested.Remove(stale);
        }

        var attempts = new List<HookDelivery>();
        DateTimeOffset? newest = null;
        var reachedSince = false;
        Uri? next = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var result = await app.ListWebhookDeliveriesAsync(next, cancellationToken);
            if (!result.IsOk)
            {
                // The next pass reads from where this one was to start.
                Log.ListFailed(logger, result.ToString());
                return [];
            }

            var items = result.Value!.Items;
            if (items.Count > 0 && items.Max(d => d.DeliveredAt) is var pageNewest && (newest is null || pageNewest > newest))
            {
                newest = pageNewest;
            }

            attempts.AddRange(items.Where(d => d.DeliveredAt >= since));

            // Newest first: once a page reaches past `since` there is nothing older to fetch.
            if (result.Value.Next is null || items.Count == 0 || items.Any(d => d.DeliveredAt < since))
            {
                reachedSince = true;
                break;
            }

            next = result.Value.Next;
        }

        if (!reachedSince)
        {
            Log.ListCapped(logger, MaxPages, since);
        }

        // Even when capped: starting from the top again would hit the same cap on every pass.
        _readThrough = newest ?? _readThrough;

        var failed = attempts
            .Where(d => d.Guid.Length > 0)
            .GroupBy(d => d.Guid, StringComparer.Ordinal)
            .Where(g => !g.Any(d => d.StatusCode is >= 200 and < 300)
                && Math.Max(g.Count(), 1 + (_requested.TryGetValue(g.Key, out var asked) ? asked.Count : 0)) < MaxAttemptsPerDelivery
                && g.Any(Retryable))
            .Select(g => g.OrderByDescending(d => d.DeliveredAt).First())
            .ToList();
        if (failed.Count == 0)
        {
            return [];
        }

        var recorded = await intake.FindRecordedDeliveriesAsync(failed.Select(d => d.Guid).ToArray(), cancellationToken);
        var redelivered = new List<string>();
        foreach (var delivery in failed.Where(d => !recorded.Contains(d.Guid)))
        {
            var result = await app.RedeliverAsync(delivery.Id, cancellationToken);
            if (result.IsOk)
            {
                Log.Redelivered(logger, delivery.Guid, delivery.Event, delivery.StatusCode);
                _requested[delivery.Guid] = ((_requested.TryGetValue(delivery.Guid, out var asked) ? asked.Count : 0) + 1, now);
                redelivered.Add(delivery.Guid);
            }
            else
            {
                Log.RedeliverFailed(logger, delivery.Guid, result.ToString());

                // The App was told to wait: the other redeliveries would only be held back too
                // (CredentialCooldown); the next pass picks them up.
                if (result.Outcome == GitHubOutcome.RateLimited)
                {
                    break;
                }
            }
        }

        return redelivered;
    }

    // Only failures a redelivery can cure: no answer (status_code 0, timeouts) or a server error such
    // as ReviewBot's 503 while the database was down. ReviewBot's own 4xx (bad signature, malformed
    // payload) would fail again the same way.
    private static bool Retryable(HookDelivery delivery) => delivery.StatusCode is 0 or 408 or 429 or >= 500;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Requested redelivery of webhook {DeliveryGuid} ({Event}, last answered {StatusCode})")]
        public static partial void Redelivered(ILogger logger, string deliveryGuid, string @event, int statusCode);

        [LoggerMessage(2, LogLevel.Warning, "Redelivery of webhook {DeliveryGuid} failed: {Result}")]
        public static partial void RedeliverFailed(ILogger logger, string deliveryGuid, string result);

        [LoggerMessage(3, LogLevel.Warning, "Could not list the App's webhook deliveries: {Result}")]
        public static partial void ListFailed(ILogger logger, string result);

        [LoggerMessage(4, LogLevel.Warning, "Delivery recovery pass failed ({ErrorType}); next pass at the usual interval")]
        public static partial void PassFailed(ILogger logger, string errorType);

        [LoggerMessage(5, LogLevel.Warning, "Delivery recovery read {Pages} pages of deliveries without reaching {Since:O}; failures older than the last page were not checked")]
        public static partial void ListCapped(ILogger logger, int pages, DateTimeOffset since);
    }
}
