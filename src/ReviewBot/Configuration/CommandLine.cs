namespace ReviewBot.Configuration;

// The verbs of CONTRACT §1. Each returns the process exit code.
internal static class CommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitInvalidConfiguration = 2;

    public static bool IsServe(string[] args) => args.Length == 0 || args[0] == "serve";

    public static (ReviewBotOptions? Options, int ExitCode) LoadOrReport(TextWriter error)
    {
        var (options, errors) = ConfigurationLoader.Load(ConfigurationLoader.FromProcessEnvironment());
        if (options is not null)
        {
            return (options, ExitOk);
        }

        foreach (var line in errors)
        {
            error.WriteLine(line);
        }

        return (null, ExitInvalidConfiguration);
    }

    public static int CheckConfig(TextWriter output, TextWriter error)
    {
        var (options, code) = LoadOrReport(error);
        if (options is null)
        {
            return code;
        }

        output.WriteLine("configuration is valid");
        foreach (var line in options.ToDisplayLines())
        {
            output.WriteLine(line);
        }

        return ExitOk;
    }

    public static async Task<int> HealthcheckAsync(string[] args, TextWriter output)
    {
        var url = "http://127.0.0.1:" + (Environment.GetEnvironmentVariable("PORT") is { Length: > 0 } port ? port : "3000") + "/health";
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--url" && i + 1 < args.Length)
            {
                url = args[++i];
            }
        }

        // Docker runs HEALTHCHECK with its own timeout; stay well under the usual 5 s.
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(4) };
        try
        {
            using var response = await client.GetAsync(url);
            output.WriteLine($"{url}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? ExitOk : ExitFailed;
        }
        // NotSupportedException/ArgumentException: a URL that is not http(s), e.g. "localhost:3000/health".
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            output.WriteLine($"{url}: unreachable ({ex.GetType().Name})");
            return ExitFailed;
        }
    }

    public static void PrintUsage(TextWriter output)
    {
        output.WriteLine(
            """
            usage: ReviewBot [command]

              serve                      validate configuration, apply the schema, serve HTTP and run review workers (default)
              migrate                    apply schema.sql and exit
              check-config               validate configuration and print it with secrets masked
              healthcheck [--url URL]    GET /health; exit 0 when it answers 200
              rotate-keys                re-encrypt stored API keys with the current ENCRYPTION_KEY
              review --diff FILE --dry-run
              review --diff FILE --provider P --model M
            """);
    }
}
