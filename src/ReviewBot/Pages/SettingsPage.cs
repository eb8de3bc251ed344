using System.Globalization;
using ReviewBot.Settings;

namespace ReviewBot.Pages;

// The bodies of the installation list and of one installation's page. Every field has a <label>;
// errors sit next to their field (aria-describedby, aria-invalid) and are listed with links at the
// top, the pattern of the GOV.UK error summary, so a keyboard or screen reader user finds them.
internal static class SettingsPage
{
    public static string InstallationList(IReadOnlyList<InstallationSummary> installations)
    {
        var html = new Html().Raw("<h1>Your installations</h1>\n");
        if (installations.Count == 0)
        {
            return html.Raw("<p>Your GitHub account cannot administer any installation of ReviewBot yet. Install the App on an organization or your account on GitHub, then come back.</p>\n").ToString();
        }

        html.Raw("<ul class=\"cards\">\n");
        foreach (var installation in installations)
        {
            var state = installation.Suspended ? "Suspended"
                : !installation.Configured ? "Not configured yet"
                : installation.Enabled ? "Reviewing pull requests" : "Switched off";
            html.Raw("<li><a href=\"/installations/").Text(Id(installation.Id)).Raw("\">").Text(installation.Account.Length > 0 ? installation.Account : $"Installation {Id(installation.Id)}").Raw("</a>")
                .Raw(" <span class=\"muted\">").Text(installation.AccountType).Raw(" · installation ").Text(Id(installation.Id)).Raw("</span>")
                .Raw("<br><span>").Text(state).Raw("</span></li>\n");
        }

        return html.Raw("</ul>\n").ToString();
    }

    // current is null only when the session expired before a save: the typed form is shown again
    // without anything read from the installation.
    public static string Installation(
        long id, string? account, SettingsResponse? current, SettingsForm form, FormErrors errors, bool saved, IReadOnlyList<JobSummary> jobs, Uri gitHubWebUrl, string? antiforgeryToken)
    {
        var html = new Html();
        html.Raw("<h1>").Text(account is { Length: > 0 } ? $"{account}" : $"Installation {Id(id)}").Raw("</h1>\n")
            .Raw("<p class=\"muted\">Installation ").Text(Id(id)).Raw("</p>\n");

        if (saved)
        {
            html.Raw("<p class=\"notice\" role=\"status\">Settings saved.</p>\n");
        }

        if (errors.Session is not null)
        {
            html.Raw("<div class=\"error-summary\" role=\"alert\"><p>").Text(errors.Session).Raw("</p><p><a class=\"button\" href=\"/auth/github/login?returnUrl=")
                .Text(Uri.EscapeDataString($"/installations/{Id(id)}")).Raw("\">Sign in with GitHub</a></p></div>\n");
        }
        else if (errors.Any)
        {
            html.Raw("<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"error-summary\"><h2>Nothing was saved</h2><ul>\n");
            foreach (var (field, message) in errors.All)
            {
                html.Raw("<li><a href=\"#").Text(field).Raw("\">").Text(message).Raw("</a></li>\n");
            }

            html.Raw("</ul></div>\n");
        }

        if (current?.Suspended == true)
        {
            html.Raw("<p class=\"notice\">This installation is suspended on GitHub: ReviewBot reviews nothing until it is unsuspended.</p>\n");
        }

        html.Raw("<form method=\"post\" action=\"/installations/").Text(Id(id)).Raw("\" novalidate>\n");
        if (antiforgeryToken is not null)
        {
            html.Raw(Html.AntiforgeryField(antiforgeryToken)).Raw("\n");
        }


        // Enabled
        html.Raw("<div class=\"field check\"><input type=\"checkbox\" id=\"enabled\" name=\"enabled\"").Raw(form.Enabled ? " checked" : "")
            .Raw("><label for=\"enabled\">Review pull requests in this installation</label></div>\n");

        // Provider
        html.Raw("<div class=\"field\"><label for=\"llmProvider\">Provider</label>");
        Errors(html, errors, "llmProvider");
        html.Raw("<select id=\"llmProvider\" name=\"llmProvider\"").Raw(Invalid(errors, "llmProvider")).Raw(">");
        foreach (var (value, label) in SettingsForm.Providers)
        {
            html.Raw("<option value=\"").Text(value).Raw("\"").Raw(value == form.Provider ? " selected" : "").Raw(">").Text(label).Raw("</option>");
        }

        html.Raw("</select></div>\n");

        // Model
        html.Raw("<div class=\"field\"><label for=\"model\">Model</label><p class=\"hint\" id=\"model-hint\">For example gpt-4o-mini, claude-sonnet-4-5 or gemini-2.5-flash.</p>");
        Errors(html, errors, "model");
        html.Raw("<input type=\"text\" id=\"model\" name=\"model\" autocomplete=\"off\" spellcheck=\"false\" value=\"").Text(form.Model).Raw("\"")
            .Raw(Described(errors, "model", "model-hint")).Raw("></div>\n");

        // API key: write-only. The stored key is never sent to the browser, only its last four characters.
        html.Raw("<div class=\"field\"><label for=\"apiKey\">API key</label><p class=\"hint\" id=\"apiKey-hint\">");
        if (current?.ApiKeyConfigured == true)
        {
            html.Raw("A key ending in <strong>").Text(current.ApiKeyLast4).Raw("</strong> is saved. Leave this empty to keep it.");
        }
        else
        {
            html.Raw("No key saved yet. ReviewBot checks the key with the provider before saving it.");
        }

        html.Raw("</p>");
        if (current?.ApiKeyProblem is { } problem)
        {
            html.Raw("<p class=\"error\">").Text(problem).Raw("</p>");
        }

        Errors(html, errors, "apiKey");
        html.Raw("<input type=\"password\" id=\"apiKey\" name=\"apiKey\" autocomplete=\"new-password\" spellcheck=\"false\" value=\"\"")
            .Raw(Described(errors, "apiKey", "apiKey-hint")).Raw("></div>\n");

        // Custom instructions with a live count (settings.js); the server counts the same way (characters, not UTF-16 units).
        var count = form.CustomInstructions.Replace("\r\n", "\n", StringComparison.Ordinal).EnumerateRunes().Count();
        html.Raw("<div class=\"field\"><label for=\"customInstructions\">Custom instructions</label>")
            .Raw("<p class=\"hint\" id=\"customInstructions-hint\">Added to every review prompt, for example \"Focus on security.\"</p>");
        Errors(html, errors, "customInstructions");
        html.Raw("<textarea id=\"customInstructions\" name=\"customInstructions\" rows=\"6\" data-max=\"").Raw(SettingsValidator.MaxCustomInstructions.ToString(CultureInfo.InvariantCulture)).Raw("\"")
            .Raw(Described(errors, "customInstructions", "customInstructions-hint customInstructions-count")).Raw(">")
            .Text(form.CustomInstructions).Raw("</textarea>")
            .Raw("<p class=\"hint").Raw(count > SettingsValidator.MaxCustomInstructions ? " over" : "").Raw("\" id=\"customInstructions-count\" aria-live=\"polite\">")
            .Text($"{count} of {SettingsValidator.MaxCustomInstructions} characters").Raw("</p></div>\n");

        // Ignored paths
        html.Raw("<div class=\"field\"><label for=\"ignorePaths\">Ignored paths</label>")
            .Raw("<p class=\"hint\" id=\"ignorePaths-hint\">One pattern per line, such as docs/** or *.snap. Matching files are not reviewed.</p>");
        Errors(html, errors, "ignorePaths");
        html.Raw("<textarea id=\"ignorePaths\" name=\"ignorePaths\" rows=\"4\" spellcheck=\"false\"").Raw(Described(errors, "ignorePaths", "ignorePaths-hint")).Raw(">")
            .Text(form.IgnorePaths).Raw("</textarea></div>\n");

        // Drafts
        html.Raw("<div class=\"field check\"><input type=\"checkbox\" id=\"reviewDrafts\" name=\"reviewDrafts\"").Raw(form.ReviewDrafts ? " checked" : "")
            .Raw("><label for=\"reviewDrafts\">Review draft pull requests too</label></div>\n");

        // Reviews per hour (kept so a save from the page never drops a limit set through the API)
        html.Raw("<div class=\"field\"><label for=\"reviewsPerHour\">Reviews per hour</label>")
            .Raw("<p class=\"hint\" id=\"reviewsPerHour-hint\">Leave empty for the default of ").Text(SettingsStore.DefaultReviewsPerHour.ToString(CultureInfo.InvariantCulture)).Raw(".</p>");
        Errors(html, errors, "reviewsPerHour");
        html.Raw("<input type=\"text\" inputmode=\"numeric\" id=\"reviewsPerHour\" name=\"reviewsPerHour\" autocomplete=\"off\" value=\"").Text(form.ReviewsPerHour).Raw("\"")
            .Raw(Described(errors, "reviewsPerHour", "reviewsPerHour-hint")).Raw("></div>\n");

        Errors(html, errors, "form");
        // After the session expired the form is shown only so nothing typed is lost; it cannot be saved until sign-in.
        html.Raw(antiforgeryToken is null ? "<button type=\"submit\" disabled>Save settings</button>\n</form>\n" : "<button type=\"submit\">Save settings</button>\n</form>\n");

        if (current is not null)
        {
            Jobs(html, jobs, gitHubWebUrl);
        }

        return html.ToString();
    }

    private static void Jobs(Html html, IReadOnlyList<JobSummary> jobs, Uri gitHubWebUrl)
    {
        html.Raw("<h2 id=\"reviews\">Recent reviews</h2>\n");
        if (jobs.Count == 0)
        {
            html.Raw("<p>No reviews yet. ReviewBot reviews a pull request when it is opened, reopened, updated or marked ready for review.</p>\n");
            return;
        }

        var web = gitHubWebUrl.ToString().TrimEnd('/');
        html.Raw("<div class=\"table-wrap\" role=\"region\" aria-labelledby=\"reviews\" tabindex=\"0\"><table>\n<thead><tr>")
            .Raw("<th scope=\"col\">Pull request</th><th scope=\"col\">Commit</th><th scope=\"col\">Status</th><th scope=\"col\">Conclusion</th><th scope=\"col\">Attempts</th><th scope=\"col\">Error</th>")
            .Raw("</tr></thead>\n<tbody>\n");
        foreach (var job in jobs)
        {
            var number = job.PullRequest.ToString(CultureInfo.InvariantCulture);
            html.Raw("<tr><td><a href=\"").Text($"{web}/{job.Repository}/pull/{number}").Raw("\">").Text($"{job.Repository}#{number}").Raw("</a>");
            if (job.Title.Length > 0)
            {
                html.Raw("<br><span class=\"muted\">").Text(job.Title).Raw("</span>");
            }

            html.Raw("</td><td><code>").Text(job.CommitSha.Length > 7 ? job.CommitSha[..7] : job.CommitSha).Raw("</code></td>")
                .Raw("<td>").Text(Status(job.Status)).Raw("</td>")
                .Raw("<td>").Text(Conclusion(job.Conclusion)).Raw("</td>")
                .Raw("<td>").Text($"{job.Attempts} of {job.MaxAttempts}").Raw("</td>")
                .Raw("<td>").Text(job.Error ?? "").Raw("</td></tr>\n");
        }

        html.Raw("</tbody>\n</table></div>\n");
    }

    private static string Status(string status) => status switch
    {
        "pending" => "Waiting",
        "processing" => "Reviewing",
        "completed" => "Done",
        "failed" => "Failed",
        "cancelled" => "Cancelled",
        "superseded" => "Replaced by a newer commit",
        _ => status,
    };

    private static string Conclusion(string? conclusion) => conclusion switch
    {
        null => "",
        "success" => "No comments",
        "neutral" => "Comments posted",
        "failure" => "Failed",
        "skipped" => "Skipped",
        "cancelled" => "Cancelled",
        _ => conclusion,
    };

    private static void Errors(Html html, FormErrors errors, string field)
    {
        var messages = errors.For(field);
        if (messages.Count == 0)
        {
            return;
        }

        html.Raw("<p class=\"error\" id=\"").Text(field).Raw("-error\">");
        for (var i = 0; i < messages.Count; i++)
        {
            html.Raw(i == 0 ? "" : "<br>").Raw("<span class=\"visually-hidden\">Error: </span>").Text(messages[i]);
        }

        html.Raw("</p>");
    }

    private static string Invalid(FormErrors errors, string field) =>
        errors.For(field).Count > 0 ? $" aria-invalid=\"true\" aria-describedby=\"{field}-error\"" : "";

    private static string Described(FormErrors errors, string field, string hints) =>
        errors.For(field).Count > 0
            ? $" aria-invalid=\"true\" aria-describedby=\"{field}-error {hints}\""
            : $" aria-describedby=\"{hints}\"";

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
