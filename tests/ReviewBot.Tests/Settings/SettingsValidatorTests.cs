using ReviewBot.Llm;
using ReviewBot.Settings;

namespace ReviewBot.Tests.Settings;

public sealed class SettingsValidatorTests
{
    private static SettingsRequest Valid() => new()
    {
        Enabled = true,
        LlmProvider = "openai",
        Model = "gpt-4o-mini",
        ApiKey = "sk-valid-key-1234",
        CustomInstructions = "Be brief.\nPrefer tabs:\there.",
        IgnorePaths = ["docs/**", "*.snap", "**/generated/*.cs"],
        ReviewDrafts = false,
    };

    private static IReadOnlyDictionary<string, string[]> Errors(Action<SettingsRequest> change)
    {
        var request = Valid();
        change(request);
        var (update, errors) = SettingsValidator.Validate(request);
        Assert.Null(update);
        return errors;
    }

    [Fact]
    public void Validate_accepts_the_contract_example_and_fills_defaults()
    {
        var (update, errors) = SettingsValidator.Validate(new SettingsRequest { LlmProvider = "gemini", Model = "models/gemini-2.5-flash" });
        Assert.Empty(errors);
        Assert.NotNull(update);
        Assert.Equal(LlmProvider.Gemini, update.Provider);
        Assert.True(update.Enabled);
        Assert.False(update.ReviewDrafts);
        Assert.Empty(update.IgnorePaths);
        Assert.Null(update.ApiKey);
        Assert.Null(update.ReviewsPerHour);

        Assert.NotNull(SettingsValidator.Validate(Valid()).Update);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("OpenAI")]
    [InlineData("mistral")]
    public void Validate_refuses_a_provider_other_than_the_three(string? provider) =>
        Assert.Contains("llmProvider", Errors(r => r.LlmProvider = provider).Keys);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("gpt 4o")]
    [InlineData("-gpt")]
    [InlineData("gpt;drop")]
    [InlineData("gpt\n4o")]
    public void Validate_refuses_a_model_outside_the_character_set(string? model) =>
        Assert.Contains("model", Errors(r => r.Model = model).Keys);

    [Fact]
    public void Validate_refuses_a_model_over_100_characters() =>
        Assert.Contains("model", Errors(r => r.Model = new string('a', 101)).Keys);

    [Theory]
    [InlineData("claude-sonnet-4-5-20250929")]
    [InlineData("meta-llama/Llama-3.1-8B-Instruct")]
    [InlineData("llama3.1:8b")]
    public void Validate_accepts_real_model_names(string model) =>
        Assert.NotNull(SettingsValidator.Validate(new SettingsRequest { LlmProvider = "openai", Model = model }).Update);

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("sk-has a space-123")]
    [InlineData("sk-non-ascii-ключ-123")]
    public void Validate_refuses_an_implausible_api_key(string key) =>
        Assert.Contains("apiKey", Errors(r => r.ApiKey = key).Keys);

    [Fact]
    public void Validate_refuses_an_api_key_over_512_characters_without_echoing_it()
    {
        var key = "sk-" + new string('x', 600);
        var errors = Errors(r => r.ApiKey = key);
        Assert.DoesNotContain(errors.Values.SelectMany(m => m), m => m.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_limits_custom_instructions_to_2000_characters_counting_emoji_as_one()
    {
        Assert.NotNull(SettingsValidator.Validate(WithInstructions(new string('a', 2000))).Update);
        Assert.NotNull(SettingsValidator.Validate(WithInstructions(string.Concat(Enumerable.Repeat("😀", 2000)))).Update);
        Assert.Contains("customInstructions", Errors(r => r.CustomInstructions = new string('a', 2001)).Keys);

        static SettingsRequest WithInstructions(string text) => new() { LlmProvider = "openai", Model = "m", CustomInstructions = text };
    }

    [Theory]
    [InlineData("bell\u0007")]
    [InlineData("nul\0")]
    [InlineData("escape\u001b[31m")]
    [InlineData("c1\u0085")]
    [InlineData("lone\rreturn")]
    public void Validate_refuses_control_characters_other_than_newline_and_tab(string text) =>
        Assert.Contains("customInstructions", Errors(r => r.CustomInstructions = text).Keys);

    [Fact]
    public void Validate_normalises_CRLF_to_LF()
    {
        var request = Valid();
        request.CustomInstructions = "one\r\ntwo";
        Assert.Equal("one\ntwo", SettingsValidator.Validate(request).Update!.CustomInstructions);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/abs/path")]
    [InlineData("a//b")]
    [InlineData("../outside")]
    [InlineData("src\\win")]
    [InlineData("*.{js,ts}")]
    [InlineData("[abc].txt")]
    [InlineData("foo**/bar")]
    [InlineData("tab\there")]
    public void Validate_refuses_invalid_globs_naming_the_entry(string pattern)
    {
        var errors = Errors(r => r.IgnorePaths = ["docs/**", pattern]);
        Assert.Contains("ignorePaths[1]", errors.Keys);
    }

    [Fact]
    public void Validate_refuses_null_entries_overlong_globs_and_more_than_50_patterns()
    {
        Assert.Contains("ignorePaths[0]", Errors(r => r.IgnorePaths = [null]).Keys);
        Assert.Contains("ignorePaths[0]", Errors(r => r.IgnorePaths = [new string('a', 201)]).Keys);
        Assert.Contains("ignorePaths", Errors(r => r.IgnorePaths = Enumerable.Range(0, 51).Select(i => (string?)$"dir{i}/**").ToList()).Keys);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1001)]
    public void Validate_bounds_reviews_per_hour(int value) =>
        Assert.Contains("reviewsPerHour", Errors(r => r.ReviewsPerHour = value).Keys);

    [Fact]
    public void Validate_names_every_bad_field_at_once()
    {
        var errors = Errors(r =>
        {
            r.LlmProvider = "x";
            r.Model = "";
            r.CustomInstructions = "\u0001";
            r.ReviewsPerHour = 0;
        });
        Assert.Equal(["customInstructions", "llmProvider", "model", "reviewsPerHour"], errors.Keys.Order(StringComparer.Ordinal));
    }
}
