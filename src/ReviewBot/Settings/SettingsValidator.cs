using System.Text.RegularExpressions;
using ReviewBot.Llm;

namespace ReviewBot.Settings;

// A PUT body that passed validation, normalised (CRLF → LF, defaults filled in).
internal sealed record SettingsUpdate(
    bool Enabled,
    LlmProvider Provider,
    string Model,
    string? ApiKey,
    string CustomInstructions,
    IReadOnlyList<string> IgnorePaths,
    bool ReviewDrafts,
    int? ReviewsPerHour);

// Input limits of issue 6. Messages name the rule, never echo the value (the value may be a key).
internal static partial class SettingsValidator
{
    public const int MaxCustomInstructions = 2000;
    public const int MaxModelLength = 100;
    public const int MinApiKeyLength = 8;
    public const int MaxApiKeyLength = 512;
    public const int MaxIgnorePaths = 50;
    public const int MaxIgnorePathLength = 200;
    public const int MaxReviewsPerHour = 1000;

    public static (SettingsUpdate? Update, IReadOnlyDictionary<string, string[]> Errors) Validate(SettingsRequest request)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string field, string message)
        {
            if (!errors.TryGetValue(field, out var list))
            {
                errors[field] = list = [];
            }

            list.Add(message);
        }

        var provider = LlmProvider.OpenAi;
        if (request.LlmProvider is null)
        {
            Add("llmProvider", "llmProvider is required: one of openai, anthropic, gemini.");
        }
        else if (!LlmProviderNames.TryParse(request.LlmProvider, out provider))
        {
            Add("llmProvider", "llmProvider must be one of openai, anthropic, gemini.");
        }

        if (string.IsNullOrEmpty(request.Model))
        {
            Add("model", "model is required, e.g. gpt-4o-mini.");
        }
        else if (request.Model.Length > MaxModelLength || !ModelPattern().IsMatch(request.Model))
        {
            Add("model", $"model must be at most {MaxModelLength} characters of letters, digits and . _ - : / @ +, starting with a letter or digit.");
        }

        if (request.ApiKey is not null
            && (request.ApiKey.Length < MinApiKeyLength || request.ApiKey.Length > MaxApiKeyLength || request.ApiKey.Any(c => c is < '!' or > '~')))
        {
            // Provider keys are printable ASCII without spaces; anything else is a paste accident.
            Add("apiKey", $"apiKey must be {MinApiKeyLength} to {MaxApiKeyLength} printable ASCII characters without spaces; omit it to keep the stored key.");
        }

        // Browsers submit textarea line breaks as CRLF (HTML "textarea wrapping transformation"); keep LF only.
        var instructions = (request.CustomInstructions ?? "").Replace("\r\n", "\n", StringComparison.Ordinal);
        if (CountCharacters(instructions) > MaxCustomInstructions)
        {
            Add("customInstructions", $"customInstructions must be at most {MaxCustomInstructions} characters.");
        }

        if (instructions.Any(c => char.IsControl(c) && c is not '\n' and not '\t'))
        {
            Add("customInstructions", "customInstructions may not contain control characters other than newline and tab.");
        }

        var ignorePaths = new List<string>();
        if (request.IgnorePaths is { } paths)
        {
            if (paths.Count > MaxIgnorePaths)
            {
                Add("ignorePaths", $"ignorePaths may list at most {MaxIgnorePaths} patterns.");
            }

            for (var i = 0; i < paths.Count && i < MaxIgnorePaths; i++)
            {
                if (GlobProblem(paths[i]) is { } problem)
                {
                    Add($"ignorePaths[{i}]", problem);
                }
                else if (!ignorePaths.Contains(paths[i]!, StringComparer.Ordinal))
                {
                    ignorePaths.Add(paths[i]!);
                }
            }
        }

        if (request.ReviewsPerHour is { } perHour && (perHour < 1 || perHour > MaxReviewsPerHour))
        {
            Add("reviewsPerHour", $"reviewsPerHour must be between 1 and {MaxReviewsPerHour}, or null for the default ({SettingsStore.DefaultReviewsPerHour}).");
        }

        if (errors.Count > 0)
        {
            return (null, errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
        }

        return (new SettingsUpdate(
            request.Enabled ?? true,
            provider,
            request.Model!,
            request.ApiKey,
            instructions,
            ignorePaths,
            request.ReviewDrafts ?? false,
            request.ReviewsPerHour), new Dictionary<string, string[]>());
    }

    // Patterns are matched by Microsoft.Extensions.FileSystemGlobbing against repository paths such as
    // "src/a.cs": '*' within a segment, '**' across segments, no braces or character classes.
    internal static string? GlobProblem(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "A pattern may not be empty.";
        }

        if (pattern.Length > MaxIgnorePathLength)
        {
            return $"A pattern must be at most {MaxIgnorePathLength} characters.";
        }

        if (pattern.Any(char.IsControl))
        {
            return "A pattern may not contain control characters.";
        }

        if (pattern.Contains('\\', StringComparison.Ordinal))
        {
            return "Use '/' to separate directories, not '\\'.";
        }

        if (pattern.StartsWith('/') || pattern.Contains("//", StringComparison.Ordinal))
        {
            return "A pattern is relative to the repository root: no leading '/' and no empty directory names.";
        }

        if (pattern.Split('/').Any(segment => segment is "." or ".."))
        {
            return "A pattern may not contain '.' or '..' directories.";
        }

        if (pattern.IndexOfAny(['{', '}', '[', ']']) >= 0)
        {
            return "Braces and character classes are not supported; list each pattern separately (e.g. \"*.js\", \"*.ts\").";
        }

        // FileSystemGlobbing gives "**" its any-depth meaning only as a whole segment; refuse the ambiguous form.
        if (pattern.Split('/').Any(segment => segment != "**" && segment.Contains("**", StringComparison.Ordinal)))
        {
            return "Not a valid pattern: '**' must be a whole directory name, as in \"docs/**\" or \"**/*.snap\".";
        }

        return null;
    }

    // "Characters" as a person counts them: an emoji is one, not two UTF-16 code units.
    private static int CountCharacters(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    // Model ids seen in the wild: gpt-4o-mini, claude-sonnet-4-5-20250929, gemini-2.5-flash,
    // models/gemini-1.5-pro, meta-llama/Llama-3.1-8B-Instruct, llama3.1:8b, gpt-4o@2024-08-06.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelPattern();
}
