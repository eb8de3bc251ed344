using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using ReviewBot.Configuration;
using ReviewBot.Llm;
using ReviewBot.Observability;

namespace ReviewBot.Review;

// `ReviewBot review --diff FILE --dry-run` and `review --diff FILE --provider P --model M`
// (CONTRACT §1, §6): the engine on a local unified diff, with no configuration, database or GitHub.
internal static class ReviewCommand
{
    public const string ApiKeyVariable = "REVIEWBOT_LLM_API_KEY";

    // The output is read by people and scripts, not embedded in HTML: diff text keeps its `<`, `+`
    // and backticks instead of \u003C-style escapes (the JSON is equivalent either way).
    private static readonly JsonSerializerOptions OutputOptions = new(ReviewJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = ReviewJsonContext.Default,
    };

    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, null, CancellationToken.None);

    internal static async Task<int> RunAsync(
        string[] args,
        TextWriter output,
        TextWriter error,
        Func<string, string?> environment,
        HttpMessageHandler? handler,
        CancellationToken cancellationToken)
    {
        if (!TryReadArguments(args, out var arguments, out var problem))
        {
            error.WriteLine(problem);
            error.WriteLine("usage: ReviewBot review --diff FILE (--dry-run | --provider openai|anthropic|gemini --model MODEL) [--ignore GLOB]... [--instructions TEXT]");
            return CommandLine.ExitFailed;
        }

        IReadOnlyList<DiffFile> files;
        try
        {
            files = DiffParser.Parse(await File.ReadAllTextAsync(arguments.DiffPath, cancellationToken));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DiffFormatException)
        {
            error.WriteLine($"{arguments.DiffPath}: {ex.Message}");
            return CommandLine.ExitFailed;
        }

        var settings = new ReviewSettings(arguments.Provider ?? LlmProvider.OpenAi, arguments.Model ?? string.Empty, arguments.Instructions, arguments.Ignore);
        var engine = new ReviewEngine(new ReviewEngineOptions(), NullLogger<ReviewEngine>.Instance);
        if (arguments.DryRun)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(DryRun(engine, files, settings), (JsonTypeInfo<DryRunOutput>)OutputOptions.GetTypeInfo(typeof(DryRunOutput))));
            return CommandLine.ExitOk;
        }

        var apiKey = environment(ApiKeyVariable);
        if (string.IsNullOrWhiteSpace(apiKey))
        {
            error.WriteLine($"{ApiKeyVariable} is required to call the {settings.Provider.ToWireName()} API");
            return CommandLine.ExitFailed;
        }

        if (!TryReadEndpoints(environment, out var endpoints, out problem))
        {
            error.WriteLine(problem);
            return CommandLine.ExitFailed;
        }

        using var httpClients = new StaticLlmHttpClientFactory(endpoints, handler);
        var metrics = new ReviewBotMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        var llm = new LlmClientFactory(httpClients, metrics).Create(settings.Provider, apiKey);
        var input = new ReviewInput("local", 0, Path.GetFileName(arguments.DiffPath), null, "local", [], null, null);
        var result = await engine.ReviewParsedAsync(input, files, null, [], settings, llm, cancellationToken);

        var rendered = new ReviewCommandOutput(
            result.Kind.ToString(),
            "COMMENT",
            result.Body,
            result.Comments.Select(c => new ReviewCommandComment(c.Path, c.Line, c.Side, c.StartLine, c.StartSide, c.Body)).ToList(),
            result.Partial,
            result.InputTokens,
            result.OutputTokens,
            result.FailureMessage);
        await output.WriteLineAsync(JsonSerializer.Serialize(rendered, (JsonTypeInfo<ReviewCommandOutput>)OutputOptions.GetTypeInfo(typeof(ReviewCommandOutput))));
        if (result.Kind == ReviewResultKind.Failed)
        {
            error.WriteLine(result.FailureMessage);
            return CommandLine.ExitFailed;
        }

        return CommandLine.ExitOk;
    }

    internal static DryRunOutput DryRun(ReviewEngine engine, IReadOnlyList<DiffFile> files, ReviewSettings settings)
    {
        var plan = engine.Plan(files, settings);
        var skips = new Dictionary<string, SkipReason>(StringComparer.Ordinal);
        foreach (var skip in plan.Skipped)
        {
            skips.TryAdd(skip.Path, skip.Reason);
        }

        var dryFiles = files.Select(f => new DryRunFile(
            f.Path,
            f.PreviousPath,
            f.IsBinary ? "binary" : f.Status switch
            {
                DiffFileStatus.Added => "added",
                DiffFileStatus.Removed => "removed",
                DiffFileStatus.Renamed => "renamed",
                _ => "modified",
            },
            skips.TryGetValue(f.Path, out var reason) ? reason.ToWireName() : null,
            f.Hunks.SelectMany(h => h.Lines).Select(l => new DryRunLine(l.Side, l.Number, l.Text)).ToList())).ToList();

        var chunks = plan.Chunks.Select(c => new DryRunChunk(c.Paths, c.EstimatedTokens)).ToList();
        return new DryRunOutput(dryFiles, chunks);
    }

    private sealed record Arguments(string DiffPath, bool DryRun, LlmProvider? Provider, string? Model, List<string> Ignore, string Instructions);

    private static bool TryReadArguments(string[] args, out Arguments arguments, out string problem)
    {
        string? diff = null, model = null, instructions = null;
        LlmProvider? provider = null;
        var dryRun = false;
        var ignore = new List<string>();
        arguments = null!;
        for (var i = 1; i < args.Length; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--diff":
                    diff = Value();
                    break;
                case "--dry-run":
                    dryRun = true;
                    break;
                case "--provider":
                    var name = Value();
                    if (!LlmProviderNames.TryParse(name, out var p))
                    {
                        problem = $"--provider must be openai, anthropic or gemini (got '{name}')";
                        return false;
                    }

                    provider = p;
                    break;
                case "--model":
                    model = Value();
                    break;
                case "--ignore":
                    if (Value() is { } glob)
                    {
                        ignore.Add(glob);
                    }

                    break;
                case "--instructions":
                    instructions = Value();
                    break;
                default:
                    problem = $"unknown argument '{args[i]}'";
                    return false;
            }
        }

        if (diff is null)
        {
            problem = "--diff FILE is required";
            return false;
        }

        if (!dryRun && (provider is null || string.IsNullOrWhiteSpace(model)))
        {
            problem = "either --dry-run, or --provider and --model, are required";
            return false;
        }

        problem = string.Empty;
        arguments = new Arguments(diff, dryRun, provider, model, ignore, instructions ?? string.Empty);
        return true;
    }

    // The same variables as the service (CONTRACT §2), with the same defaults.
    private static bool TryReadEndpoints(Func<string, string?> environment, out LlmEndpoints endpoints, out string problem)
    {
        endpoints = null!;
        problem = string.Empty;
        var urls = new Dictionary<string, Uri>();
        foreach (var (name, fallback) in new[]
        {
            ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
            ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
            ("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"),
        })
        {
            var value = environment(name);
            if (!Uri.TryCreate(string.IsNullOrWhiteSpace(value) ? fallback : value, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http"))
            {
                problem = $"{name} must be an http(s) URL";
                return false;
            }

            urls[name] = uri;
        }

        var timeout = 300;
        if (environment("LLM_REQUEST_TIMEOUT_SECONDS") is { Length: > 0 } text &&
            (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out timeout) || timeout < 1))
        {
            problem = "LLM_REQUEST_TIMEOUT_SECONDS must be a positive number of seconds";
            return false;
        }

        endpoints = new LlmEndpoints(urls["OPENAI_BASE_URL"], urls["ANTHROPIC_BASE_URL"], urls["GEMINI_BASE_URL"], TimeSpan.FromSeconds(timeout));
        return true;
    }
}
