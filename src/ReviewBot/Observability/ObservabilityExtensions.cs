using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.Logging.Console;
using Prometheus;
using ReviewBot.Configuration;

namespace ReviewBot.Observability;

internal static class ObservabilityExtensions
{
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder, ReviewBotOptions options)
    {
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.LogLevel);

        // The slim builder logs every request at Information; under load that is gigabytes of logs.
        // Request outcomes are in the HTTP metrics instead.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", options.LogLevel <= LogLevel.Information ? LogLevel.Information : options.LogLevel);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddFilter("Npgsql", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        builder.Logging.AddConsole(o => o.FormatterName = JsonLogFormatter.FormatterName);
        // Ours only: AddConsole registers the simple, systemd and JSON formatters, and the console
        // provider builds every registered one (each with its options monitor and factory) at start.
        // Ours is registered directly: AddConsoleFormatter<T, TOptions> binds options by reflection
        // (not AOT-safe).
        for (var i = builder.Services.Count - 1; i >= 0; i--)
        {
            if (builder.Services[i].ServiceType == typeof(ConsoleFormatter))
            {
                builder.Services.RemoveAt(i);
            }
        }

        builder.Services.AddSingleton<ConsoleFormatter, JsonLogFormatter>();

        builder.Logging.EnableEnrichment();
        builder.Services.AddLogEnricher<LogContextEnricher>();
        builder.Logging.EnableRedaction();
        builder.Services.AddRedaction(r =>
        {
            r.SetRedactor<ErasingRedactor>(new DataClassificationSet(DataClassifications.Secret));
            r.SetFallbackRedactor<ErasingRedactor>();
        });

        builder.Services.AddSingleton<ReviewBotMetrics>();
        return builder;
    }

    public static WebApplication UseObservability(this WebApplication app)
    {
        // Exposes .NET runtime, Npgsql (System.Diagnostics.Metrics meters) and HTTP server metrics beside ours.
        app.UseHttpMetrics(o => o.ReduceStatusCodeCardinality());
        app.MapMetrics("/metrics");
        _ = app.Services.GetRequiredService<ReviewBotMetrics>();
        return app;
    }
}
