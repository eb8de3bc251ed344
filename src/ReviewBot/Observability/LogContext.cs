using Microsoft.Extensions.Diagnostics.Enrichment;

namespace ReviewBot.Observability;

// The ids CONTRACT §7 puts on every line written on behalf of a delivery or a job. Code that starts
// such work calls LogContext.Begin once; every log line below it, in any class, is enriched by
// LogContextEnricher (Microsoft.Extensions.Telemetry), with no id passed by hand.
internal sealed record LogContextValues(
    long? InstallationId = null,
    string? Repo = null,
    int? Pr = null,
    long? JobId = null,
    string? DeliveryId = null);

internal static class LogContext
{
    private static readonly AsyncLocal<LogContextValues?> CurrentValues = new();

    public static LogContextValues? Current => CurrentValues.Value;

    public static IDisposable Begin(LogContextValues values)
    {
        var previous = CurrentValues.Value;
        CurrentValues.Value = previous is null
            ? values
            : new LogContextValues(
                values.InstallationId ?? previous.InstallationId,
                values.Repo ?? previous.Repo,
                values.Pr ?? previous.Pr,
                values.JobId ?? previous.JobId,
                values.DeliveryId ?? previous.DeliveryId);
        return new Restore(previous);
    }

    private sealed class Restore(LogContextValues? previous) : IDisposable
    {
        public void Dispose() => CurrentValues.Value = previous;
    }
}

internal sealed class LogContextEnricher : ILogEnricher
{
    public void Enrich(IEnrichmentTagCollector collector)
    {
        if (LogContext.Current is not { } c)
        {
            return;
        }

        if (c.InstallationId is { } installationId)
        {
            collector.Add("installationId", installationId);
        }

        if (c.Repo is { } repo)
        {
            collector.Add("repo", repo);
        }

        if (c.Pr is { } pr)
        {
            collector.Add("pr", pr);
        }

        if (c.JobId is { } jobId)
        {
            collector.Add("jobId", jobId);
        }

        if (c.DeliveryId is { } deliveryId)
        {
            collector.Add("deliveryId", deliveryId);
        }
    }
}
