using ReviewBot.Configuration;
using ReviewBot.GitHub;
using ReviewBot.Hosting;
using ReviewBot.Jobs;
using ReviewBot.Llm;
using ReviewBot.Observability;
using ReviewBot.Pages;
using ReviewBot.Review;
using ReviewBot.Settings;

return args.FirstOrDefault() switch
{
    null or "serve" => await ServeCommand.RunAsync(BuildApp),
    "migrate" => await ServeCommand.MigrateAsync(BuildApp),
    "check-config" => CommandLine.CheckConfig(Console.Out, Console.Error),
    "healthcheck" => await CommandLine.HealthcheckAsync(args, Console.Out),
    "review" => await ReviewCommand.RunAsync(args),
    "rotate-keys" => await RotateKeysCommand.RunAsync(Console.Out, Console.Error),
    "help" or "--help" or "-h" => Usage(CommandLine.ExitOk),
    _ => Usage(CommandLine.ExitInvalidConfiguration),
};

static int Usage(int exitCode)
{
    CommandLine.PrintUsage(exitCode == 0 ? Console.Out : Console.Error);
    return exitCode;
}

public partial class Program
{
    // The whole composition of the service; tests build the same app with their own options.
    internal static WebApplication BuildApp(ReviewBotOptions options, Action<WebApplicationBuilder>? configure)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // Configuration is the environment (CONTRACT §2): no appsettings.json to watch. With the
            // default reload-on-change the host put a recursive watcher on the working directory,
            // which cost 230 ms at start in a big directory (bench/RESULTS.md, startup).
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.AddHosting(options);
        builder.AddObservability(options);
        builder.AddGitHub();
        builder.AddLlm(options);
        builder.AddReviewEngine();
        builder.AddSettings();
        builder.AddSettingsPages(options);
        builder.AddJobs(options);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseObservability();
        app.MapHealth();
        app.MapGitHubWebhooks();
        app.MapSettingsApi();
        app.MapSettingsPagesIfEnabled(options);
        return app;
    }
}
