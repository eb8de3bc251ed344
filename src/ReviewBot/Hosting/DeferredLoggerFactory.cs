using System.Collections.Concurrent;

namespace ReviewBot.Hosting;

// Loggers for what `serve` starts before the host (and so its logging) exists: the data source whose
// first connection it opens meanwhile. Entries at or above LOG_LEVEL are kept, up to MaxPending, and written
// through the host's logging (its filters, its format; stamped when written) once Attach hands it
// over, in order; after that every call goes straight through.
internal sealed class DeferredLoggerFactory(LogLevel minimumLevel) : ILoggerFactory
{
    public const int MaxPending = 256;

    private readonly Lock _gate = new();
    private readonly Queue<(string Category, Action<ILogger> Write)> _pending = new();
    private readonly ConcurrentDictionary<string, DeferredLogger> _loggers = new(StringComparer.Ordinal);
    private ILoggerFactory? _target;
    private int _dropped;

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, name => new DeferredLogger(this, name));

    public void Attach(ILoggerFactory target)
    {
        // Written under the lock, and the target published after: an entry logged meanwhile waits
        // in TryKeep and is written after these, in order.
        lock (_gate)
        {
            foreach (var (category, write) in _pending)
            {
                write(target.CreateLogger(category));
            }

            if (_dropped > 0)
            {
                target.CreateLogger(typeof(DeferredLoggerFactory).FullName!).LogWarning("{Dropped} log entries written before the host's logging existed were dropped", _dropped);
            }

            _pending.Clear();
            Volatile.Write(ref _target, target);
        }
    }

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Attach the host's logger factory instead.");

    public void Dispose()
    {
    }

    private ILoggerFactory? Target => Volatile.Read(ref _target);

    private LogLevel MinimumLevel => minimumLevel;

    // False once attached: the caller writes through the target itself.
    private bool TryKeep(string category, Action<ILogger> write)
    {
        lock (_gate)
        {
            if (_target is not null)
            {
                return false;
            }

            if (_pending.Count < MaxPending)
            {
                _pending.Enqueue((category, write));
            }
            else
            {
                _dropped++;
            }

            return true;
        }
    }

    private sealed class DeferredLogger(DeferredLoggerFactory factory, string category) : ILogger
    {
        private ILogger? _target;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => Resolve()?.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Resolve() is { } target ? target.IsEnabled(logLevel) : logLevel >= factory.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (Resolve() is { } target)
            {
                target.Log(logLevel, eventId, state, exception, formatter);
            }
            else if (logLevel < factory.MinimumLevel || !factory.TryKeep(category, logger => logger.Log(logLevel, eventId, state, exception, formatter)))
            {
                // Below what is kept, or attached in between: written now if at all.
                Resolve()?.Log(logLevel, eventId, state, exception, formatter);
            }
        }

        private ILogger? Resolve() => _target ??= factory.Target?.CreateLogger(category);
    }
}
