using ReviewBot.Pages;
using ReviewBot.Settings;

namespace ReviewBot.Tests.Pages;

public sealed class SettingsPageTests
{
    private const string Hostile = "<script>alert(1)</script>\"'&";

    private static SettingsResponse Stored(string last4 = "wxyz") => new(
        7, true, true, "openai", "gpt-4o-mini", true, last4, null, Hostile, [Hostile], false, null, 60, false, DateTimeOffset.UnixEpoch);

    [Fact]
    public void Values_from_users_GitHub_and_the_database_are_encoded_never_markup()
    {
        var job = new JobSummary(1, "org/app", 3, Hostile, "abc", "failed", "failure", 3, 3, Hostile, DateTimeOffset.UnixEpoch, null, null, 0, 0, 0, 0);
        var html = SettingsPage.Installation(7, Hostile, Stored(), SettingsForm.From(Stored()), new FormErrors(), false, [job], new Uri("https://github.com"), "token");
        var list = SettingsPage.InstallationList([new InstallationSummary(7, Hostile, Hostile, false, true, true)]);

        foreach (var text in new[] { html, list })
        {
            Assert.DoesNotContain("<script>", text, StringComparison.Ordinal);
            Assert.Contains("&lt;script&gt;", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_key_field_is_empty_and_only_the_last_four_characters_are_shown()
    {
        var form = SettingsForm.From(Stored()) with { ApiKey = "sk-typed-secret-value" };
        var errors = new FormErrors { ApiKey = "The OpenAI API rejected this key." };

        var html = SettingsPage.Installation(7, "org", Stored(), form, errors, false, [], new Uri("https://github.com"), "token");

        Assert.DoesNotContain("sk-typed-secret-value", html, StringComparison.Ordinal);
        Assert.Contains("id=\"apiKey\" name=\"apiKey\" autocomplete=\"new-password\" spellcheck=\"false\" value=\"\"", html, StringComparison.Ordinal);
        Assert.Contains("<strong>wxyz</strong>", html, StringComparison.Ordinal);
        Assert.Contains("aria-describedby=\"apiKey-error apiKey-hint\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_field_has_a_label()
    {
        var html = SettingsPage.Installation(7, "org", Stored(), SettingsForm.From(Stored()), new FormErrors(), false, [], new Uri("https://github.com"), "token");
        foreach (var field in new[] { "enabled", "llmProvider", "model", "apiKey", "customInstructions", "ignorePaths", "reviewDrafts", "reviewsPerHour" })
        {
            Assert.Contains($"<label for=\"{field}\">", html, StringComparison.Ordinal);
            Assert.Contains($"id=\"{field}\"", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validator_messages_name_the_fields_as_labelled_and_ignore_path_errors_name_the_line()
    {
        var errors = new FormErrors();
        errors.AddValidation(new Dictionary<string, string[]>
        {
            ["customInstructions"] = ["customInstructions must be at most 2000 characters."],
            ["ignorePaths[1]"] = ["A pattern may not be empty."],
        });

        Assert.Equal(["Custom instructions must be at most 2000 characters."], errors.For("customInstructions"));
        Assert.Equal(["Pattern 2: A pattern may not be empty."], errors.For("ignorePaths"));
    }

    [Theory]
    [InlineData("/installations/5", "/installations/5")]
    [InlineData("//evil.example/x", "/installations")]
    [InlineData("/\\evil.example", "/installations")]
    [InlineData("https://evil.example/", "/installations")]
    [InlineData(null, "/installations")]
    public void Return_urls_stay_on_this_site(string? returnUrl, string expected) =>
        Assert.Equal(expected, PageSession.SafeReturnUrl(returnUrl));
}
