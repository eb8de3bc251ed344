using Microsoft.Extensions.DependencyInjection.Extensions;
using ReviewBot.Configuration;
using ReviewBot.Hosting;

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

        // Started once the server listens (Hosting/BackgroundStart), in this order; stopped in reverse:
        // the dispatcher drains first, while presence (the advisory lock) and lease renewal keep the
        // in-flight jobs ours until it is done.
        services.AddBackgroundService<JobPresence>();
        services.AddBackgroundService<LeaseKeeper>();
        services.AddBackgroundService<JobMaintenance>();
        services.AddBackgroundService<JobDispatcher>();
        services.AddBackgroundService<CheckRunAnnouncer>();
        return builder;
    }
}
