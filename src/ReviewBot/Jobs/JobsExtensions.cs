using Microsoft.Extensions.DependencyInjection.Extensions;
using ReviewBot.Configuration;

namespace ReviewBot.Jobs;

internal static class JobsExtensions
{
    // The queue machinery and what a job does (ReviewJobHandler; tests register their own after it).
    public static WebApplicationBuilder AddJobs(this WebApplicationBuilder builder, ReviewBotOptions options)
    {
        var services = builder.Services;
        services.AddSingleton<JobStore>();
        if (!options.WorkersEnabled)
        {
            return builder;
        }

        services.TryAddSingleton<JobQueueTuning>();
        services.AddSingleton<WorkerIdentity>();
        services.AddSingleton<JobSignal>();
        services.AddSingleton<RunningJobs>();
        services.AddSingleton<JobCompleter>();
        services.AddSingleton<JobRunner>();
        services.AddSingleton<IJobHandler, ReviewJobHandler>();

        // Registration order is shutdown order reversed: the dispatcher drains first, while presence
        // (the advisory lock) and lease renewal keep the in-flight jobs ours until it is done.
        services.AddSingleton<JobPresence>();
        services.AddHostedService(sp => sp.GetRequiredService<JobPresence>());
        services.AddSingleton<LeaseKeeper>();
        services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
        services.AddSingleton<JobMaintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<JobMaintenance>());
        services.AddSingleton<JobDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<JobDispatcher>());
        return builder;
    }
}
