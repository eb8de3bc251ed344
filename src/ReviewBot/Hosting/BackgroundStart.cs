using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ReviewBot.Hosting;

// The background services (job workers, delivery recovery) are built and started once the web server
// is listening, not before it: their dependency graphs (GitHub and LLM clients, resilience pipelines,
// the review engine) and their first database passes were two thirds of the time from exec to the
// first answer on /health, during which a load balancer or orchestrator sees a replica that is not
// there yet (bench/RESULTS.md, startup). Nothing changes after that: they start in registration
// order, stop in reverse order when the host stops (after the server stopped accepting requests, as
// before), and one that fails stops the host, as the host does for its own BackgroundServices.
internal static class BackgroundStartExtensions
{
    public static IServiceCollection AddBackgroundService<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>(this IServiceCollection services)
        where T : class, IHostedService
    {
        services.AddSingleton<T>();
        services.AddSingleton(new BackgroundServiceRegistration(typeof(T).Name, sp => sp.GetRequiredService<T>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BackgroundStart>());
        return services;
    }
}

internal sealed record BackgroundServiceRegistration(string Name, Func<IServiceProvider, IHostedService> Resolve);

internal sealed partial class BackgroundStart(
    IServiceProvider services,
    IEnumerable<BackgroundServiceRegistration> registrations,
    IHostApplicationLifetime lifetime,
    ILogger<BackgroundStart> logger) : IHostedService
{
    private readonly Lock _gate = new();
    private readonly List<IHostedService> _started = [];
    private Task _starting = Task.CompletedTask;
    private bool _stopped;
    private volatile bool _failed;

    // A service failed to start or its loop died: the process stops, and `serve` exits non-zero
    // (CONTRACT §1 keeps 0 for a clean shutdown), so that a restart policy such as on-failure applies.
    public bool Failed => _failed;

    // Completes once every background service has been resolved and started (or one failed).
    internal Task Starting
    {
        get
        {
            lock (_gate)
            {
                return _starting;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            lock (_gate)
            {
                if (!_stopped)
                {
                    _starting = Task.Run(StartAllAsync, CancellationToken.None);
                }
            }
        });
        return Task.CompletedTask;
    }

    private async Task StartAllAsync()
    {
        foreach (var registration in registrations)
        {
            IHostedService service;
            try
            {
                lock (_gate)
                {
                    if (_stopped)
                    {
                        return;
                    }
                }

                service = registration.Resolve(services);
                await service.StartAsync(lifetime.ApplicationStopping);
                lock (_gate)
                {
                    _started.Add(service);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.StartFailed(logger, registration.Name, ex);
                _failed = true;
                lifetime.StopApplication();
                return;
            }

            if (service is BackgroundService { ExecuteTask: { } execution })
            {
                _ = WatchAsync(registration.Name, execution);
            }
        }
    }

    // As the host does for BackgroundService (BackgroundServiceExceptionBehavior.StopHost): a loop
    // that dies stops the process, so the orchestrator restarts it instead of it idling half-alive.
    private async Task WatchAsync(string name, Task execution)
    {
        try
        {
            await execution;
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.Faulted(logger, name, ex);
            _failed = true;
            lifetime.StopApplication();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task starting;
        lock (_gate)
        {
            _stopped = true;
            starting = _starting;
        }

        await starting.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        List<IHostedService> started;
        lock (_gate)
        {
            started = [.. _started];
        }

        for (var i = started.Count - 1; i >= 0; i--)
        {
            await started[i].StopAsync(cancellationToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Critical, "Background service {Service} failed to start; stopping")]
        public static partial void StartFailed(ILogger logger, string service, Exception exception);

        [LoggerMessage(2, LogLevel.Critical, "Background service {Service} stopped with an error; stopping")]
        public static partial void Faulted(ILogger logger, string service, Exception exception);
    }
}
