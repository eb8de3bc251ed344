using Microsoft.Extensions.Logging;
using ReviewBot.Hosting;

namespace ReviewBot.Tests.Hosting;

// What `serve` logs before the host exists (the schema check, Npgsql) reaches the host's logging.
public sealed class DeferredLoggerFactoryTests
{
    [Fact]
    public void Entries_before_attach_are_written_in_order_at_attach_then_straight_through()
    {
        var deferred = new DeferredLoggerFactory(LogLevel.Information);
        var schema = deferred.CreateLogger("ReviewBot.Hosting.SchemaMigrator");
        var npgsql = deferred.CreateLogger("Npgsql.Connection");

        schema.LogInformation("schema at {Version}", 7);
        npgsql.LogWarning("connection refused");
        schema.LogDebug("below LOG_LEVEL");
        var sink = new Sink();
        Assert.Empty(sink.Entries);

        deferred.Attach(sink);
        schema.LogError("after attach");

        Assert.Equal(
            ["ReviewBot.Hosting.SchemaMigrator Information schema at 7", "Npgsql.Connection Warning connection refused", "ReviewBot.Hosting.SchemaMigrator Error after attach"],
            sink.Entries);
    }

    [Fact]
    public void Before_attach_only_levels_at_or_above_the_minimum_are_enabled_and_after_it_the_host_decides()
    {
        var deferred = new DeferredLoggerFactory(LogLevel.Warning);
        var logger = deferred.CreateLogger("c");

        Assert.False(logger.IsEnabled(LogLevel.Information));
        Assert.True(logger.IsEnabled(LogLevel.Warning));

        deferred.Attach(new Sink { Minimum = LogLevel.Debug });
        Assert.True(logger.IsEnabled(LogLevel.Information));
    }

    [Fact]
    public void At_most_MaxPending_entries_are_kept_and_the_rest_are_counted()
    {
        var deferred = new DeferredLoggerFactory(LogLevel.Information);
        var logger = deferred.CreateLogger("c");
        for (var i = 0; i < DeferredLoggerFactory.MaxPending + 10; i++)
        {
            logger.LogWarning("entry {Index}", i);
        }

        var sink = new Sink();
        deferred.Attach(sink);

        Assert.Equal(DeferredLoggerFactory.MaxPending + 1, sink.Entries.Count);
        Assert.EndsWith("10 log entries written before the host's logging existed were dropped", sink.Entries[^1], StringComparison.Ordinal);
    }

    private sealed class Sink : ILoggerFactory, ILoggerProvider
    {
        public List<string> Entries { get; } = [];

        public LogLevel Minimum { get; init; } = LogLevel.Information;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Logger(Sink sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= sink.Minimum;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    sink.Entries.Add($"{category} {logLevel} {formatter(state, exception)}");
                }
            }
        }
    }
}
