using System.Globalization;
using ReviewBot.Settings;

namespace ReviewBot.Pages;

// What the settings form holds, as typed. It never holds the stored key: the key field is write-only
// and is rendered empty every time, including after an error.
internal sealed record SettingsForm(
    bool Enabled,
    string Provider,
    string Model,
    string? ApiKey,
    string CustomInstructions,
    string IgnorePaths,
    bool ReviewDrafts,
    string ReviewsPerHour)
{
    public static readonly IReadOnlyList<(string Value, string Label)> Providers =
        [("openai", "OpenAI"), ("anthropic", "Anthropic"), ("gemini", "Google Gemini")];

    public static string ProviderLabel(string provider) =>
        Providers.FirstOrDefault(p => p.Value == provider).Label ?? provider;

    public static SettingsForm From(SettingsResponse current) => new(
        current.Enabled,
        current.LlmProvider,
        current.Model,
        null,
        current.CustomInstructions,
        string.Join('\n', current.IgnorePaths),
        current.ReviewDrafts,
        current.ReviewsPerHour?.ToString(CultureInfo.InvariantCulture) ?? "");

    // Checkboxes are absent from a submitted form when unticked (HTML "constructing the entry list").
    public static SettingsForm From(IFormCollection form) => new(
        form["enabled"] == "on",
        form["llmProvider"].ToString(),
        form["model"].ToString().Trim(),
        form["apiKey"].ToString() is { Length: > 0 } key ? key.Trim() : null,
        form["customInstructions"].ToString(),
        form["ignorePaths"].ToString(),
        form["reviewDrafts"] == "on",
        form["reviewsPerHour"].ToString().Trim());

    public IReadOnlyList<string> IgnorePathLines =>
        IgnorePaths.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

    // The API's request, so SettingsService applies the API's rules. Only what HTML cannot express as
    // the API's JSON (a number typed as text) is checked here.
    public SettingsRequest ToRequest(FormErrors errors)
    {
        int? perHour = null;
        if (ReviewsPerHour.Length > 0)
        {
            if (int.TryParse(ReviewsPerHour, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                perHour = value;
            }
            else
            {
                errors.Add("reviewsPerHour", "Reviews per hour must be a whole number, or empty for the default.");
            }
        }

        return new SettingsRequest
        {
            Enabled = Enabled,
            LlmProvider = Provider,
            Model = Model,
            ApiKey = ApiKey,
            CustomInstructions = CustomInstructions,
            IgnorePaths = IgnorePathLines.Select(p => (string?)p).ToList(),
            ReviewDrafts = ReviewDrafts,
            ReviewsPerHour = perHour,
        };
    }
}

// Messages per form field, shown next to the field and in a summary at the top.
internal sealed class FormErrors
{
    // The API's field names, as the page labels them.
    private static readonly Dictionary<string, string> Labels = new(StringComparer.Ordinal)
    {
        ["llmProvider"] = "Provider",
        ["model"] = "Model",
        ["apiKey"] = "API key",
        ["customInstructions"] = "Custom instructions",
        ["ignorePaths"] = "Ignored paths",
        ["reviewsPerHour"] = "Reviews per hour",
    };

    private readonly Dictionary<string, List<string>> _byField = new(StringComparer.Ordinal);

    public string? Session { get; init; }

    public string? ApiKey
    {
        get => For("apiKey").FirstOrDefault();
        set
        {
            if (value is not null)
            {
                Add("apiKey", value);
            }
        }
    }

    public bool Any => Session is not null || _byField.Count > 0;

    public IEnumerable<(string Field, string Message)> All =>
        _byField.SelectMany(kv => kv.Value.Select(m => (kv.Key, m)));

    public IReadOnlyList<string> For(string field) => _byField.TryGetValue(field, out var list) ? list : [];

    public void Add(string field, string message)
    {
        if (!_byField.TryGetValue(field, out var list))
        {
            _byField[field] = list = [];
        }

        list.Add(message);
    }

    // SettingsValidator's messages name fields by their JSON names ("customInstructions must be...");
    // the page says them as labelled. ignorePaths[3] is line 4 of the ignored paths box.
    public void AddValidation(IReadOnlyDictionary<string, string[]> errors)
    {
        foreach (var (key, messages) in errors)
        {
            var field = key;
            var prefix = "";
            if (key.StartsWith("ignorePaths[", StringComparison.Ordinal)
                && int.TryParse(key.AsSpan(12, key.Length - 13), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                field = "ignorePaths";
                prefix = $"Pattern {index + 1}: ";
            }

            foreach (var message in messages)
            {
                Add(Labels.ContainsKey(field) ? field : "form", prefix + Humanize(message));
            }
        }
    }

    private static string Humanize(string message)
    {
        foreach (var (name, label) in Labels)
        {
            if (message.StartsWith(name, StringComparison.Ordinal))
            {
                return label + message[name.Length..];
            }
        }

        return message;
    }
}
