namespace ReviewBot.Hosting;

// An ILoggerFactory for something built before the host's logging exists (the data source `serve`
// opens its first connections with, ServeCommand): its loggers forward to the host's loggers once
// Attach is called, and drop what is logged before (Npgsql logs at Warning and up here; a connection
// failure before then also fails the schema check, which logs it).
internal sealed class DeferredLoggerFactory : ILoggerFactory
{
    private volatile ILoggerFactory? _target;

    public void Attach(ILoggerFactory target) => _target = target;

    public ILogger CreateLogger(string categoryName) => new DeferredLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("Providers belong to the host's logging; this factory only forwards to it.");

    public void Dispose()
    {
        // The host owns and disposes the factory this one forwards to.
    }

    private sealed class DeferredLogger(DeferredLoggerFactory owner, string categoryName) : ILogger
    {
        private ILogger? _logger;

        private ILogger? Target => _logger ??= owner._target?.CreateLogger(categoryName);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => Target?.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Target?.IsEnabled(logLevel) ?? false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Target?.Log(logLevel, eventId, state, exception, formatter);
    }
}
